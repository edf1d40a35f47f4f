// The live viewer: subscribes to the default world over /api/ws, draws it, and lets a human play.
import { characterSprites } from '../game/data/characters.ts'
import { browser, type Canvas, type Element } from './dom.ts'
import { Connection } from './connection.ts'
import { Replay, StateEaser, type Pose } from './replay.ts'
import { usageLines, type UsageValue } from './usage.ts'
import { requestedWorld, worldHref, worldOptions, type ListedWorld } from './worlds.ts'
import { TILE_PX, drawScene, paintMap, type DrawnConversation, type DrawnPlayer, type Speech, type ViewerMap } from './render.ts'

// world:worldState in AI Town's shapes (src/api/aiTownView.ts).
interface WorldPlayer { id: string, human?: string, position: { x: number, y: number }, facing: { dx: number, dy: number }, activity?: { emoji?: string, until: number } }
interface WorldConversation { id: string, isTyping?: { playerId: string }, participants: Array<{ playerId: string, status: { kind: string } }> }
interface WorldStateValue {
  world: { _id: string, players: WorldPlayer[], conversations: WorldConversation[], historicalLocations?: Array<{ playerId: string, location: Uint8Array }> }
  engine: { _id: string, currentTime: number, lastStepTs: number }
}
interface Message { _id: string, conversationId: string, author: string, authorName: string, text: string }

const HEARTBEAT_MS = 60_000
const LOGGED_CONVERSATIONS = 12
const TOKEN_KEY = 'townhall:token'

const { document, sessionStorage, requestAnimationFrame } = browser
const $ = <T extends Element = Element>(id: string): T => document.getElementById(id) as T
const canvas = $<Canvas>('map')
const ctx = canvas.getContext('2d')!
const spriteColors = new Map(characterSprites.map((s) => [s.key as string, s.color]))

const state = {
  worldId: null as string | null,
  engineId: null as string | null,
  worldStatus: '',
  mapCanvas: null as Canvas | null,
  names: new Map<string, { name: string, character: string }>(),
  world: null as WorldStateValue['world'] | null,
  me: null as string | null,
  /** Who this tab is: the token identifier world:userStatus returns, equal to its player's `human`. */
  identity: null as string | null,
  token: sessionStorage.getItem(TOKEN_KEY),
  /** Messages per conversation, in the order conversations were first seen (oldest first). */
  messages: new Map<string, Message[]>(),
  messageSubs: new Map<string, () => void>(),
  worldSubs: [] as Array<() => void>,
  selected: null as string | null,
  /** The join input being processed, if any. */
  joining: null as string | null,
  draftUuid: null as string | null,
  frames: 0,
  drawn: [] as DrawnPlayer[],
  usage: null as UsageValue | null
}
const replay = new Replay()
const easer = new StateEaser()

const connection = new Connection(browser.location.href, (status) => {
  renderStatus()
  if (status === 'connected') {
    heartbeat()
    ensureIdentity()
  }
})

// ---- data --------------------------------------------------------------------------------

// ?world=<id> shows that world; without it, the default world.
const chosenWorld = requestedWorld(browser.location.href)
if (chosenWorld === null) {
  connection.subscribe('world:defaultWorldStatus', {}, (status: { worldId: string, engineId: string, status: string, budgetExceeded?: boolean, llmPaused?: boolean } | null) => {
    state.worldStatus = status?.status ?? 'no default world'
    renderLlmBadge(status)
    if (status !== null) state.engineId = status.engineId
    if (status !== null && status.worldId !== state.worldId) watchWorld(status.worldId)
    renderStatus()
  })
} else {
  watchWorld(chosenWorld)
}

connection.subscribe('world:listWorlds', {}, (worlds: ListedWorld[]) => {
  const select = $('world-select')
  const options = worldOptions(worlds)
  select.replaceChildren(...options.map((o) => new browser.Option(o.text, o.value) as Element))
  if (state.worldId !== null) select.value = state.worldId
  const shown = worlds.find((w) => w.worldId === state.worldId)
  if (chosenWorld !== null) state.worldStatus = shown?.status ?? 'not found'
  renderStatus()
})
$('world-select').addEventListener('change', () => {
  const worldId = $('world-select').value
  if (worldId !== '' && worldId !== state.worldId) browser.location.href = worldHref(browser.location.href, worldId)
})

