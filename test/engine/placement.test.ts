import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { emptyWorld, leasesByInstance, quietLog, waitFor } from '../helpers/engine.ts'
import { EngineSupervisor } from '../../src/engine/supervisor.ts'
import type { EngineDoc } from '../../src/engine/types.ts'
import type { Store } from '../../src/store/types.ts'

function supervisor (store: Store, instanceId: string, maxWorlds: number, checkEveryMs = 200): EngineSupervisor {
  return new EngineSupervisor({
    store,
    instanceId,
    maxWorlds,
    log: quietLog,
    createDefaultWorld: false,
    checkEveryMs,
    runner: { stepMs: 100, leaseMs: 2000 }
  })
}

async function heldBy (store: Store): Promise<Map<string, number>> {
  return new Map([...(await leasesByInstance(store))].map(([id, engines]) => [id, engines.length]))
}

for (const target of storeTargets()) {
  test(`placement on the ${target.name} store`, async (t) => {
    t.test('an instance runs at most ENGINE_MAX_WORLDS; a clean stop releases its leases and another takes over at once', async (t) => {
      const { store } = await target.fresh(t)
      for (let i = 0; i < 5; i++) await emptyWorld(store)
      const a = supervisor(store, 'instance-a', 3)
      t.teardown(async () => { await a.stop() })
      await a.start()
      const first = await waitFor('a holds its cap', async () => {
        const held = await heldBy(store)
        return held.get('instance-a') === 3 ? held : null
      })
      t.equal(first.get('instance-a'), 3, 'no more than maxWorlds claimed while 5 are claimable')
      const b = supervisor(store, 'instance-b', 10)
      t.teardown(async () => { await b.stop() })
      await b.start()
      await waitFor('b takes the unclaimed two', async () => (await heldBy(store)).get('instance-b') === 2)
      t.equal((await heldBy(store)).get('instance-a'), 3, 'the lease holder keeps its worlds')
      await a.stop()
      const released = await store.collection<EngineDoc>('engines').find({ running: true })
      t.notOk(released.some((e) => e.runner?.instanceId === 'instance-a'), 'a stopped instance leaves no lease behind')
      const started = Date.now()
      await waitFor('b takes over all five', async () => (await heldBy(store)).get('instance-b') === 5, 10_000)
      const handoffMs = Date.now() - started
      t.ok(handoffMs < 2000, `handed off in ${handoffMs} ms (< 2 s, lease was 2 s but released at once)`)
    })

    t.test('instances started together, and instances that join later, end within a fair share + 1', async (t) => {
      const { store } = await target.fresh(t)
      for (let i = 0; i < 12; i++) await emptyWorld(store)
      const first = supervisor(store, 'instance-a', 100)
      t.teardown(async () => { await first.stop() })
      await first.start()
      await waitFor('a alone takes all 12', async () => (await heldBy(store)).get('instance-a') === 12)
      // Two more join: a hands off its excess, newest claims first, and keeps its fair share.
      const joined = [supervisor(store, 'instance-b', 100), supervisor(store, 'instance-c', 100)]
      for (const s of joined) t.teardown(async () => { await s.stop() })
      await Promise.all(joined.map(async (s) => { await s.start() }))
      const balanced = await waitFor('the 12 spread over three instances within 4 + 1 each', async () => {
        const held = await heldBy(store)
        const counts = ['instance-a', 'instance-b', 'instance-c'].map((id) => held.get(id) ?? 0)
        return counts.reduce((a, b) => a + b, 0) === 12 && counts.every((n) => n >= 3 && n <= 5) ? counts : null
      }, 15_000)
      t.ok(balanced.every((n) => n <= 5), `held ${balanced.join(', ')}: none above 4 + 1`)
      // The heartbeats name the live instances; a stopped one removes its own at once.
      const beats = await store.collection('instances').find({})
      t.same(beats.map((b) => b._id).sort(), ['instance-a', 'instance-b', 'instance-c'])
      await joined[1]!.stop()
      t.same((await store.collection('instances').find({})).map((b) => b._id).sort(), ['instance-a', 'instance-b'], 'a stopped instance\'s heartbeat is gone')
      const after = await waitFor('the survivors take the stopped one\'s worlds, 6 + 1 each at most', async () => {
        const held = await heldBy(store)
        const counts = ['instance-a', 'instance-b'].map((id) => held.get(id) ?? 0)
        return counts[0]! + counts[1]! === 12 ? counts : null
      }, 10_000)
      t.ok(after.every((n) => n <= 7), `held ${after.join(', ')}`)
    })

    t.test('worlds an instance handed off are taken back at once when the instance that took them stops', async (t) => {
      const { store } = await target.fresh(t)
      for (let i = 0; i < 6; i++) await emptyWorld(store)
      // Checks every second: a handed-off world is left alone for 10 checks (10 s), far longer than the wait below.
      const a = supervisor(store, 'instance-a', 100, 1000)
      t.teardown(async () => { await a.stop() })
      await a.start()
      await waitFor('a alone takes all 6', async () => (await heldBy(store)).get('instance-a') === 6)
      const b = supervisor(store, 'instance-b', 100, 1000)
      t.teardown(async () => { await b.stop() })
      await b.start()
      await waitFor('a hands 3 to b', async () => (await heldBy(store)).get('instance-b') === 3, 10_000)
      await b.stop()
      const started = Date.now()
      await waitFor('a holds all 6 again', async () => (await heldBy(store)).get('instance-a') === 6, 15_000)
      const backMs = Date.now() - started
      t.ok(backMs < 3000, `a took its handed-off worlds back ${backMs} ms after b stopped (< 3 s, not after the 10 s hold)`)
    })

    t.test('a stopping instance lists the worlds it released, and the others start their shares before it is gone', async (t) => {
      const { store } = await target.fresh(t)
      const feed = await store.openChangeFeed()
      t.teardown(async () => { await feed.close() })
      for (let i = 0; i < 12; i++) await emptyWorld(store)
      const withFeed = (id: string): EngineSupervisor => new EngineSupervisor({
        store,
        feed,
        instanceId: id,
        maxWorlds: 100,
        log: quietLog,
        createDefaultWorld: false,
        // One pass at the start, then none for a minute: what happens below comes from the feed.
        checkEveryMs: 60_000,
        runner: { stepMs: 100, leaseMs: 2000 }
      })
      const a = withFeed('instance-a')
      t.teardown(async () => { await a.stop() })
      await a.start()
      await waitFor('a alone takes all 12', async () => (await heldBy(store)).get('instance-a') === 12)
      const others = [withFeed('instance-b'), withFeed('instance-c')]
      for (const s of others) {
        t.teardown(async () => { await s.stop() })
        await s.start()
      }
      // A pass each now that all three beat, so b and c both count three instances (as the next check would).
      await Promise.all(others.map(async (s) => { await s.check() }))
      await feed.ready()
      const worlds = (await store.collection<EngineDoc>('engines').find({ running: true })).map((e) => e.worldId)
      // When a's heartbeat goes (the signal the others had before), each survivor already runs its share.
      let atDelete: number[] | null = null
      feed.subscribe(['instances'], (event) => {
        if (event.op === 'delete' && event.id === 'instance-a') atDelete = others.map((s) => worlds.filter((w) => s.runner(w) !== undefined).length)
      })
      await a.stop()
      await waitFor('a\'s heartbeat is deleted', async () => atDelete)
      t.same(atDelete, [6, 6], 'b and c started 6 each, split without asking each other')
      const held = await waitFor('b and c hold 6 leases each', async () => {
        const h = await heldBy(store)
        return h.get('instance-b') === 6 && h.get('instance-c') === 6 ? h : null
      })
      t.equal(held.get('instance-a'), undefined)
      t.same((await store.collection('instances').find({})).map((b) => b._id).sort(), ['instance-b', 'instance-c'], 'the list goes with the heartbeat')
    })

    t.test('instances that check at the same moment take different worlds, so one pass places them all', async (t) => {
      const { store } = await target.fresh(t)
      for (let i = 0; i < 10; i++) await emptyWorld(store)
      // Both already beat (as survivors of a failover do), so each first pass counts two: 5 + 1 each at most.
      const now = Date.now()
      for (const id of ['instance-a', 'instance-b']) {
        await store.collection('instances').insertOne({ _id: id, until: now + 60_000, worlds: 0, maxWorlds: null, startedAt: now })
      }
      // One pass each, then none for a minute.
      const both = ['instance-a', 'instance-b'].map((id) => supervisor(store, id, 100, 60_000))
      for (const s of both) t.teardown(async () => { await s.stop() })
      await Promise.all(both.map(async (s) => { await s.start() }))
      const counts = await waitFor('all 10 held after the first passes', async () => {
        const held = await heldBy(store)
        const c = ['instance-a', 'instance-b'].map((id) => held.get(id) ?? 0)
        return c[0]! + c[1]! === 10 ? c : null
      }, 5000)
      t.ok(counts.every((n) => n >= 4 && n <= 6), `held ${counts.join(', ')}`)
    })

    t.test('while a dead instance\'s leases lapse one after another, they are taken sooner than the next check', async (t) => {
      const { store } = await target.fresh(t)
      const worlds = []
      for (let i = 0; i < 3; i++) worlds.push(await emptyWorld(store))
      // A killed instance's leases: one lapsed already, the others lapsing 0.4 and 0.8 s from now.
      const now = Date.now()
      for (const [i, w] of worlds.entries()) {
        await store.collection<EngineDoc>('engines').updateOne({ _id: w.engineId }, { $set: { runner: { instanceId: 'killed', until: now - 1 + i * 400 } } })
      }
      // Checks every 4 s: without the sooner passes the last two would wait for the second check.
      const a = supervisor(store, 'instance-a', 100, 4000)
      t.teardown(async () => { await a.stop() })
      const started = Date.now()
      await a.start()
      await waitFor('a holds all three', async () => (await heldBy(store)).get('instance-a') === 3, 10_000)
      const ms = Date.now() - started
      t.ok(ms < 3000, `all three taken ${ms} ms after the start (the next full check was 4 s away)`)
    })

    t.test('the heartbeats of instances gone for over an hour are removed; recent ones stay', async (t) => {
      const { store } = await target.fresh(t)
      const now = Date.now()
      const beats = store.collection('instances')
      const gone = { worlds: 2, maxWorlds: null, startedAt: now - 5 * 3600_000 }
      await beats.insertOne({ _id: 'killed-yesterday', ...gone, until: now - 2 * 3600_000 })
      await beats.insertOne({ _id: 'killed-a-minute-ago', ...gone, until: now - 60_000 })
      const a = supervisor(store, 'instance-a', 10)
      t.teardown(async () => { await a.stop() })
      await a.start()
      const left = await waitFor('the first pass vacuums', async () => {
        const ids = (await beats.find({})).map((b) => b._id).sort()
        return ids.includes('killed-yesterday') ? null : ids
      })
      t.same(left, ['instance-a', 'killed-a-minute-ago'], 'only the heartbeat expired over an hour ago is gone')
    })

    t.test('three instances starting at the same moment do not let one take everything', async (t) => {
      const { store } = await target.fresh(t)
      for (let i = 0; i < 9; i++) await emptyWorld(store)
      const all = ['x', 'y', 'z'].map((id) => supervisor(store, `instance-${id}`, 100))
      for (const s of all) t.teardown(async () => { await s.stop() })
      await Promise.all(all.map(async (s) => { await s.start() }))
      const counts = await waitFor('9 worlds over three instances, 3 + 1 each at most', async () => {
        const held = await heldBy(store)
        const c = ['x', 'y', 'z'].map((id) => held.get(`instance-${id}`) ?? 0)
        return c.reduce((a, b) => a + b, 0) === 9 && c.every((n) => n <= 4) ? c : null
      }, 15_000)
      t.ok(counts.every((n) => n >= 1), `held ${counts.join(', ')}`)
    })
  })
}
