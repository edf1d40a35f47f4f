import { test } from 'tap'
import { Sim, openMap, mapFromRows } from './helpers.ts'
import type { Conversation } from '../../src/game/types.ts'

function conv (sim: Sim, id: string): Conversation {
  const c = sim.world.conversations.find((x) => x.id === id)
  if (!c) throw new Error(`no conversation ${id}`)
  return c
}

function status (sim: Sim, conversationId: string, playerId: string): string | undefined {
  return conv(sim, conversationId).participants.find((m) => m.playerId === playerId)?.status
}

function twoHumans (sim: Sim): [string, string] {
  const a = sim.join('Ann', 'tok-a')
  const b = sim.join('Ben', 'tok-b')
  sim.place(a, 1, 1)
  sim.place(b, 8, 6)
  return [a, b]
}

test('invite, accept, walk over, talk', async (t) => {
  const sim = new Sim(openMap(10, 8))
  const [a, b] = twoHumans(sim)
  const id = sim.ok<string>('startConversation', { playerId: a, invitee: b })
  t.match(id, /^c:\d+$/)
  t.equal(status(sim, id, a), 'walkingOver', 'creator walks over')
  t.equal(status(sim, id, b), 'invited')
  t.equal(conv(sim, id).participants.length, 2)

  const c = sim.join('Cat', 'tok-c')
  t.match(sim.input('startConversation', { playerId: c, invitee: a }), { kind: 'error', message: /already in conversation/ })
  t.match(sim.input('startConversation', { playerId: b, invitee: c }), { kind: 'error', message: /already in conversation/ })
  t.match(sim.input('startTyping', { playerId: a, conversationId: id, messageUuid: 'm1' }), { kind: 'error', message: /not participating/ })

  sim.ok('acceptInvite', { playerId: b, conversationId: id })
  t.equal(status(sim, id, b), 'walkingOver')
  sim.advance(1000)
  t.equal(status(sim, id, a), 'walkingOver', 'still far apart: nobody participates yet')

  // Humans walk themselves; bring them within 1.3 tiles.
  sim.place(a, 4.4, 3.1)
  sim.place(b, 5.5, 3.6)
  sim.advance(16)
  t.equal(status(sim, id, a), 'participating')
  t.equal(status(sim, id, b), 'participating')
  const pa = sim.player(a)
  const pb = sim.player(b)
  t.ok(Number.isInteger(pa.position.x) && Number.isInteger(pa.position.y), 'snapped to a tile')
  t.ok(Number.isInteger(pb.position.x) && Number.isInteger(pb.position.y), 'snapped to a tile')
  t.equal(Math.abs(pa.position.x - pb.position.x) + Math.abs(pa.position.y - pb.position.y), 1, 'adjacent tiles')
  t.same(pa.facing, { dx: pb.position.x - pa.position.x, dy: pb.position.y - pa.position.y }, 'a faces b')
  t.same(pb.facing, { dx: pa.position.x - pb.position.x, dy: pa.position.y - pb.position.y }, 'b faces a')
  t.equal(pa.speed, 0)

  t.match(sim.input('moveTo', { playerId: a, destination: { x: 0, y: 0 } }), { kind: 'error', message: /cannot move while participating/ })

  sim.ok('startTyping', { playerId: a, conversationId: id, messageUuid: 'm1' })
  t.match(conv(sim, id).isTyping, { playerId: a, messageUuid: 'm1' })
  t.match(sim.input('startTyping', { playerId: b, conversationId: id, messageUuid: 'm2' }), { kind: 'error', message: /already typing/ })
  sim.ok('finishSendingMessage', { playerId: a, conversationId: id, timestamp: sim.time })
  t.notOk(conv(sim, id).isTyping, 'sending clears the indicator')
  t.equal(conv(sim, id).numMessages, 1)
  t.equal(conv(sim, id).lastMessage?.author, a)

  sim.ok('leaveConversation', { playerId: b, conversationId: id })
  t.equal(sim.world.conversations.length, 0, 'leaving ends it')
  const archived = sim.steps.flatMap((s) => s.archivedConversations)
  t.equal(archived.length, 1)
  t.match(archived[0], { id, creator: a, numMessages: 1, participants: [a, b], lastMessage: { author: a } })
  const rows = sim.steps.flatMap((s) => s.participatedTogether)
  t.same(rows.map((r) => [r.player1, r.player2]).sort(), [[a, b], [b, a]], 'one row per ordered pair')
  t.ok(rows.every((r) => r.conversationId === id && r.ended === archived[0].ended))
  sim.ok('moveTo', { playerId: a, destination: { x: 0, y: 0 } })
})

