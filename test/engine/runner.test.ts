import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { allInputs, emptyWorld, quietLog, readWorld, waitFor } from '../helpers/engine.ts'
import { submitInput } from '../../src/engine/inputs.ts'
import { WorldRunner } from '../../src/engine/runner.ts'
import { createWorldRecords, heartbeat, kickWorld, markInactive, resumeWorld, stopWorld, IDLE_WORLD_MS } from '../../src/engine/worlds.ts'
import type { EngineDoc, InputDoc, WorldStatusDoc } from '../../src/engine/types.ts'
import type { Store } from '../../src/store/types.ts'
import { createRng } from '../../src/game/index.ts'
import type { Agent, AgentOperation, Conversation, Player, WorldState } from '../../src/game/index.ts'
import { storedState, worldFromStored, type StoredWorldDoc } from '../../src/engine/worldDoc.ts'

function runner (store: Store, worldId: string, instanceId = 'test-instance', stepMs = 50): WorldRunner {
  return new WorldRunner({ store, worldId, instanceId, now: Date.now, log: quietLog, stepMs, leaseMs: 2000 })
}

test('the stored world packs routes and in-flight markers, and loads both the packed and the older object forms', async (t) => {
  const path = [{ position: { x: 3, y: 4 }, facing: { dx: 1, dy: 0 }, t: 1_700_000_000_500 }, { position: { x: 5, y: 4 }, facing: { dx: 0, dy: 1 }, t: 1_700_000_002_500 }]
  const player: Player = { id: 'p:1', lastInput: 1, position: { x: 3, y: 4 }, facing: { dx: 1, dy: 0 }, speed: 0.75, pathfinding: { destination: { x: 5, y: 6 }, started: 1_700_000_000_000, state: { kind: 'moving', path } } }
  const agents: Agent[] = [
    { id: 'a:2', playerId: 'p:1', inProgressOperation: { name: 'doSomething', operationId: 'o:3', started: 10 } },
    { id: 'a:4', playerId: 'p:5', inProgressOperation: { name: 'rememberConversation', operationId: 'o:6', started: 11, conversationId: 'c:9' } },
    { id: 'a:7', playerId: 'p:8', inProgressOperation: { name: 'generateMessage', operationId: 'o:10', started: 12, messageType: 'leave' } }
  ]
  const conversation: Conversation = { id: 'c:9', creator: 'p:1', created: 5, numMessages: 2, isTyping: { playerId: 'p:1', messageUuid: 'u-1', since: 7 }, lastMessage: { author: 'p:5', timestamp: 6 }, participants: [{ playerId: 'p:1', status: 'participating', since: 5 }, { playerId: 'p:5', status: 'participating', since: 5 }] }
  const world: WorldState = { nextId: 11, players: [player], agents, conversations: [conversation], rngState: createRng('x') }
  const stored = storedState(world) as { players: Record<string, Player>, agents: Record<string, Agent> }
  t.same((stored.players['p:1']!.pathfinding!.state as unknown as { path: unknown }).path, [[3, 4, 1, 0, 500], [5, 4, 0, 1, 2500]], 'corners packed, times from the route\'s start')
  t.same(stored.agents['a:2']!.inProgressOperation, ['doSomething', 'o:3', 10])
  t.same(stored.agents['a:7']!.inProgressOperation, ['generateMessage', 'o:10', 12, null, 'leave'])
  const doc = { _id: 'w', _creationTime: 0, engineId: 'e', cast: [], step: { number: 0, generation: 0, currentTime: 0, lastStepTs: 0, processedInputNumber: 0 } }
  const loaded = worldFromStored({ ...doc, ...stored } as unknown as StoredWorldDoc)
  t.same(loaded.players, world.players, 'packed routes load as the game\'s corners')
  t.same(loaded.agents, world.agents, 'packed markers load as the game\'s markers')
  t.same((stored as unknown as { conversations: Record<string, unknown> }).conversations['c:9'], { ...conversation, isTyping: ['p:1', 'u-1', 7], lastMessage: ['p:5', 6] })
  t.same(loaded.conversations, [conversation], 'packed isTyping and lastMessage load as the game\'s')
  const legacy = worldFromStored({ ...doc, nextId: 11, rngState: world.rngState, players: { 'p:1': player }, agents: { 'a:2': agents[0]! }, conversations: { 'c:9': conversation } } as unknown as StoredWorldDoc)
  t.same(legacy.players, [player], 'a world stored with object routes still loads')
  t.same(legacy.agents, [agents[0]], 'and with object markers')
  t.same(legacy.conversations, [conversation], 'and with object isTyping and lastMessage')
})

