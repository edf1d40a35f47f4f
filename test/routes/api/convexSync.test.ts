// The official convex client (ConvexClient over real WebSockets, `ws` as its WebSocket) against townhall's
// Convex sync endpoint: live worldState and gameDescriptions, Transitions that chain with growing ts, a human
// who joins, moves, invites an agent, talks and leaves, and a client that outlives a server restart.
import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import WebSocket from 'ws'
import { ConvexClient } from 'convex/browser'
import { anyApi } from 'convex/server'
import { ConvexError } from 'convex/values'
import { storeTargets } from '../../helpers/stores.ts'
import { ADMIN_KEY, listeningApp, nextValue } from '../../helpers/api.ts'
import { startServer } from '../../helpers/server.ts'

interface Frame { type: string, startVersion?: { querySet: number, identity: number, ts: string }, endVersion?: { querySet: number, identity: number, ts: string }, modifications?: Array<{ type: string, queryId: number, value?: unknown }> }
interface Sent { type: string, modifications?: Array<{ type: string, queryId: number, udfPath?: string }> }
interface P { id: string, human?: string, position: { x: number, y: number }, pathfinding?: { state: { kind: string, path?: unknown[][] } } }
interface State { world: { _id: string, players: P[], agents: Array<{ playerId: string }>, conversations: Array<{ id: string, participants: Array<{ playerId: string, invited: number, status: { kind: string, started?: number } }> }> }, engine: { _id: string, currentTime: number } }
interface Descriptions { worldMap: { width: number, tileSetUrl: string }, playerDescriptions: Array<{ playerId: string, name: string }> }

const ts = (encoded: string): bigint => Buffer.from(encoded, 'base64').readBigUInt64LE()

/** A ConvexClient whose socket records every server message. */
function convexClient (t: { teardown: (fn: () => unknown) => void }, url: string): { client: ConvexClient, frames: Frame[], sent: Sent[] } {
  const frames: Frame[] = []
  const sent: Sent[] = []
  class RecordingSocket extends WebSocket {
    constructor (address: string, protocols?: string | string[]) {
      super(address, protocols)
      this.on('message', (data) => { frames.push(JSON.parse(String(data)) as Frame) })
    }

    override send (data: unknown, ...rest: unknown[]): void {
      sent.push(JSON.parse(String(data)) as Sent)
      super.send(data as string, ...(rest as []))
    }
  }
  const client = new ConvexClient(url, { webSocketConstructor: RecordingSocket as unknown as typeof globalThis.WebSocket, skipConvexDeploymentUrlCheck: true, unsavedChangesWarning: false })
  t.teardown(async () => { await client.close() })
  return { client, frames, sent }
}

/** After how many Transitions the client held a worldState with a player that its gameDescriptions lacked. */
function undescribedAfterTransitions (frames: Frame[], sent: Sent[]): { transitions: number, undescribed: number } {
  const paths = new Map<number, string>()
  for (const m of sent) for (const mod of m.modifications ?? []) if (mod.type === 'Add') paths.set(mod.queryId, mod.udfPath!)
  const values = new Map<string, unknown>()
  let transitions = 0
  let undescribed = 0
  for (const f of frames) {
    if (f.type !== 'Transition') continue
    transitions++
    for (const mod of f.modifications ?? []) {
      const path = paths.get(mod.queryId)
      if (path === undefined) continue
      if (mod.type === 'QueryUpdated') values.set(path, mod.value)
      else values.delete(path)
    }
    const state = values.get('world:worldState') as State | undefined
    const descriptions = values.get('world:gameDescriptions') as Descriptions | undefined
    if (state === undefined || descriptions === undefined) continue
    const described = new Set(descriptions.playerDescriptions.map((d) => d.playerId))
    if (state.world.players.some((p) => !described.has(p.id))) {
      undescribed++
      if (process.env.DEBUG_SYNC !== undefined) console.error('UNDESCRIBED', transitions, state.world.players.filter((p) => !described.has(p.id)).map((p) => p.id), [...described], (f.modifications ?? []).map((m) => `${m.type}:${paths.get(m.queryId)}`))
    }
  }
  return { transitions, undescribed }
}

