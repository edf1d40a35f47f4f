// Three real server processes on one MongoDB share 30 worlds within the balance rule; a SIGKILLed instance's
// worlds step again elsewhere within 10 s, a SIGTERMed one's within 2 s, and no input is lost or applied twice.
import { test } from 'tap'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { startServer, type ServerProcess } from '../helpers/server.ts'
import { allInputs, emptyWorld, leasesByInstance, readWorld, waitFor, worldClocks } from '../helpers/engine.ts'
import { submitInput } from '../../src/engine/inputs.ts'
import type { EngineDoc, WorldStatusDoc } from '../../src/engine/types.ts'
import type { Store } from '../../src/store/types.ts'

const WORLDS = 30
const mongo = storeTargets().find((target) => target.name === 'mongodb')

/** Waits until every engine of `engineIds` has stepped past `after` (its clock) under an instance other than `gone`. */
async function steppedElsewhere (store: Store, engineIds: string[], after: Map<string, { clock: number }>, gone: string, timeoutMs: number): Promise<{ claimedMs: number, steppedMs: number }> {
  const started = Date.now()
  let claimedMs = -1
  await waitFor(`the worlds of ${gone} step elsewhere`, async () => {
    const engines = await store.collection<EngineDoc>('engines').find({ _id: { $in: engineIds } })
    const claimed = engines.length === engineIds.length && engines.every((e) => e.runner !== null && e.runner.instanceId !== gone)
    if (claimed && claimedMs < 0) claimedMs = Date.now() - started
    if (!claimed) return false
    // A step counts once it is committed under the generation that claimed the world after `gone` let it go.
    const now = await worldClocks(store, engineIds)
    return engines.every((e) => {
      const w = now.get(e._id)
      return w !== undefined && w.clock > after.get(e._id)!.clock && w.generation === e.generationNumber
    })
  }, timeoutMs)
  return { claimedMs, steppedMs: Date.now() - started }
}

