import { test } from 'tap'
import { Sim, openMap } from './helpers.ts'
import type { Agent, AgentOperation } from '../../src/game/types.ts'

function agent (sim: Sim, agentId: string): Agent {
  const a = sim.world.agents.find((x) => x.id === agentId)
  if (!a) throw new Error(`no agent ${agentId}`)
  return a
}

function opsFor (sim: Sim, agentId: string, name?: AgentOperation['name']): AgentOperation[] {
  return sim.operations.filter((o) => o.agentId === agentId && (name === undefined || o.name === name))
}

function createAgent (sim: Sim, index = 0): { agentId: string, playerId: string } {
  return sim.ok('createAgent', { descriptionIndex: index })
}

/** Keeps an agent from starting anything on its own for a while (as if thinking). */
function busy (sim: Sim, agentId: string): void {
  agent(sim, agentId).inProgressOperation = { name: 'doSomething', operationId: 'o:busy', started: sim.time + 10 * 60_000 }
}

function idle (sim: Sim, agentId: string): void {
  delete agent(sim, agentId).inProgressOperation
}

test('an idle agent starts doSomething once and waits for it; dropped after 120 s', async (t) => {
  const sim = new Sim(openMap(10, 10))
  const { agentId, playerId } = createAgent(sim)
  t.match(sim.steps.flatMap((s) => s.agentDescriptions), [{ agentId, identity: 'Ada likes clocks.', plan: 'Talk about clocks.' }])
  t.match(sim.steps.flatMap((s) => s.playerDescriptions), [{ playerId, name: 'Ada', character: 'f1', description: 'Ada likes clocks.' }])
  const ops = opsFor(sim, agentId)
  t.equal(ops.length, 1)
  t.match(ops[0], { name: 'doSomething', agentId, args: { agentId, playerId }, operationId: /^o:\d+$/ })
  t.equal(agent(sim, agentId).inProgressOperation?.operationId, ops[0].operationId)
  sim.advance(119_000)
  t.equal(opsFor(sim, agentId).length, 1, 'no second operation while one is in flight')
  sim.advance(1_100)
  t.equal(opsFor(sim, agentId).length, 2, 'the stuck operation is dropped after 120 s and a new one starts')
  const stale = sim.input('finishDoSomething', { operationId: ops[0].operationId, agentId })
  t.match(stale, { kind: 'error', message: /is not in progress/ })
})

test('doSomething results: activity, then wander', async (t) => {
  const sim = new Sim(openMap(10, 10))
  const { agentId, playerId } = createAgent(sim)
  const op = opsFor(sim, agentId)[0]
  sim.ok('finishDoSomething', { operationId: op.operationId, agentId, activity: { description: 'reading', emoji: '📚', until: sim.time + 60_000 } })
  t.match(sim.player(playerId).activity, { description: 'reading' })
  sim.advance(59_000)
  t.equal(opsFor(sim, agentId).length, 1, 'busy with the activity: no new decision')
  sim.advance(1_200)
  const next = opsFor(sim, agentId)
  t.equal(next.length, 2, 'activity over: decide again')
  sim.place(playerId, 1, 1)
  sim.ok('finishDoSomething', { operationId: next[1].operationId, agentId, destination: { x: 8, y: 8 } })
  t.match(sim.player(playerId).pathfinding, { destination: { x: 8, y: 8 } })
  const before = opsFor(sim, agentId).length
  t.equal(before, 3, 'while walking it checks at once for someone to invite')
  const check = opsFor(sim, agentId)[2]
  t.equal(check.name, 'doSomething')
  sim.ok('finishDoSomething', { operationId: check.operationId, agentId })
  t.equal(agent(sim, agentId).lastInviteAttempt, sim.time, 'an empty answer counts as an invite attempt')
  sim.advance(14_000)
  t.equal(opsFor(sim, agentId).length, before, 'no new check within 15 s while walking')
})

