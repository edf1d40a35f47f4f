import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { emptyWorld, quietLog, waitFor } from '../helpers/engine.ts'
import { EngineSupervisor } from '../../src/engine/supervisor.ts'
import type { EngineDoc } from '../../src/engine/types.ts'
import type { Store } from '../../src/store/types.ts'

function supervisor (store: Store, instanceId: string, maxWorlds: number): EngineSupervisor {
  return new EngineSupervisor({
    store,
    instanceId,
    maxWorlds,
    log: quietLog,
    createDefaultWorld: false,
    checkEveryMs: 200,
    runner: { stepMs: 100, leaseMs: 2000 }
  })
}

async function heldBy (store: Store): Promise<Map<string, number>> {
  const now = Date.now()
  const counts = new Map<string, number>()
  for (const e of await store.collection<EngineDoc>('engines').find({ running: true })) {
    if (e.runner !== null && e.runner.until >= now) counts.set(e.runner.instanceId, (counts.get(e.runner.instanceId) ?? 0) + 1)
  }
  return counts
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
  })
}