function watchWorld (worldId: string): void {
  for (const unsubscribe of state.worldSubs) unsubscribe()
  for (const unsubscribe of state.messageSubs.values()) unsubscribe()
  state.messageSubs.clear()
  state.worldId = worldId
  replay.reset()
  heartbeat()
  state.worldSubs = [
    connection.subscribe('world:gameDescriptions', { worldId }, onDescriptions),
    connection.subscribe('world:worldState', { worldId }, onWorldState),
    connection.subscribe('world:userStatus', { worldId }, (identity: string | null) => {
      state.identity = identity
      findMe()
    }),
    connection.subscribe('world:usage', { worldId }, (usage: UsageValue) => {
      state.usage = usage
      renderUsage()
    })
  ]
}

function onDescriptions (value: { worldMap: ViewerMap, playerDescriptions: Array<{ playerId: string, name: string, character: string }> }): void {
  const map = value.worldMap
  canvas.width = map.width * TILE_PX
  canvas.height = map.height * TILE_PX
  state.mapCanvas = paintMap(map)
  for (const d of value.playerDescriptions) state.names.set(d.playerId, { name: d.name, character: d.character })
  renderPanel()
  renderUsage()
}

/** Our player is the one whose `human` is our identity (none before we join, or after we leave). */
function findMe (): void {
  const me = state.identity === null ? null : state.world?.players.find((p) => p.human === state.identity)?.id ?? null
  if (me !== state.me) {
    state.me = me
    renderPanel()
  }
}

function onWorldState (value: WorldStateValue): void {
  state.world = value.world
  state.engineId = value.engine._id
  try {
    replay.addStep(value.engine.lastStepTs, value.engine.currentTime, value.world.historicalLocations ?? [])
  } catch (err) {
    console.warn('townhall viewer: bad location history', err)
  }
  easer.update(value.world.players, performance.now())
  findMe()
  // Follow the messages of every live conversation; ended ones stay in the log.
  const live = new Set(value.world.conversations.map((c) => c.id))
  for (const c of value.world.conversations) {
    if (state.messageSubs.has(c.id)) continue
    state.messageSubs.set(c.id, connection.subscribe('messages:listMessages', { worldId: value.world._id, conversationId: c.id }, (messages: Message[]) => {
      state.messages.delete(c.id)
      state.messages.set(c.id, messages)
      trimLog()
      renderLog()
    }))
  }
  for (const [id, unsubscribe] of state.messageSubs) {
    if (!live.has(id)) { unsubscribe(); state.messageSubs.delete(id) }
  }
  renderPanel()
  renderStatus()
}

function trimLog (): void {
  for (const id of state.messages.keys()) {
    if (state.messages.size <= LOGGED_CONVERSATIONS) break
    if (!state.messageSubs.has(id)) state.messages.delete(id)
  }
}

function heartbeat (): void {
  if (state.worldId === null || connection.status !== 'connected') return
  connection.mutation('world:heartbeatWorld', { worldId: state.worldId }).catch(() => {})
}
setInterval(() => { heartbeat() }, HEARTBEAT_MS)

/** A badge while the world's agents may not use the LLM (paused, or its budget spent). */
function renderLlmBadge (status: { budgetExceeded?: boolean, llmPaused?: boolean } | null): void {
  const badge = $('llm-badge')
  const text = status?.llmPaused === true ? 'LLM paused' : status?.budgetExceeded === true ? 'LLM budget exceeded' : ''
  badge.textContent = text
  badge.hidden = text === ''
}

function renderStatus (): void {
  const line = $('status')
  const status = connection.status
  line.classList.toggle('offline', status !== 'connected')
  const players = state.world?.players.length
  line.textContent = status === 'connected'
    ? `connected · world ${state.worldStatus || '…'}${players !== undefined ? ` · ${players} players` : ''}`
    : status === 'connecting' ? 'connecting…' : 'reconnecting…'
}

// ---- drawing -----------------------------------------------------------------------------

function poseOf (player: WorldPlayer, now: number): Pose {
  const current = { x: player.position.x, y: player.position.y, dx: player.facing.dx, dy: player.facing.dy }
  return replay.pose(player.id, current) ?? easer.pose(player.id, now) ??
    { x: player.position.x, y: player.position.y, dx: player.facing.dx, dy: player.facing.dy }
}