test('invites: accepted from agents with probability 0.8 (seeded), from humans always', async (t) => {
  let accepted = 0
  const runs = 400
  for (let seed = 1; seed <= runs; seed++) {
    const sim = new Sim(openMap(12, 12), seed)
    const a = createAgent(sim, 0)
    const b = createAgent(sim, 1)
    busy(sim, a.agentId)
    idle(sim, b.agentId)
    const id = sim.ok<string>('startConversation', { playerId: a.playerId, invitee: b.playerId })
    const conversation = sim.world.conversations.find((c) => c.id === id)
    if (conversation?.participants[1].status === 'walkingOver') accepted++
  }
  const rate = accepted / runs
  t.ok(rate > 0.74 && rate < 0.86, `acceptance rate ${rate} is about 0.8`)
  t.ok(rate < 1, 'and some invites are rejected')

  for (let seed = 1; seed <= 60; seed++) {
    const sim = new Sim(openMap(12, 12), seed)
    const human = sim.join('Hu', 'tok')
    const b = createAgent(sim, 1)
    idle(sim, b.agentId)
    const id = sim.ok<string>('startConversation', { playerId: human, invitee: b.playerId })
    const status = sim.world.conversations.find((c) => c.id === id)?.participants[1].status
    if (status !== 'walkingOver') {
      t.fail(`seed ${seed}: a human's invite was not accepted (${status})`)
      return
    }
  }
  t.pass('all human invites accepted')
})

test('walking over: midpoint when far, the other tile when close; give up after 60 s', async (t) => {
  const sim = new Sim(openMap(20, 10), 2)
  const human = sim.join('Hu', 'tok')
  const { agentId, playerId } = createAgent(sim)
  sim.place(human, 2, 5)
  sim.place(playerId, 12, 5)
  idle(sim, agentId)
  sim.ok('startConversation', { playerId: human, invitee: playerId })
  sim.advance(16)
  t.same(sim.player(playerId).pathfinding?.destination, { x: 7, y: 5 }, '10 apart: walk to the midpoint')
  sim.place(playerId, 5, 5)
  sim.advance(32)
  t.same(sim.player(playerId).pathfinding?.destination, { x: 2, y: 5 }, '3 apart: walk to the other tile')
  sim.advance(10_000)
  t.equal(sim.world.conversations[0].participants[1].status, 'participating', 'arrived next to the human')

  const sim2 = new Sim(openMap(20, 10), 2)
  const h2 = sim2.join('Hu', 'tok')
  const a2 = createAgent(sim2)
  sim2.place(h2, 1, 1)
  sim2.place(a2.playerId, 18, 8)
  idle(sim2, a2.agentId)
  sim2.ok('startConversation', { playerId: a2.playerId, invitee: h2 })
  sim2.advance(59_000)
  t.equal(sim2.world.conversations.length, 1, 'still waiting for the human to accept at 59 s')
  sim2.advance(1_100)
  t.equal(sim2.world.conversations.length, 0, 'the agent gives up after 60 s')
})

function talkingWithHuman (creatorIsAgent: boolean): { sim: Sim, human: string, agentId: string, playerId: string, id: string } {
  const sim = new Sim(openMap(10, 10), 4)
  const human = sim.join('Hu', 'tok')
  const { agentId, playerId } = createAgent(sim)
  sim.place(human, 3, 3)
  sim.place(playerId, 4, 3)
  idle(sim, agentId)
  const id = creatorIsAgent
    ? sim.ok<string>('startConversation', { playerId, invitee: human })
    : sim.ok<string>('startConversation', { playerId: human, invitee: playerId })
  if (creatorIsAgent) sim.ok('acceptInvite', { playerId: human, conversationId: id })
  else sim.advance(16)
  return { sim, human, agentId, playerId, id }
}

test('awkward silence: the invitee opens only after 60 s; the creator at once', async (t) => {
  const { sim, agentId, id } = talkingWithHuman(false)
  const conversation = sim.world.conversations.find((c) => c.id === id)!
  t.equal(conversation.participants[1].status, 'participating')
  const since = conversation.participants[1].since
  sim.advance(59_000)
  t.equal(opsFor(sim, agentId, 'generateMessage').length, 0, 'silent for 59 s')
  sim.advance(1_100)
  const [op] = opsFor(sim, agentId, 'generateMessage')
  t.match(op, { args: { type: 'start', conversationId: id } })
  t.ok(sim.time - since >= 60_000 && sim.time - since < 60_100)
  t.match(conversation.isTyping, { playerId: op.args.playerId, messageUuid: (op.args as { messageUuid: string }).messageUuid })

  const other = talkingWithHuman(true)
  t.equal(opsFor(other.sim, other.agentId, 'generateMessage').length, 1, 'creator opens right away')
})