test('reject ends the conversation', async (t) => {
  const sim = new Sim(openMap(10, 8))
  const [a, b] = twoHumans(sim)
  const id = sim.ok<string>('startConversation', { playerId: a, invitee: b })
  t.match(sim.input('rejectInvite', { playerId: a, conversationId: id }), { kind: 'error', message: /not invited/ })
  sim.ok('rejectInvite', { playerId: b, conversationId: id })
  t.equal(sim.world.conversations.length, 0)
  t.match(sim.input('acceptInvite', { playerId: b, conversationId: id }), { kind: 'error', message: /unknown conversation/ })
})

test('walkers do not participate until within 1.3 tiles', async (t) => {
  const sim = new Sim(openMap(10, 8))
  const [a, b] = twoHumans(sim)
  const id = sim.ok<string>('startConversation', { playerId: a, invitee: b })
  sim.ok('acceptInvite', { playerId: b, conversationId: id })
  sim.place(a, 2, 2)
  sim.place(b, 3.35, 2)
  sim.advance(16)
  t.equal(status(sim, id, a), 'walkingOver', '1.35 apart is too far')
  sim.place(b, 3.25, 2)
  sim.advance(16)
  t.equal(status(sim, id, a), 'participating', '1.25 apart starts the conversation')
})

test('snap avoids walls and other players', async (t) => {
  const map = mapFromRows([
    '..........',
    '..........',
    '#####.....',
    '#...#.....',
    '#####.....'
  ])
  const sim = new Sim(map)
  const a = sim.join('Ann', 'tok-a')
  const b = sim.join('Ben', 'tok-b')
  const c = sim.join('Cat', 'tok-c')
  sim.place(a, 1.6, 3)
  sim.place(b, 2.55, 3)
  sim.place(c, 3, 3)
  const id = sim.ok<string>('startConversation', { playerId: a, invitee: b })
  sim.ok('acceptInvite', { playerId: b, conversationId: id })
  t.equal(status(sim, id, a), 'participating')
  t.same(sim.player(a).position, { x: 2, y: 3 }, 'a rounds to its own tile')
  t.same(sim.player(b).position, { x: 1, y: 3 }, 'the only free tile next to a: not a wall, not the bystander')
  t.same(sim.player(a).facing, { dx: -1, dy: 0 })
  t.same(sim.player(c).position, { x: 3, y: 3 }, 'bystander untouched')
})

test('typing indicator expires after 15 s', async (t) => {
  const sim = new Sim(openMap(10, 8))
  const [a, b] = twoHumans(sim)
  const id = sim.ok<string>('startConversation', { playerId: a, invitee: b })
  sim.place(b, 2, 1)
  sim.ok('acceptInvite', { playerId: b, conversationId: id })
  sim.ok('startTyping', { playerId: b, conversationId: id, messageUuid: 'u' })
  sim.advance(14_900)
  t.ok(conv(sim, id).isTyping, 'still typing at 14.9 s')
  sim.advance(200)
  t.notOk(conv(sim, id).isTyping, 'cleared after 15 s')
  sim.ok('startTyping', { playerId: a, conversationId: id, messageUuid: 'v' })
})

test('ending a conversation marks it to be remembered by each agent in it', async (t) => {
  const sim = new Sim(openMap(10, 8))
  const human = sim.join('Ann', 'tok-a')
  const { agentId, playerId } = sim.ok<{ agentId: string, playerId: string }>('createAgent', { descriptionIndex: 0 })
  const agent = sim.world.agents.find((x) => x.id === agentId)!
  agent.inProgressOperation = { name: 'doSomething', operationId: 'o:999', started: sim.time + 1e9 } // keep the agent still
  const id = sim.ok<string>('startConversation', { playerId: human, invitee: playerId })
  sim.ok('leaveConversation', { playerId: human, conversationId: id })
  t.equal(agent.toRemember, id)
  t.equal(agent.lastConversation, sim.time)
  t.same(agent.recentPartners?.map((r) => r.playerId), [human])
})

test('leaving the world ends its conversation and archives its player', async (t) => {
  const sim = new Sim(openMap(10, 8))
  const [a, b] = twoHumans(sim)
  sim.ok('startConversation', { playerId: a, invitee: b })
  sim.ok('leave', { playerId: b })
  t.equal(sim.world.conversations.length, 0)
  t.same(sim.world.players.map((p) => p.id), [a])
  t.same(sim.steps.flatMap((s) => s.archivedPlayers).map((p) => p.id), [b])
})