function frame (now: number, last: number): void {
  replay.advance(now - last)
  if (state.mapCanvas !== null && state.world !== null) {
    const world = state.world
    const drawn = new Map<string, DrawnPlayer>()
    for (const p of world.players) {
      const pose = poseOf(p, now)
      const who = state.names.get(p.id)
      const emoji = p.activity !== undefined && p.activity.until > Date.now() ? p.activity.emoji : undefined
      drawn.set(p.id, { id: p.id, ...pose, name: who?.name ?? p.id, color: spriteColors.get(who?.character ?? '') ?? '#cccccc', isMe: p.id === state.me, emoji })
    }
    const conversations: DrawnConversation[] = []
    const speech: Speech[] = []
    for (const c of world.conversations) {
      const [a, b] = c.participants.map((m) => drawn.get(m.playerId))
      if (a === undefined || b === undefined) continue
      const participating = c.participants.every((m) => m.status.kind === 'participating')
      const typing = c.isTyping !== undefined ? drawn.get(c.isTyping.playerId) : undefined
      conversations.push({ a, b, participating, typing })
      const latest = state.messages.get(c.id)?.at(-1)
      const speaker = latest !== undefined ? drawn.get(latest.author) : undefined
      if (participating && latest !== undefined && speaker !== undefined && speaker !== typing) speech.push({ speaker, text: latest.text })
    }
    state.drawn = [...drawn.values()]
    drawScene(ctx, state.mapCanvas, { players: state.drawn, conversations, speech, selected: state.selected })
    state.frames++
  }
  requestAnimationFrame((next) => { frame(next, now) })
}
requestAnimationFrame((now) => { frame(now, now) })

// A read-only window for tests and curious humans.
Object.defineProperty(globalThis, '__townhall', {
  value: Object.freeze({
    get mapDrawn () { return state.mapCanvas !== null && state.frames > 0 },
    get frames () { return state.frames },
    get connected () { return connection.status === 'connected' },
    get me () { return state.me },
    get hasHistory () { return replay.hasHistory },
    get usage () { return state.usage === null ? null : { ...state.usage.total } },
    get players () { return state.drawn.map((p) => ({ id: p.id, name: p.name, x: p.x, y: p.y })) }
  })
})

// ---- playing -----------------------------------------------------------------------------

function myConversation (): { conversation: WorldConversation, mine: string, other: string | undefined } | null {
  for (const conversation of state.world?.conversations ?? []) {
    const me = conversation.participants.find((p) => p.playerId === state.me)
    if (me !== undefined) return { conversation, mine: me.status.kind, other: conversation.participants.find((p) => p !== me)?.playerId }
  }
  return null
}

const nameOf = (playerId: string | undefined): string => (playerId !== undefined ? state.names.get(playerId)?.name : undefined) ?? 'someone'

function showError (message: string): void {
  $('input-error').textContent = message
}

/** Sends an engine input, then follows its status until the engine has processed it. */
function sendInput (name: string, args: Record<string, unknown>): void {
  if (state.engineId === null || state.me === null) return
  showError('')
  connection.mutation('world:sendWorldInput', { engineId: state.engineId, name, args: { playerId: state.me, ...args } })
    .then((inputId: string) => { watchInput(inputId, name) })
    .catch((err: Error) => { showError(`${name}: ${err.message}`) })
}

function watchInput (inputId: string, label = 'input', onDone: (ok: boolean) => void = () => {}): void {
  const unsubscribe = connection.subscribe('main:inputStatus', { inputId }, (status: { kind: 'ok' | 'error', message?: string } | null) => {
    if (status === null) return
    unsubscribe()
    if (status.kind === 'error') showError(`${label}: ${status.message ?? 'failed'}`)
    onDone(status.kind === 'ok')
  })
}

/** This tab's identity: a token kept for the session, so a reload is the same human. */
function ensureIdentity (): void {
  if (state.token !== null) return
  connection.mutation('auth:newPlayerToken', {})
    .then(({ token }: { token: string }) => {
      state.token = token
      sessionStorage.setItem(TOKEN_KEY, token)
      connection.connect(token)
    })
    .catch((err: Error) => { showError(`identity: ${err.message}`) })
}

function renderPanel (): void {
  const joined = state.me !== null
  $('join-form').hidden = joined || state.joining !== null
  $('joined').hidden = !joined
  if (!joined) return
  $('me-name').textContent = nameOf(state.me!)
  const mine = myConversation()
  if (mine === null) state.draftUuid = null
  $('invite').hidden = mine?.mine !== 'invited'
  $('walking').hidden = mine?.mine !== 'walkingOver'
  $('chat').hidden = mine?.mine !== 'participating'
  $('hint').hidden = mine !== null
  $('in-conversation').hidden = mine === null || mine.mine === 'invited'
  if (mine?.mine === 'invited') $('invite-text').textContent = `${nameOf(mine.other)} wants to talk to you.`
  if (mine?.mine === 'walkingOver') $('walking').textContent = `Walking over to ${nameOf(mine.other)}…`
}