test('conversation rhythm: wait for the reply, 2 s between messages, leave after more than 8', async (t) => {
  const { sim, human, agentId, playerId, id } = talkingWithHuman(true)
  const conversation = (): typeof sim.world.conversations[number] | undefined => sim.world.conversations.find((c) => c.id === id)
  for (let round = 0; round < 12; round++) {
    const ops = opsFor(sim, agentId, 'generateMessage')
    const op = ops[ops.length - 1]
    const type = (op.args as { type: string }).type
    sim.ok('agentFinishSendingMessage', { agentId, conversationId: id, timestamp: sim.time, operationId: op.operationId, leaveConversation: type === 'leave' })
    if (type === 'leave') break
    t.equal(conversation()!.lastMessage?.author, playerId)
    const count = opsFor(sim, agentId, 'generateMessage').length
    if (conversation()!.numMessages > 8) {
      t.equal(conversation()!.numMessages, 9, 'more than 8 messages')
      t.match(opsFor(sim, agentId, 'generateMessage')[count - 1], { args: { type: 'leave' } }, 'says goodbye at once')
      continue
    }
    if (round === 0) {
      sim.advance(59_000)
      t.equal(opsFor(sim, agentId, 'generateMessage').length, count, 'waits up to 60 s for a reply')
    }
    sim.ok('finishSendingMessage', { playerId: human, conversationId: id, timestamp: sim.time })
    sim.advance(1_900)
    t.equal(opsFor(sim, agentId, 'generateMessage').length, count, 'no reply within 2 s of the last message')
    sim.advance(200)
    t.equal(opsFor(sim, agentId, 'generateMessage').length, count + 1, 'replies after 2 s')
  }
  t.equal(sim.world.conversations.length, 0, 'leaving ends the conversation')
  t.equal(agent(sim, agentId).toRemember, id, 'to be remembered')
  sim.advance(16)
  const remember = opsFor(sim, agentId, 'rememberConversation')
  t.equal(remember.length, 1)
  t.match(remember[0].args, { conversationId: id })
  sim.ok('finishRememberConversation', { agentId, operationId: remember[0].operationId })
  t.notOk(agent(sim, agentId).toRemember)
})

test('silence after the agent spoke: it speaks again after 60 s', async (t) => {
  const { sim, agentId, id } = talkingWithHuman(true)
  const [op] = opsFor(sim, agentId, 'generateMessage')
  sim.ok('agentFinishSendingMessage', { agentId, conversationId: id, timestamp: sim.time, operationId: op.operationId, leaveConversation: false })
  sim.advance(59_900)
  t.equal(opsFor(sim, agentId, 'generateMessage').length, 1)
  sim.advance(200)
  t.match(opsFor(sim, agentId, 'generateMessage')[1], { args: { type: 'continue' } })
})

test('remembering does not starve behind doSomething (fix)', async (t) => {
  const sim = new Sim(openMap(30, 30), 9)
  const { agentId } = createAgent(sim)
  idle(sim, agentId)
  agent(sim, agentId).toRemember = 'c:123'
  sim.advance(16)
  const latest = opsFor(sim, agentId)
  t.equal(latest[latest.length - 1].name, 'rememberConversation', 'an idle agent remembers before deciding what to do next')
  sim.ok('finishRememberConversation', { agentId, operationId: latest[latest.length - 1].operationId })
  t.equal(opsFor(sim, agentId).at(-1)?.name, 'doSomething', 'then goes back to doing things')
})

test('an activity is cut short by an invitation', async (t) => {
  const sim = new Sim(openMap(10, 10), 3)
  const human = sim.join('Hu', 'tok')
  const { agentId, playerId } = createAgent(sim)
  const [op] = opsFor(sim, agentId)
  sim.ok('finishDoSomething', { operationId: op.operationId, agentId, activity: { description: 'gardening', until: sim.time + 60_000 } })
  sim.ok('startConversation', { playerId: human, invitee: playerId })
  t.ok(sim.player(playerId).activity!.until <= sim.time, 'activity ended')
})
