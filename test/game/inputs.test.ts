import { test } from 'tap'
import { Sim, openMap, mapFromRows } from './helpers.ts'

test('arguments are validated with clear messages', async (t) => {
  const sim = new Sim(openMap(8, 8))
  const p = sim.join('Ann', 'tok-a')
  const cases: Array<[string, unknown, RegExp]> = [
    ['teleport', {}, /unknown input "teleport"/],
    ['join', null, /join: arguments must be an object/],
    ['join', [], /join: arguments must be an object/],
    ['join', { character: 'f1', description: 'x' }, /join: "name" must be a non-empty string/],
    ['join', { name: 'A', character: 'f9', description: 'x' }, /join: "character" must be one of f1, f2/],
    ['join', { name: 'A', character: 'f1' }, /join: "description" must be a non-empty string/],
    ['join', { name: 'A', character: 'f1', description: 'x', tokenIdentifier: 5 }, /"tokenIdentifier" must be a non-empty string/],
    ['join', { name: 'A', character: 'f1', description: 'x', tokenIdentifier: 'tok-a' }, /already in this world/],
    ['leave', { playerId: 'p:77' }, /leave: unknown player p:77/],
    ['moveTo', { playerId: p }, /"destination" is required/],
    ['moveTo', { playerId: p, destination: { x: 1.5, y: 2 } }, /integer x and y/],
    ['moveTo', { playerId: p, destination: { x: 8, y: 2 } }, /outside the 8x8 map/],
    ['moveTo', { playerId: p, destination: 'home' }, /must be an object/],
    ['startConversation', { playerId: p, invitee: p }, /cannot invite itself/],
    ['startConversation', { playerId: p }, /"invitee" must be a non-empty string/],
    ['startTyping', { playerId: p, conversationId: 'c:404', messageUuid: 'u' }, /unknown conversation c:404/],
    ['finishSendingMessage', { playerId: p, conversationId: 'c:1', timestamp: 'now' }, /unknown conversation|"timestamp" must be a finite number/],
    ['createAgent', { descriptionIndex: 3 }, /"descriptionIndex" must be an integer from 0 to 2/],
    ['createAgent', { descriptionIndex: '0' }, /"descriptionIndex" must be an integer/],
    ['finishDoSomething', { agentId: 'a:1' }, /"operationId" must be a non-empty string/],
    ['finishDoSomething', { agentId: 'a:1', operationId: 'o:2', activity: { description: 'x' } }, /"until" must be a finite number/],
    ['finishRememberConversation', { agentId: 'a:404', operationId: 'o:1' }, /unknown agent a:404/],
    ['agentFinishSendingMessage', { agentId: 'a:1', conversationId: 'c:2', timestamp: 1, operationId: 'o:3' }, /"leaveConversation" must be true or false/]
  ]
  for (const [name, args, message] of cases) {
    const r = sim.input(name, args)
    t.equal(r.kind, 'error', `${name} ${JSON.stringify(args)} is refused`)
    if (r.kind === 'error') t.match(r.message, message)
  }
  t.equal(sim.world.players.length, 1, 'no bad input changed the world')
})

test('at most 8 human players; debug players do not count', async (t) => {
  const sim = new Sim(openMap(20, 20))
  for (let i = 0; i < 8; i++) sim.join(`H${i}`, `tok-${i}`)
  t.match(sim.input('join', { name: 'N', character: 'f2', description: 'd', tokenIdentifier: 'tok-8' }), {
    kind: 'error', message: /at most 8 human players/
  })
  sim.join('Debug')
  t.equal(sim.world.players.length, 9)
  const joined = sim.steps.flatMap((s) => s.playerDescriptions)
  t.match(joined[0], { name: 'H0', character: 'f1', description: 'H0 is a test player' })
})

test('join gives up with a clear error when no free tile turns up in 10 tries', async (t) => {
  const sim = new Sim(mapFromRows(['###', '#.#', '###']))
  t.match(sim.input('join', { name: 'A', character: 'f1', description: 'x' }), {
    kind: 'error', message: 'join: found no free tile to spawn on after 10 tries'
  })
})

test('spawn is on a free tile with a random axis facing', async (t) => {
  const sim = new Sim(mapFromRows(['#.#', '###', '...']), 7)
  for (let i = 0; i < 3; i++) sim.input('join', { name: `A${i}`, character: 'f1', description: 'x' })
  for (const p of sim.world.players) {
    t.not(p.position.y, 1, 'never on the wall row')
    t.equal(Math.abs(p.facing.dx) + Math.abs(p.facing.dy), 1)
  }
})

test('idle humans are removed after 5 min without any input (not just since join)', async (t) => {
  const sim = new Sim(openMap(10, 10))
  const a = sim.join('Ann', 'tok-a')
  const b = sim.join('Ben', 'tok-b')
  const bot = sim.join('Bot')
  let conversationId = ''
  // One input a minute, of every kind, some of them failing: each one counts as activity.
  const inputs: Array<() => void> = [
    () => sim.ok('moveTo', { playerId: a, destination: { x: 5, y: 5 } }),
    () => { conversationId = sim.ok<string>('startConversation', { playerId: a, invitee: bot }) },
    () => t.equal(sim.input('startTyping', { playerId: a, conversationId, messageUuid: 'u' }).kind, 'error'),
    () => sim.ok('leaveConversation', { playerId: a, conversationId }),
    () => t.equal(sim.input('acceptInvite', { playerId: a, conversationId }).kind, 'error'),
    () => sim.ok('moveTo', { playerId: a, destination: null })
  ]
  for (const send of inputs) {
    sim.advance(60_000)
    send()
  }
  t.ok(sim.world.players.some((p) => p.id === a), 'active human stays after 6 min')
  t.notOk(sim.world.players.some((p) => p.id === b), 'silent human removed')
  t.ok(sim.world.players.some((p) => p.id === bot), 'players without a token are never idled out')
  sim.advance(4 * 60_000)
  t.ok(sim.world.players.some((p) => p.id === a), '4 min after its last input: still here')
  sim.advance(61_000 + 32)
  t.notOk(sim.world.players.some((p) => p.id === a), 'gone 5 min after its last input')
  t.same(sim.steps.flatMap((s) => s.archivedPlayers).map((p) => p.id), [b, a])
})

test('a failing input never throws out of simulateStep, and later inputs still run', async (t) => {
  const sim = new Sim(openMap(8, 8))
  const n1 = sim.send('join', undefined)
  const n2 = sim.send('join', { name: 'Ok', character: 'f3', description: 'fine' })
  sim.advance(16)
  t.equal(sim.results.get(n1)?.kind, 'error')
  t.same(sim.results.get(n2), { kind: 'ok', value: 'p:0' })
})
