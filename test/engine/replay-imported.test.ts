// A world imported from an AI Town Convex export (its entities in the object forms AI Town stores) runs under
// snapshots and replays identically from the snapshot its first run took.
import { test } from 'tap'
import { join } from 'node:path'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { quietLog, waitFor } from '../helpers/engine.ts'
import { writeConvexExport } from '../fixtures/convexExport.ts'
import { importConvexExport } from '../../src/transfer/importConvex.ts'
import { loadWorld } from '../../src/engine/worldDoc.ts'
import { createOfflineClient } from '../../src/llm/offline.ts'
import { startSimulatedRunner } from '../helpers/simulatedTown.ts'
import { MemoryService } from '../../src/agents/memory.ts'
import { llmBrain } from '../../src/agents/brain.ts'
import { storeEmbeddingCache } from '../../src/agents/embeddingStore.ts'
import { createExactIndex } from '../../src/vector/exact.ts'
import { listSnapshots } from '../../src/engine/snapshots.ts'
import { replayWorld } from '../../src/engine/replay.ts'

for (const target of storeTargets()) {
  test(`an imported world replays identically from its first snapshot (${target.name})`, { timeout: 180_000 }, async (t) => {
    const dir = await tempDir(t)
    const manifest = await writeConvexExport({ out: join(dir, 'snapshot.zip'), seed: 21 })
    const { store } = await target.fresh(t)
    const imported = await importConvexExport(join(dir, 'snapshot.zip'), { store, dimension: 1024, embeddingModel: 'offline#1024' })
    t.equal(imported.totals.skipped, 0)
    const before = (await loadWorld(store, manifest.worldId))!
    let clock = before.step.currentTime + 60_000
    const now = (): number => clock
    const llm = createOfflineClient({ dimension: 1024 })
    const memories = new MemoryService({ store, llm, cache: storeEmbeddingCache(store), index: createExactIndex({ dimension: 1024 }), now, log: quietLog })
    const brain = llmBrain({ store, llm, memories, now })
    const runner = startSimulatedRunner(t, {
      store, worldId: manifest.worldId, brain, now, advance: () => { clock += 1000 }, runner: { snapshots: { everySteps: 20, keep: 100 } }
    })
    await waitFor('90 steps of the imported world', async () => ((await loadWorld(store, manifest.worldId))?.step.number ?? 0) >= before.step.number + 90, 120_000)
    await runner.stop()
    const snapshots = await listSnapshots(store, manifest.worldId)
    t.equal(snapshots[0]!.reason, 'first')
    t.equal(snapshots[0]!.step, before.step.number, 'the chain starts at the imported step')
    const report = await replayWorld(store, manifest.worldId, { verify: true })
    t.equal(report.divergence, undefined, 'identical')
    t.ok(report.checked.length >= 5, `compared with ${report.checked.length} checkpoints`)
  })
}