for (const target of storeTargets()) {
  test(`engine on the ${target.name} store`, async (t) => {
    t.test('a runner told where the engine record\'s inputs stood reads its first inputs with the world: each applied once', async (t) => {
      const { store } = await target.fresh(t)
      const status = await emptyWorld(store)
      for (let i = 0; i < 3; i++) await submitInput(store, status.engineId, 'join', { name: `P${i}`, character: 'f1', description: 'test' })
      const first = runner(store, status.worldId)
      first.start().catch(() => {})
      await waitFor('the first three joins processed', async () => (await readWorld(store, status.worldId)).step.processedInputNumber >= 3 || null)
      await first.stop()
      for (let i = 3; i < 6; i++) await submitInput(store, status.engineId, 'join', { name: `P${i}`, character: 'f1', description: 'test' })
      // The hint trails the world (0 against 3 processed), as the engine record's clock may; one that leads it
      // (99) is not believed: the runner reads from the world's own count.
      for (const [hint, joins] of [[0, 6], [99, 9]] as const) {
        if (hint === 99) for (let i = 6; i < 9; i++) await submitInput(store, status.engineId, 'join', { name: `P${i}`, character: 'f1', description: 'test' })
        const next = new WorldRunner({ store, worldId: status.worldId, engineId: status.engineId, inputsAfter: hint, instanceId: `hinted-${hint}`, now: Date.now, log: quietLog, stepMs: 50, leaseMs: 2000 })
        next.start().catch(() => {})
        const world = await waitFor(`every join applied (hint ${hint})`, async () => {
          const w = await readWorld(store, status.worldId)
          return w.step.processedInputNumber === joins && w.outbox === undefined ? w : null
        })
        await next.stop()
        t.equal(world.players.length, joins, `hint ${hint}: ${joins} players, one per join`)
        t.same((await allInputs(store, status.engineId)).map((i) => (i.returnValue as { value?: unknown })?.value), Array.from({ length: joins }, (_, n) => `p:${n}`), 'each join answered once, in order')
      }
    })

    t.test('inputs are applied once and in order; a bad input becomes an error return value', async (t) => {
      const { store } = await target.fresh(t)
      const status = await emptyWorld(store)
      for (let i = 0; i < 5; i++) await submitInput(store, status.engineId, 'join', { name: `P${i}`, character: 'f1', description: 'test' })
      await submitInput(store, status.engineId, 'moveTo', { playerId: 'p:0', destination: { x: 'left' } })
      await submitInput(store, status.engineId, 'noSuchInput', {})
      const r = runner(store, status.worldId)
      t.teardown(async () => { await r.stop() })
      r.start().catch(() => {})
      const inputs = await waitFor('all inputs processed', async () => {
        const all = await allInputs(store, status.engineId)
        const settled = (await readWorld(store, status.worldId)).outbox === undefined
        return settled && all.every((i) => i.returnValue !== undefined) ? all : null
      })
      t.same(inputs.slice(0, 5).map((i) => i.returnValue), [0, 1, 2, 3, 4].map((n) => ({ kind: 'ok', value: `p:${n}` })),
        'joins applied in number order (ids follow input numbers)')
      t.match(inputs[5]!.returnValue, { kind: 'error', message: /moveTo/ })
      t.match(inputs[6]!.returnValue, { kind: 'error', message: /noSuchInput/ })
      const world = await readWorld(store, status.worldId)
      t.equal(world.players.length, 5, 'each join applied exactly once')
      t.equal(world.step.processedInputNumber, 7)
      t.equal(world.outbox, undefined, 'the outbox is cleared after it is applied')
      t.equal(await store.collection('playerDescriptions').count({ worldId: status.worldId }), 5)
      const leave = await submitInput(store, status.engineId, 'leave', { playerId: 'p:1' })
      await waitFor('leave archived', async () => await store.collection('archivedPlayers').count({ worldId: status.worldId }) === 1)
      const answered = await waitFor('leave answered', async () => (await store.collection<InputDoc>('inputs').findOne({ _id: leave._id }))?.returnValue)
      t.same(answered, { kind: 'ok', value: null }, 'a null return value reaches its input too')
      t.equal((await readWorld(store, status.worldId)).players.length, 4)
    })

    t.test('each step reports the inputs still queued after it, with and without a full step\'s worth', async (t) => {
      const { store } = await target.fresh(t)
      const status = await emptyWorld(store)
      // Received a second ago: a step applies an input once a tick has reached its time, and the runner's first
      // step may come within a tick of the last submit.
      for (let i = 0; i < 5; i++) await submitInput(store, status.engineId, 'join', { name: `Q${i}`, character: 'f1', description: 'test' }, { now: () => Date.now() - 1000 })
      const reports: Array<{ inputs: number, queued: number }> = []
      const onStep = (report: { inputs: number, queued: number }): void => { reports.push({ inputs: report.inputs, queued: report.queued }) }
      const r = new WorldRunner({ store, worldId: status.worldId, instanceId: 'test-instance', now: Date.now, log: quietLog, stepMs: 50, leaseMs: 2000, maxInputsPerStep: 2, onStep })
      t.teardown(async () => { await r.stop() })
      r.start().catch(() => {})
      await waitFor('all five processed', async () => reports.reduce((n, x) => n + x.inputs, 0) === 5)
      const withInputs = reports.filter((x) => x.inputs > 0)
      t.same(withInputs, [{ inputs: 2, queued: 3 }, { inputs: 2, queued: 1 }, { inputs: 1, queued: 0 }], 'two a step, the rest counted as queued')
      await waitFor('an empty step', async () => reports.length > withInputs.length && reports[reports.length - 1]!.inputs === 0)
      t.equal(reports[reports.length - 1]!.queued, 0, 'nothing queued once all are in')
    })

    t.test('a world listed by a stopping instance is taken over before its release lands, and only from that instance', async (t) => {
      const { store } = await target.fresh(t)
      const status = await emptyWorld(store)
      const a = runner(store, status.worldId, 'instance-a')
      const exitA = a.start()
      await waitFor('runner a stepping', async () => (await readWorld(store, status.worldId)).step.number > 2)
      // a stops without giving its lease up (its instance releases all in one write, which has not landed).
      await a.stop({ release: false })
      t.equal(await exitA, 'stopped')
      const held = await store.collection<EngineDoc>('engines').findOne({ _id: status.engineId })
      t.equal(held!.runner?.instanceId, 'instance-a', 'the lease is still a\'s')
      const take = (instanceId: string, takeFrom: string): WorldRunner => new WorldRunner({
        store, worldId: status.worldId, engineId: status.engineId, takeFrom, instanceId, now: Date.now, log: quietLog, stepMs: 50, leaseMs: 2000
      })
      t.equal(await take('instance-b', 'instance-x').start(), 'not-acquired', 'listed by another instance: a\'s lease holds')
      const c = take('instance-c', 'instance-a')
      t.teardown(async () => { await c.stop() })
      c.start().catch(() => {})
      const stepping = await waitFor('c stepping', async () => {
        const w = await readWorld(store, status.worldId)
        return w.step.generation === held!.generationNumber + 1 ? w : null
      })
      t.equal(stepping.step.generation, held!.generationNumber + 1, 'a new generation fences off whatever a still commits')
      t.equal((await store.collection<EngineDoc>('engines').findOne({ _id: status.engineId }))!.runner?.instanceId, 'instance-c')
    })

    t.test('one runner per world: a second cannot take it; a kick fences the first off', async (t) => {
      const { store } = await target.fresh(t)
      const status = await emptyWorld(store)
      const a = runner(store, status.worldId, 'instance-a')
      const b = runner(store, status.worldId, 'instance-b')
      t.teardown(async () => { await a.stop(); await b.stop() })
      const exitA = a.start()
      await waitFor('runner a stepping', async () => (await readWorld(store, status.worldId)).step.number > 2)
      t.equal(await b.start(), 'not-acquired', 'the lease holder keeps the world')
      const stepBefore = (await readWorld(store, status.worldId)).step.number
      await kickWorld(store, status.worldId)
      t.equal(await exitA, 'lost-lease', 'the kicked runner stops quietly')
      const c = runner(store, status.worldId, 'instance-c')
      t.teardown(async () => { await c.stop() })
      c.start().catch(() => {})
      const after = await waitFor('runner c stepping', async () => {
        const w = await readWorld(store, status.worldId)
        return w.step.number > stepBefore + 2 ? w : null
      })
      t.equal(after.step.generation, c.generation, 'commits now carry the new generation')
      t.ok(c.generation > a.generation)
    })

    t.test('a stale runner cannot commit over a newer generation', async (t) => {
      const { store } = await target.fresh(t)
      const status = await emptyWorld(store)
      const a = runner(store, status.worldId, 'instance-a', 200)
      t.teardown(async () => { await a.stop() })
      a.start().catch(() => {})
      await waitFor('a stepping', async () => (await readWorld(store, status.worldId)).step.number > 0)
      // Steal the world behind a's back: new generation and lease, as a takeover after a network partition would.
      const engines = store.collection<EngineDoc>('engines')
      await engines.updateOne({ _id: status.engineId }, { $inc: { generationNumber: 5 }, $set: { runner: { instanceId: 'thief', until: Date.now() + 60_000 } } })
      const world = await readWorld(store, status.worldId)
      await store.collection('worlds').updateOne({ _id: status.worldId }, { $set: { 'step.generation': world.step.generation + 5 } })
      t.equal(await a.start(), 'lost-lease')
      const final = await readWorld(store, status.worldId)
      t.equal(final.step.generation, world.step.generation + 5, 'nothing from the stale generation landed')
    })

    t.test('stop and resume skip the stopped gap; time never moves backwards', async (t) => {
      const { store } = await target.fresh(t)
      const status = await emptyWorld(store)
      const r1 = runner(store, status.worldId)
      const exit = r1.start()
      await waitFor('stepping', async () => (await readWorld(store, status.worldId)).step.number > 2)
      await stopWorld(store, status.worldId, Date.now())
      t.equal(await exit, 'lost-lease', 'the runner notices the stop at its next step')
      const stopped = await readWorld(store, status.worldId)
      await new Promise((resolve) => setTimeout(resolve, 600))
      await resumeWorld(store, status.worldId, Date.now())
      await store.collection('engines').updateOne({ _id: status.engineId }, { $set: { runner: null } })
      const r2 = runner(store, status.worldId)
      t.teardown(async () => { await r2.stop() })
      r2.start().catch(() => {})
      const resumed = await waitFor('stepping again', async () => {
        const w = await readWorld(store, status.worldId)
        return w.step.number > stopped.step.number ? w : null
      })
      t.ok(resumed.step.currentTime >= stopped.step.currentTime, 'time never moves backwards')
      t.ok(resumed.step.currentTime - resumed.step.lastStepTs >= 500, 'the first step after resume jumps over the gap')
      t.ok(resumed.step.currentTime - Date.now() < 100)
    })

    t.test('a runner that takes a world over restarts the operations in flight from the agents\' markers', async (t) => {
      const { store } = await target.fresh(t)
      const status = await createWorldRecords(store, { now: Date.now(), agents: 4, seed: 7 })
      const first: AgentOperation[] = []
      // The first runner starts operations and "crashes" before any of them reports back.
      const r1 = new WorldRunner({ store, worldId: status.worldId, instanceId: 'a', now: Date.now, log: quietLog, stepMs: 50, leaseMs: 2000, startOperation: (op) => { first.push(op) } })
      r1.start().catch(() => {})
      await waitFor('every agent with an operation in flight', async () => {
        const w = await readWorld(store, status.worldId)
        return w.agents.length === 4 && w.agents.every((a) => a.inProgressOperation !== undefined) && w.outbox === undefined ? w : null
      })
      await r1.stop()
      const stored = await readWorld(store, status.worldId)
      const inFlight = stored.agents.map((a) => a.inProgressOperation!.operationId).sort()
      // One of them had reported back just before the crash: its result waits in the queue and it is not run twice.
      const done = first.find((op) => op.operationId === inFlight[0])!
      await submitInput(store, status.engineId, 'finishDoSomething', { operationId: done.operationId, agentId: done.agentId })
      await store.collection('engines').updateOne({ _id: status.engineId }, { $set: { runner: null } })
      const restarted: AgentOperation[] = []
      const r2 = new WorldRunner({ store, worldId: status.worldId, instanceId: 'b', now: Date.now, log: quietLog, stepMs: 60_000, leaseMs: 2000, startOperation: (op) => { restarted.push(op) } })
      t.teardown(async () => { await r2.stop() })
      r2.start().catch(() => {})
      await waitFor('the takeover', async () => restarted.length >= inFlight.length - 1)
      // The restarts come before the first step (which starts a new operation for the agent that had reported back).
      const restartedFirst = restarted.slice(0, inFlight.length - 1)
      t.same(restartedFirst.map((op) => op.operationId).sort(), inFlight.slice(1), 'every other operation in flight restarted at once, not after the 120 s timeout')
      for (const op of restartedFirst) t.same(op, first.find((f) => f.operationId === op.operationId), `${op.operationId} restarted with its original arguments`)
    })

    t.test('a step the previous holder commits after the takeover is finished by the new runner: its outbox, its operations', async (t) => {
      const { store } = await target.fresh(t)
      const status = await createWorldRecords(store, { now: Date.now(), agents: 4, seed: 7 })
      const r1 = new WorldRunner({ store, worldId: status.worldId, instanceId: 'a', now: Date.now, log: quietLog, stepMs: 50, leaseMs: 2000, startOperation: () => {} })
      r1.start().catch(() => {})
      await waitFor('every agent with an operation in flight', async () => {
        const w = await readWorld(store, status.worldId)
        return w.agents.length === 4 && w.agents.every((a) => a.inProgressOperation !== undefined) && w.outbox === undefined ? w : null
      })
      // r1's instance stops: its lease goes at once, while (below) its last step's commit is still on its way.
      await r1.stop({ release: false })
      await store.collection('engines').updateOne({ _id: status.engineId }, { $set: { runner: null } })
      const input = await submitInput(store, status.engineId, 'join', { name: 'Late', character: 'f1', description: 'test' })
      const started: AgentOperation[] = []
      let late: Promise<void> | null = null
      // r2 has loaded the world and read the input; before its first step, r1's late commit lands: the step after
      // the one r2 loaded, with an outbox (the input's answer) and a new operation in an agent's marker.
      const lateCommit = async (): Promise<void> => {
        const w = await readWorld(store, status.worldId)
        const agent = w.agents[0]!
        await store.collection('worlds').updateOne({ _id: status.worldId, 'step.number': w.step.number }, {
          $set: {
            step: { number: w.step.number + 1, generation: w.step.generation, currentTime: w.step.currentTime + 10, lastStepTs: w.step.currentTime, processedInputNumber: input.number },
            outbox: { step: w.step.number + 1, generation: w.step.generation, results: [{ number: input.number, returnValue: { kind: 'ok', value: 'answered by the late step' } }], okNull: [], archivedPlayers: [], archivedAgents: [], archivedConversations: [], participatedTogether: [], playerDescriptions: [], agentDescriptions: [] },
            [`agents.${agent.id}.inProgressOperation`]: ['doSomething', 'o:late', Date.now()]
          }
        })
      }
      const r2 = new WorldRunner({
        store,
        worldId: status.worldId,
        instanceId: 'b',
        now: Date.now,
        log: quietLog,
        stepMs: 50,
        leaseMs: 2000,
        startOperation: (op) => { started.push(op) },
        sleep: async (ms, signal) => {
          late ??= lateCommit()
          await late
          await new Promise<void>((resolve) => { const timer = setTimeout(resolve, ms); signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true }) })
        }
      })
      t.teardown(async () => { await r2.stop() })
      r2.start().catch(() => {})
      const answered = await waitFor('the late step\'s input answered', async () => {
        const [doc] = await store.collection<InputDoc>('inputs').find({ engineId: status.engineId, number: input.number })
        return doc?.returnValue !== undefined ? doc : null
      })
      t.same(answered.returnValue, { kind: 'ok', value: 'answered by the late step' }, 'the new runner applied the late step\'s outbox, not a step of its own')
      await waitFor('the late step\'s operation started', async () => started.some((op) => op.operationId === 'o:late'))
      const ids = started.map((op) => op.operationId)
      t.equal(new Set(ids).size, ids.length, 'no operation started twice')
      const world = await waitFor('r2 stepping past the late step', async () => {
        const w = await readWorld(store, status.worldId)
        return w.step.generation === r2.generation && w.outbox === undefined ? w : null
      })
      t.equal(world.players.length, 4, 'the late step\'s input (a join) is not applied again by the new runner')
    })

    t.test('the world\'s record of its humans follows joins and leaves, and is written when a runner starts', async (t) => {
      const { store } = await target.fresh(t)
      const status = await emptyWorld(store)
      const humansOf = async (): Promise<WorldStatusDoc['humans']> => (await store.collection<WorldStatusDoc>('worldStatus').findOne({ worldId: status.worldId }))!.humans
      const r = runner(store, status.worldId)
      t.teardown(async () => { await r.stop() })
      r.start().catch(() => {})
      await waitFor('the record written at start', async () => (await humansOf()) !== undefined)
      t.same(await humansOf(), [], 'a world without humans records none')
      const join = await submitInput(store, status.engineId, 'join', { name: 'Ann', character: 'f1', description: 'test', tokenIdentifier: 'tok-ann' })
      await submitInput(store, status.engineId, 'join', { name: 'Bot', character: 'f2', description: 'test' })
      const answered = await waitFor('join answered', async () => (await store.collection<InputDoc>('inputs').findOne({ _id: join._id }))?.returnValue)
      t.same(await humansOf(), [{ human: 'tok-ann', playerId: (answered as { value: string }).value }], 'recorded before the join is answered; a player without a token is not a human')
      await submitInput(store, status.engineId, 'leave', { playerId: (answered as { value: string }).value })
      await waitFor('the human gone from the record', async () => (await humansOf())?.length === 0)
      await r.stop()
      await store.collection('worldStatus').updateOne({ worldId: status.worldId }, { $unset: { humans: 1 } })
      await store.collection('engines').updateOne({ _id: status.engineId }, { $set: { runner: null } })
      const r2 = runner(store, status.worldId, 'instance-2')
      t.teardown(async () => { await r2.stop() })
      r2.start().catch(() => {})
      await waitFor('a world stored without the record gets it from its next runner', async () => (await humansOf()) !== undefined)
    })

    t.test('an idle world becomes inactive; a heartbeat wakes it, but never a world stopped by an operator', async (t) => {
      const { store } = await target.fresh(t)
      const status = await emptyWorld(store, Date.now())
      const statusOf = async (): Promise<WorldStatusDoc> => (await store.collection<WorldStatusDoc>('worldStatus').findOne({ worldId: status.worldId }))!
      await markInactive(store, status, Date.now())
      t.equal((await statusOf()).status, 'running', 'a recently viewed world stays running')
      await markInactive(store, status, Date.now() + IDLE_WORLD_MS + 1000)
      t.equal((await statusOf()).status, 'inactive')
      t.equal((await store.collection<EngineDoc>('engines').findOne({ _id: status.engineId }))!.running, false)
      await heartbeat(store, status.worldId, Date.now())
      t.equal((await statusOf()).status, 'running', 'a heartbeat wakes an inactive world')
      t.equal((await store.collection<EngineDoc>('engines').findOne({ _id: status.engineId }))!.running, true)
      await stopWorld(store, status.worldId, Date.now())
      await heartbeat(store, status.worldId, Date.now())
      t.equal((await statusOf()).status, 'stoppedByDeveloper', 'a heartbeat never wakes an operator-stopped world')
    })
  })
}