test('three instances: balance, SIGKILL failover, SIGTERM handoff, every input applied exactly once', { skip: mongo === undefined ? 'needs MONGODB_URL' : false, timeout: 240_000 }, async (t) => {
  const { store, config } = await mongo!.fresh(t)
  const worlds: WorldStatusDoc[] = []
  for (let i = 0; i < WORLDS; i++) worlds.push(await emptyWorld(store))
  const servers: ServerProcess[] = await Promise.all([0, 1, 2].map(async () => await startServer(t, {
    ...config, DATA_DIR: await tempDir(t), ENGINE_DEFAULT_WORLD: 'false', LOG_LEVEL: 'info'
  })))
  t.teardown(async () => {
    if (process.env.INSTANCES_TEST_LOGS === undefined) return
    const { writeFile } = await import('node:fs/promises')
    for (const [i, s] of servers.entries()) await writeFile(`${process.env.INSTANCES_TEST_LOGS}/server-${i}.log`, s.stdout() + s.stderr())
  })
  const ids = await Promise.all(servers.map(async (s) => ((await (await fetch(`${s.url}/health`)).json()) as { instanceId: string }).instanceId))

  const spread = await waitFor('30 worlds held, within a fair share (10) + 1 each', async () => {
    const held = await leasesByInstance(store)
    const counts = ids.map((id) => held.get(id)?.length ?? 0)
    return counts.reduce((a, b) => a + b, 0) === WORLDS && counts.every((n) => n <= 11) ? counts : null
  }, 60_000)
  t.ok(spread.every((n) => n >= 1 && n <= 11), `placed ${spread.join(', ')} over the three instances`)

  // Inputs keep arriving, to every world, through everything that follows.
  const sent = new Map<string, { joins: number, leaves: number }>(worlds.map((w) => [w.engineId, { joins: 0, leaves: 0 }]))
  const producing = { on: true }
  // Three producers, each over a third of the worlds (more would load the stand-in server more than the engines).
  const lanes = [0, 1, 2].map((lane) => worlds.filter((_, i) => i % 3 === lane))
  const producer = Promise.all(lanes.map(async (lane) => {
    for (let i = 0; producing.on; i++) {
      const world = lane[i % lane.length]!
      const count = sent.get(world.engineId)!
      await submitInput(store, world.engineId, 'join', { name: `J${count.joins}`, character: 'f3', description: 'placement test' })
      count.joins++
      if (count.joins % 3 === 0) {
        await submitInput(store, world.engineId, 'leave', { playerId: `p:${count.leaves * 3}` })
        count.leaves++
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }))
  await new Promise((resolve) => setTimeout(resolve, 2000))

  // SIGKILL: the lease lapses (ENGINE_LEASE_MS, 5 s) and the others claim the worlds on their next check.
  const killedWorlds = (await leasesByInstance(store)).get(ids[0]!) ?? []
  const beforeKill = await worldClocks(store, killedWorlds)
  await servers[0]!.stop('SIGKILL')
  const failover = await steppedElsewhere(store, killedWorlds, beforeKill, ids[0]!, 30_000)
  t.ok(failover.steppedMs < 10_000, `after SIGKILL the ${killedWorlds.length} worlds were claimed in ${failover.claimedMs} ms and stepped elsewhere in ${failover.steppedMs} ms (< 10 s)`)

  // SIGTERM: the instance drops out of the count, releases its leases and deletes its heartbeat, which tells the
  // last one (through the change feed) to take over at once.
  const termWorlds = (await leasesByInstance(store)).get(ids[1]!) ?? []
  const beforeTerm = await worldClocks(store, termWorlds)
  const stopping = servers[1]!.stop('SIGTERM')
  const handoff = await steppedElsewhere(store, termWorlds, beforeTerm, ids[1]!, 30_000)
  t.ok(handoff.steppedMs < 2000, `after SIGTERM the ${termWorlds.length} worlds were claimed in ${handoff.claimedMs} ms and stepped elsewhere in ${handoff.steppedMs} ms (< 2 s)`)
  t.equal((await stopping).code, 0, 'the SIGTERMed instance exited cleanly')
  t.equal((await leasesByInstance(store)).get(ids[2]!)?.length, WORLDS, 'the survivor holds every world')
  t.same((await store.collection('instances').find({})).map((i) => i._id).filter((id) => id !== ids[0]), [ids[2]], 'the SIGTERMed instance\'s heartbeat is gone')

  producing.on = false
  await producer
  let total = 0
  for (const world of worlds) {
    const count = sent.get(world.engineId)!
    const inputs = await waitFor(`every input of ${world.worldId} answered`, async () => {
      const all = await allInputs(store, world.engineId)
      const doc = await readWorld(store, world.worldId)
      return doc.outbox === undefined && all.every((i) => i.returnValue !== undefined) ? all : null
    }, 30_000)
    total += inputs.length
    const okJoins = inputs.filter((i) => i.name === 'join' && i.returnValue?.kind === 'ok')
    const okLeaves = inputs.filter((i) => i.name === 'leave' && i.returnValue?.kind === 'ok')
    const doc = await readWorld(store, world.worldId)
    const archived = await store.collection('archivedPlayers').find({ worldId: world.worldId })
    const players = new Set([...doc.players.map((p) => p.id), ...archived.map((a) => a.id as string)])
    const exact = inputs.length === count.joins + count.leaves && okJoins.length === count.joins &&
      doc.players.length === okJoins.length - okLeaves.length && players.size === okJoins.length &&
      archived.length === okLeaves.length && doc.step.processedInputNumber === inputs.length
    if (!exact) {
      t.fail(`world ${world.worldId}: sent ${count.joins} joins and ${count.leaves} leaves; stored ${inputs.length} inputs, ${okJoins.length} joins ok, ` +
        `${okLeaves.length} leaves ok, ${doc.players.length} players, ${archived.length} archived, processed ${doc.step.processedInputNumber}`)
    }
  }
  t.ok(total > 100, `${total} inputs over ${WORLDS} worlds, each applied exactly once (players and archives match the joins and leaves)`)
  await servers[2]!.stop('SIGTERM')
})