function renderLog (): void {
  const log = $('log')
  if (state.messages.size === 0) return
  const el = (tag: string, className: string, ...children: Array<Element | string>): Element => {
    const node = document.createElement(tag)
    node.className = className
    node.append(...children)
    return node
  }
  // Text goes in as text nodes (append of strings), never as HTML.
  const blocks = [...state.messages.values()].reverse().filter((messages) => messages.length > 0).map((messages) => el('div', 'conversation',
    el('h3', '', [...new Set(messages.map((m) => m.authorName))].join(' & ')),
    ...messages.map((m) => el('div', 'message', el('b', '', `${m.authorName}: `), m.text))))
  if (blocks.length > 0) log.replaceChildren(...blocks)
}

function renderUsage (): void {
  if (state.usage === null) return
  const { total, agents } = usageLines(state.usage, (playerId) => state.names.get(playerId)?.name)
  $('usage-total').textContent = total
  const rows = agents.map((line) => {
    const row = document.createElement('div')
    row.className = 'usage-row'
    for (const text of [line.who, `${line.tokens} tok`, line.cost]) {
      const cell = document.createElement('span')
      cell.textContent = text
      row.append(cell)
    }
    return row
  })
  $('usage-agents').replaceChildren(...rows)
}

function uuid (): string {
  // crypto.randomUUID only exists in secure contexts; a LAN http:// page needs the fallback.
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const characterSelect = $('join-character')
for (const sprite of characterSprites) characterSelect.add(new browser.Option(`${sprite.key} (${sprite.label})`, sprite.key))

$('join-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const name = $('join-name').value.trim()
  if (state.worldId === null || name === '') return
  showError('')
  connection.mutation('world:joinWorld', { worldId: state.worldId, name, character: characterSelect.value })
    .then((inputId: string) => {
      state.joining = inputId
      watchInput(inputId, 'join', () => {
        state.joining = null
        renderPanel()
      })
      renderPanel()
    })
    .catch((err: Error) => { showError(`join: ${err.message}`) })
})

$('leave').addEventListener('click', () => {
  if (state.worldId === null) return
  connection.mutation('world:leaveWorld', { worldId: state.worldId })
    .catch((err: Error) => { showError(`leave: ${err.message}`) })
})

canvas.addEventListener('click', (event) => {
  const rect = canvas.getBoundingClientRect()
  const tx = ((event.clientX - rect.left) / rect.width) * canvas.width / TILE_PX - 0.5
  const ty = ((event.clientY - rect.top) / rect.height) * canvas.height / TILE_PX - 0.5
  const hit = state.drawn.find((p) => p.id !== state.me && Math.hypot(p.x - tx, p.y - ty) < 0.7)
  state.selected = hit?.id ?? null
  if (state.me === null) return
  if (hit !== undefined) sendInput('startConversation', { invitee: hit.id })
  else sendInput('moveTo', { destination: { x: Math.round(tx), y: Math.round(ty) } })
})

const onConversation = (name: string) => () => {
  const mine = myConversation()
  if (mine !== null) sendInput(name, { conversationId: mine.conversation.id })
}
$('accept').addEventListener('click', onConversation('acceptInvite'))
$('reject').addEventListener('click', onConversation('rejectInvite'))
$('leave-conversation').addEventListener('click', onConversation('leaveConversation'))

$('message').addEventListener('input', () => {
  const mine = myConversation()
  if (mine === null || state.draftUuid !== null || mine.conversation.isTyping !== undefined) return
  // Tell the other side we are typing, so an agent waits for us; the message reuses the uuid.
  state.draftUuid = uuid()
  sendInput('startTyping', { conversationId: mine.conversation.id, messageUuid: state.draftUuid })
})

$('chat').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = $('message')
  const text = input.value.trim()
  const mine = myConversation()
  if (mine === null || text === '' || state.worldId === null || state.me === null) return
  const messageUuid = state.draftUuid ?? uuid()
  state.draftUuid = null
  input.value = ''
  connection.mutation('messages:writeMessage', { worldId: state.worldId, conversationId: mine.conversation.id, messageUuid, playerId: state.me, text })
    .then((inputId: string) => { watchInput(inputId, 'message') })
    .catch((err: Error) => { showError(`message: ${err.message}`) })
})

connection.connect(state.token)
renderPanel()