/** The next value of a live query that `accept` takes. */
async function until<T> (client: ConvexClient, query: unknown, args: Record<string, unknown>, accept: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  return await nextValue<T>((on) => client.onUpdate(query as never, args as never, (value: unknown) => { on(value as T) }), accept, timeoutMs)
}

function checkChain (t: { equal: (a: unknown, b: unknown, m: string) => void, ok: (v: unknown, m: string) => void }, frames: Frame[]): void {
  const transitions = frames.filter((f) => f.type === 'Transition')
  let broken = 0
  let backwards = 0
  for (let i = 1; i < transitions.length; i++) {
    const before = transitions[i - 1]!.endVersion!
    const start = transitions[i]!.startVersion!
    if (before.querySet !== start.querySet || before.identity !== start.identity || before.ts !== start.ts) broken++
    if (ts(transitions[i]!.endVersion!.ts) <= ts(start.ts)) backwards++
  }
  t.equal(broken, 0, `each of ${transitions.length} Transitions starts where the one before ended`)
  t.equal(backwards, 0, 'ts grows with every Transition')
}

for (const target of storeTargets()) {
  test(`ConvexClient plays the town over the sync protocol (${target.name})`, { timeout: 240_000 }, async (t) => {
    const { app, url } = await listeningApp(t, target)
    const { client, frames, sent } = convexClient(t, url)
    const status = await until<{ worldId: string, engineId: string } | null>(client, anyApi.world.defaultWorldStatus, {}, (s) => s !== null)
    const { worldId, engineId } = status!

    // worldState and gameDescriptions, live: steps arrive with growing engine time.
    const times: number[] = []
    let lastDescriptions: Descriptions | undefined
    const stopState = client.onUpdate(anyApi.world.worldState, { worldId }, (s: State) => { times.push(s.engine.currentTime) })
    const stopDescriptions = client.onUpdate(anyApi.world.gameDescriptions, { worldId }, (d: Descriptions) => { lastDescriptions = d })
    await nextValue<number>((on) => { const i = setInterval(() => { on(times.length) }, 50); return () => { clearInterval(i) } }, (n) => n >= 4)
    t.ok(times.every((x, i) => i === 0 || x > times[i - 1]!), 'each update is a later step')
    t.match(lastDescriptions, { worldMap: { width: Number, tileSetUrl: /^http/ } }, 'the map comes with an absolute tileset URL')

    // AI Town's packed shapes: paths as [x, y, dx, dy, t], movement history as bytes per player.
    const moving = await until<State & { world: { historicalLocations?: Array<{ playerId: string, location: unknown }> } }>(client, anyApi.world.worldState, { worldId },
      (s) => s.world.players.some((p) => p.pathfinding?.state.kind === 'moving') && (s.world.historicalLocations ?? []).length > 0)
    const path = moving.world.players.find((p) => p.pathfinding?.state.kind === 'moving')!.pathfinding!.state.path!
    t.ok(path.every((c) => Array.isArray(c) && c.length === 5 && c.every((n) => typeof n === 'number')), 'a moving player\'s path is [x, y, dx, dy, t] corners')
    t.ok(moving.world.historicalLocations!.every((h) => typeof h.playerId === 'string' && h.location instanceof ArrayBuffer), 'historicalLocations arrive as [{ playerId, location: ArrayBuffer }]')

    // Join as this session's own identity; the join input's status resolves with our player.
    const identity = await client.query(anyApi.world.userStatus, { worldId }) as string
    t.match(identity, /^[0-9a-f]{64}$/, 'a session without auth has an identity of its own')
    const inputId = await client.mutation(anyApi.world.joinWorld, { worldId }) as string
    t.type(inputId, 'string', 'joinWorld returns an input id')
    const joined = await until<{ kind: string, value: string } | null>(client, anyApi.aiTown.main.inputStatus, { inputId }, (v) => v !== null)
    t.match(joined, { kind: 'ok', value: /^p:\d+$/ })
    const playerId = joined!.value
    const state = await until<State>(client, anyApi.world.worldState, { worldId }, (s) => s.world.players.some((p) => p.id === playerId))
    t.equal(state.world.players.find((p) => p.id === playerId)?.human, identity, 'player.human is what userStatus returns')

    // Move, then invite the nearest agent and talk.
    const move = await client.mutation(anyApi.world.sendWorldInput, { engineId, name: 'moveTo', args: { playerId, destination: { x: 5, y: 5 } } }) as string
    t.match(await until(client, anyApi.aiTown.main.inputStatus, { inputId: move }, (v) => v !== null), { kind: 'ok' })
    // Agents pair up among themselves too (and may invite us): wait for a moment when one is free and we are not busy.
    const freeAgents = (s: State): P[] => {
      const me = s.world.players.find((p) => p.id === playerId)
      const agents = new Set(s.world.agents.map((a) => a.playerId))
      const busy = new Set(s.world.conversations.flatMap((c) => c.participants.map((m) => m.playerId)))
      if (me === undefined || busy.has(playerId)) return []
      return s.world.players.filter((p) => agents.has(p.id) && !busy.has(p.id))
        .sort((a, b) => Math.hypot(a.position.x - me.position.x, a.position.y - me.position.y) - Math.hypot(b.position.x - me.position.x, b.position.y - me.position.y))
    }
    const partner = freeAgents(await until<State>(client, anyApi.world.worldState, { worldId }, (s) => freeAgents(s).length > 0, 90_000))[0]
    t.ok(partner, 'a free agent to invite')
    const invite = await client.mutation(anyApi.world.sendWorldInput, { engineId, name: 'startConversation', args: { playerId, invitee: partner!.id } }) as string
    const invited = await until<{ kind: string, value?: string, message?: string } | null>(client, anyApi.aiTown.main.inputStatus, { inputId: invite }, (v) => v !== null)
    if (invited?.kind === 'ok') {
      const conversationId = invited.value!
      const conversation = (await until<State>(client, anyApi.world.worldState, { worldId }, (s) => s.world.conversations.some((c) => c.id === conversationId)))
        .world.conversations.find((c) => c.id === conversationId)!
      // The inviter walks over until both are close; a slow poll may first see the conversation already started.
      const me = conversation.participants.find((m) => m.playerId === playerId)
      t.match(me, { invited: Number, status: { kind: /^(walkingOver|participating)$/ } }, 'participants in AI Town\'s shape')
      if (me?.status.kind === 'participating') t.match(me.status, { started: Number }, 'a participating member says when it started')
      await client.mutation(anyApi.messages.writeMessage, { worldId, conversationId, messageUuid: randomUUID(), playerId, text: 'Hello there!' })
      const messages = await until<Array<{ author: string, text: string }>>(client, anyApi.messages.listMessages, { worldId, conversationId }, (list) => list.some((m) => m.author === playerId))
      t.equal(messages.find((m) => m.author === playerId)?.text, 'Hello there!')
    } else t.comment(`the invitation was refused by the game (${invited?.message ?? ''}); the agent was busy`)

    // Acting for another player is refused with a ConvexError whose data says why.
    const other = state.world.players.find((p) => p.id !== playerId)!
    const refused = await client.mutation(anyApi.world.sendWorldInput, { engineId, name: 'moveTo', args: { playerId: other.id, destination: null } }).catch((err: unknown) => err)
    t.ok(refused instanceof ConvexError, 'a refused mutation throws ConvexError')
    t.match((refused as ConvexError<string>).data, /acts only for itself/)

    // Leave: our player goes away.
    await client.mutation(anyApi.world.leaveWorld, { worldId })
    await until<State>(client, anyApi.world.worldState, { worldId }, (s) => !s.world.players.some((p) => p.id === playerId))
    stopState()
    stopDescriptions()
    const described = undescribedAfterTransitions(frames, sent)
    t.equal(described.undescribed, 0, `after none of ${described.transitions} Transitions did worldState show a player without its description`)
    checkChain(t, frames)
    t.notOk(frames.some((f) => f.type === 'FatalError'), 'no FatalError')

    // One hub for both protocols: a /api/ws subscriber of the same query shares its computation.
    const sameClient = convexClient(t, url).client
    const stop = sameClient.onUpdate(anyApi.world.worldState, { worldId }, () => {})
    await until(sameClient, anyApi.world.worldState, { worldId }, () => true)
    const before = app.realtime.stats
    const ws = new WebSocket(`${url.replace('http', 'ws')}/api/ws`)
    await new Promise((resolve) => ws.once('open', resolve))
    ws.send(JSON.stringify({ type: 'subscribe', id: 'w', path: 'world:worldState', args: { worldId } }))
    await new Promise((resolve) => ws.once('message', resolve))
    const after = app.realtime.stats
    t.same([after.groups, after.subscriptions], [before.groups, before.subscriptions + 1], 'world:worldState watched over /api/ws and the sync protocol is one computation')
    stop()
    ws.close()

    // Names AI Town's front end reads exist.
    t.equal(await client.query(anyApi.testing.stopAllowed, {}), false, 'stopping is for the admin only')
    t.type(await client.query(anyApi.music.getBackgroundMusic, {}), 'string')
  })
}

