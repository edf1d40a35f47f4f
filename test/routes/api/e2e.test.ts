// End to end over real HTTP and WebSocket: join, move, invite an agent, exchange messages, watch every step
// arrive on a subscription, leave; an input's status goes from pending to its return value.
import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import { storeTargets } from '../../helpers/stores.ts'
import { client, listeningApp, nextValue, socket } from '../../helpers/api.ts'
import type { ResultOf } from '../../../src/client/index.ts'

type State = ResultOf<'world:worldState'>
interface P { id: string, position: { x: number, y: number }, human?: string }
interface C { id: string, participants: Array<{ playerId: string, invited: number, status: { kind: string, started?: number } }> }

for (const target of storeTargets()) {
  test(`a human plays the town over HTTP and WebSocket (${target.name})`, { timeout: 290_000 }, async (t) => {
    const { url } = await listeningApp(t, target)
    const anon = client(url)
    const status = await anon.query('world:defaultWorldStatus', {})
    t.ok(status !== null)
    const { worldId, engineId } = status!
    const watcher = await socket(t, anon)

    // Every step arrives on the subscription, in order, versions only growing.
    const seen: Array<{ version: number, time: number }> = []
    const stopWatching = watcher.subscribe('world:worldState', { worldId }, (value, version) => {
      seen.push({ version, time: value.engine.currentTime })
    })
    await nextValue<number>((on) => { const i = setInterval(() => { on(seen.length) }, 50); return () => { clearInterval(i) } }, (n) => n >= 4)
    for (let i = 1; i < seen.length; i++) {
      t.ok(seen[i]!.version > seen[i - 1]!.version, 'versions grow')
      t.ok(seen[i]!.time > seen[i - 1]!.time, 'each value is a later step')
    }

    // An identity first, then join as it; the join input's status goes from pending (null) to ok with the new player id.
    const { token, tokenIdentifier } = await anon.mutation('auth:newPlayerToken', {})
    const player = await socket(t, client(url, token))
    t.equal(await player.query('world:userStatus', { worldId }), tokenIdentifier, 'the token is who the caller is')
    const joined = await player.mutation('world:joinWorld', { worldId, name: 'Quinn', character: 'f4', description: 'A traveller' })
    const me = await nextValue<unknown>((on) => watcher.subscribe('main:inputStatus', { inputId: joined }, on), (v) => v !== null) as { kind: string, value: string }
    t.equal(me.kind, 'ok')
    t.match(me.value, /^p:\d+$/)
    const playerId = me.value
    const joinedState = await nextValue<State>((on) => watcher.subscribe('world:worldState', { worldId }, on), (s) => (s.world.players as P[]).some((p) => p.id === playerId))
    t.equal((joinedState.world.players as P[]).find((p) => p.id === playerId)?.human, tokenIdentifier, 'player.human is what userStatus returns to its owner')

    // A bad input comes back as an error return value.
    const badMove = await player.mutation('world:sendWorldInput', { engineId, name: 'moveTo', args: { playerId, destination: { x: 1.5, y: -3 } } })
    const badStatus = await nextValue<unknown>((on) => player.subscribe('main:inputStatus', { inputId: badMove }, on), (v) => v !== null)
    t.match(badStatus, { kind: 'error', message: /moveTo/ })

    // Invite the nearest free agent and walk towards it.
    // Agents pair up among themselves too: wait for a moment when one is free, then pick the nearest.
    const distance = (a: P, b: P): number => Math.hypot(a.position.x - b.position.x, a.position.y - b.position.y)
    const freeAgents = (s: State): P[] => {
      const players = s.world.players as P[]
      const busy = new Set((s.world.conversations as C[]).flatMap((c) => c.participants.map((m) => m.playerId)))
      const agentIds = new Set((s.world.agents as Array<{ playerId: string }>).map((a) => a.playerId))
      const mine = players.find((p) => p.id === playerId)
      if (mine === undefined || busy.has(playerId)) return []
      return players.filter((p) => agentIds.has(p.id) && !busy.has(p.id)).sort((a, b) => distance(a, mine) - distance(b, mine))
    }
    // An agent gives up walking over after 60 s (a rule of the game), so a far or wandering partner may end the
    // invitation: then invite again, up to three times.
    let conversationId = ''
    let agentPlayer: P | undefined
    let together: State | undefined
    for (let attempt = 1; attempt <= 3 && together === undefined; attempt++) {
      const state = await nextValue<State>((on) => watcher.subscribe('world:worldState', { worldId }, on), (s) => freeAgents(s).length > 0, 90_000, `a free agent (attempt ${attempt})`)
      agentPlayer = freeAgents(state)[0]!
      const invite = await player.mutation('world:sendWorldInput', { engineId, name: 'startConversation', args: { playerId, invitee: agentPlayer.id } })
      const invited = await nextValue<unknown>((on) => player.subscribe('main:inputStatus', { inputId: invite }, on), (v) => v !== null, 20_000, `the invitation's answer (attempt ${attempt})`) as { kind: string, value: string }
      if (invited.kind !== 'ok') continue
      conversationId = invited.value
      await player.mutation('world:sendWorldInput', {
        engineId, name: 'moveTo', args: { playerId, destination: { x: Math.round(agentPlayer.position.x), y: Math.round(agentPlayer.position.y) } }
      })
      // Walk towards where the agent is now, as a person would, every few seconds while walking over.
      let lastMove = Date.now()
      const outcome = await nextValue<State>((on) => watcher.subscribe('world:worldState', { worldId }, on), (s) => {
        const c = (s.world.conversations as C[]).find((x) => x.id === conversationId)
        const done = c === undefined || c.participants.every((m) => m.status.kind === 'participating')
        const agentNow = (s.world.players as P[]).find((p) => p.id === agentPlayer!.id)
        if (!done && agentNow !== undefined && Date.now() - lastMove > 4000) {
          lastMove = Date.now()
          player.mutation('world:sendWorldInput', {
            engineId, name: 'moveTo', args: { playerId, destination: { x: Math.round(agentNow.position.x), y: Math.round(agentNow.position.y) } }
          }).catch(() => {})
        }
        return done
      }, 90_000, `both in the conversation or its end (attempt ${attempt})`)
      if ((outcome.world.conversations as C[]).some((x) => x.id === conversationId)) together = outcome
      else t.comment(`attempt ${attempt}: the invitation ended before both arrived; inviting again`)
    }
    t.ok(together, 'the agent accepted, both walked over, and they are talking')
    if (together === undefined || agentPlayer === undefined) return

    // Exchange messages: ours, then the agent's reply on the live message list.
    const written = await player.mutation('messages:writeMessage', { worldId, conversationId, messageUuid: randomUUID(), playerId, text: 'Hello! What is new in town?' })
    t.match(written, /\S/, 'writing a message queues an input')
    const messages = await nextValue<Array<{ author: string, authorName: string, text: string }>>(
      (on) => watcher.subscribe('messages:listMessages', { worldId, conversationId }, on),
      (list) => list.some((m) => m.author === playerId) && list.some((m) => m.author === agentPlayer.id), 90_000)
    t.equal(messages.find((m) => m.author === playerId)?.authorName, 'Quinn')
    t.ok(messages.find((m) => m.author === agentPlayer!.id)!.text.length > 0, 'the agent answered')

    // Leave: our player is gone from the world.
    const left = await player.mutation('world:leaveWorld', { worldId })
    t.ok(left !== null, 'leaving queues an input')
    t.match(await nextValue<unknown>((on) => player.subscribe('main:inputStatus', { inputId: left! }, on), (v) => v !== null), { kind: 'ok' })
    await nextValue<State>((on) => watcher.subscribe('world:worldState', { worldId }, on), (s) => !(s.world.players as P[]).some((p) => p.id === playerId))
    t.equal(await anon.query('world:userStatus', { worldId }), null)
    stopWatching()
    t.same(player.errors, [], 'no error frames on the player socket')
  })
}