const embedded = storeTargets()[0]!

test('a ConvexClient reconnects after a server restart and its queries carry on; setAuth keeps the player', { timeout: 180_000 }, async (t) => {
  const { config, store } = await embedded.fresh(t)
  await store.close()
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const env = { ...config, PORT: String(port), ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'info' }
  let server = await startServer(t, env)
  const { client, frames } = convexClient(t, server.url)
  // A townhall token through setAuth: the same human across sessions.
  const token = (await (await fetch(`${server.url}/api/mutation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: 'auth:newPlayerToken', args: {} }) })).json() as { value: { token: string, tokenIdentifier: string } }).value
  client.setAuth(async () => token.token)
  const status = await until<{ worldId: string } | null>(client, anyApi.world.defaultWorldStatus, {}, (s) => s !== null, 60_000)
  const worldId = status!.worldId
  await until<string | null>(client, anyApi.world.userStatus, { worldId }, (v) => v === token.tokenIdentifier)
  const times: number[] = []
  client.onUpdate(anyApi.world.worldState, { worldId }, (s: State) => { times.push(s.engine.currentTime) })
  await nextValue<number>((on) => { const i = setInterval(() => { on(times.length) }, 50); return () => { clearInterval(i) } }, (n) => n >= 2, 30_000)

  await server.stop('SIGTERM')
  const before = times.length
  server = await startServer(t, env)
  t.teardown(async () => { await server.stop() })
  await nextValue<number>((on) => { const i = setInterval(() => { on(times.length) }, 100); return () => { clearInterval(i) } }, (n) => n >= before + 2, 60_000)
  t.pass('the same subscription got new steps from the restarted server')
  t.equal(await client.query(anyApi.world.userStatus, { worldId }), token.tokenIdentifier, 'the token still names the caller after reconnecting')
  t.ok(frames.filter((f) => f.type === 'Transition' && f.startVersion!.querySet === 0).length >= 2, 'the reconnect started a fresh query set')
})

test('two instances on the MongoDB-wire server: a ConvexClient on A sees an input sent by a ConvexClient on B', {
  skip: storeTargets().find((s) => s.name === 'mongodb') === undefined ? 'MONGODB_URL is not set (CI sets it to the MongoDB-wire test server)' : false,
  timeout: 180_000
}, async (t) => {
  const mongo = storeTargets().find((s) => s.name === 'mongodb')!
  const { config, store } = await mongo.fresh(t)
  await store.close()
  const env = { ...config, LOG_LEVEL: 'info' }
  const a = await startServer(t, { ...env, DATA_DIR: `${config.DATA_DIR}/a` })
  const b = await startServer(t, { ...env, DATA_DIR: `${config.DATA_DIR}/b`, ENGINE_DEFAULT_WORLD: 'false' })
  t.teardown(async () => { await a.stop(); await b.stop() })
  const onA = convexClient(t, a.url).client
  const onB = convexClient(t, b.url).client
  const status = await until<{ worldId: string } | null>(onB, anyApi.world.defaultWorldStatus, {}, (s) => s !== null, 60_000)
  const inputId = await onB.mutation(anyApi.world.joinWorld, { worldId: status!.worldId, name: 'Across' }) as string
  t.match(await until(onA, anyApi.aiTown.main.inputStatus, { inputId }, (v) => v !== null, 60_000), { kind: 'ok', value: /^p:\d+$/ }, 'A saw the input B accepted')
})

test('the sync endpoint answers a plain GET with 426, and a bad first message with FatalError and a close', async (t) => {
  const { url } = await listeningApp(t, embedded)
  const plain = await fetch(`${url}/api/1.19.2/sync`)
  t.equal(plain.status, 426)
  const socket = new WebSocket(`${url.replace('http', 'ws')}/api/1.19.2/sync`)
  const messages: Array<{ type: string, error?: string }> = []
  socket.on('message', (data) => { messages.push(JSON.parse(String(data)) as { type: string }) })
  await new Promise((resolve) => socket.once('open', resolve))
  socket.send(JSON.stringify({ type: 'ModifyQuerySet', baseVersion: 0, newVersion: 1, modifications: [] }))
  const code = await new Promise<number>((resolve) => socket.once('close', (c) => { resolve(c) }))
  t.match(messages, [{ type: 'FatalError', error: /before Connect/ }])
  t.equal(code, 1008, 'closed cleanly with a policy-violation code')
})

test('raw sync protocol: QueryFailed, QueryRemoved, AuthError, and a mutation sent again after a reconnect is answered, not run twice', async (t) => {
  const { url } = await listeningApp(t, embedded)
  const sessionId = randomUUID()
  const open = async (): Promise<{ socket: WebSocket, next: (type: string) => Promise<Record<string, any>> }> => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/api/1.48.0/sync`)
    const inbox: Array<Record<string, any>> = []
    socket.on('message', (data) => { inbox.push(JSON.parse(String(data)) as Record<string, any>) })
    await new Promise((resolve) => socket.once('open', resolve))
    t.teardown(() => { socket.close() })
    socket.send(JSON.stringify({ type: 'Connect', sessionId, connectionCount: 0, lastCloseReason: null }))
    const next = async (type: string): Promise<Record<string, any>> => {
      for (let i = 0; i < 400; i++) {
        const at = inbox.findIndex((m) => m.type === type)
        if (at >= 0) return inbox.splice(at, 1)[0]!
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      throw new Error(`no ${type}`)
    }
    return { socket, next }
  }
  const first = await open()
  first.socket.send(JSON.stringify({ type: 'ModifyQuerySet', baseVersion: 0, newVersion: 1, modifications: [{ type: 'Add', queryId: 0, udfPath: 'world:worldState', args: [{ worldId: 7 }] }, { type: 'Add', queryId: 1, udfPath: 'nope:nothing', args: [{}] }] }))
  const added = await first.next('Transition')
  t.match(added, { startVersion: { querySet: 0, identity: 0 }, endVersion: { querySet: 1, identity: 0 } })
  t.match(added.modifications, [
    { type: 'QueryFailed', queryId: 0, errorMessage: /TOWNHALL_ERR_BAD_ARGUMENTS/, errorData: /worldId/ },
    { type: 'QueryFailed', queryId: 1, errorMessage: /no function nope:nothing/ }
  ], 'bad queries fail on their own; the connection carries on')
  first.socket.send(JSON.stringify({ type: 'ModifyQuerySet', baseVersion: 1, newVersion: 2, modifications: [{ type: 'Remove', queryId: 1 }] }))
  t.match((await first.next('Transition')).modifications, [{ type: 'QueryRemoved', queryId: 1 }])
  first.socket.send(JSON.stringify({ type: 'Authenticate', baseVersion: 0, tokenType: 'Admin', value: 'not-the-admin-key-at-all' }))
  t.match(await first.next('AuthError'), { baseVersion: 0, error: /not the admin key/ })

  first.socket.send(JSON.stringify({ type: 'Mutation', requestId: 7, udfPath: 'auth:newPlayerToken', args: [{}] }))
  const answer = await first.next('MutationResponse')
  t.match(answer, { requestId: 7, success: true, result: { token: /^th_/ }, ts: String })
  const resolving = await first.next('Transition')
  t.equal(resolving.endVersion.ts, answer.ts, 'a Transition reaches the mutation\'s ts')
  first.socket.close()

  const second = await open()
  second.socket.send(JSON.stringify({ type: 'Mutation', requestId: 7, udfPath: 'auth:newPlayerToken', args: [{}] }))
  t.same((await second.next('MutationResponse')).result, answer.result, 'the same session\'s mutation, sent again, gets the first answer')
})
