// A town run with the offline provider and a human's inputs, then rebuilt from its snapshots by
// `townhall world replay --verify`: identical; a damaged snapshot or input diverges (exit 1, naming the field);
// an unknown world or a step outside the kept range is one line and exit 2.
import { test } from 'tap'
import { townhall } from '../helpers/cli.ts'
import { storeTargets } from '../helpers/stores.ts'
import { readWorld } from '../helpers/engine.ts'
import { runOfflineTown } from '../helpers/simulatedTown.ts'
import { createWorldRecords, vacuumInputs } from '../../src/engine/worlds.ts'
import { replayWorld } from '../../src/engine/replay.ts'
import { listSnapshots, takeSnapshot, type SnapshotDoc } from '../../src/engine/snapshots.ts'
import { updateBytes, type StepReport } from '../../src/engine/runner.ts'
import type { InputDoc } from '../../src/engine/types.ts'
import type { StoredWorldDoc } from '../../src/engine/worldDoc.ts'

const TOWN_MS = 5 * 60_000
const EVERY = 60
const KEEP = 5

for (const target of storeTargets()) {
  test(`five minutes of an offline town replay identically from its snapshots (${target.name})`, { timeout: 300_000 }, async (t) => {
    const { store, config } = await target.fresh(t)
    const reports: StepReport[] = []
    // Ten steps past the last periodic snapshot: the world holds their step records.
    const { status, moves, now } = await runOfflineTown(t, store, {
      ms: TOWN_MS + 11_000,
      moveEveryMs: 15_000,
      seed: 15,
      runner: { snapshots: { everySteps: EVERY, keep: KEEP }, measureWrites: true, onStep: (r) => { reports.push({ ...r, world: undefined as never }) } }
    })
    const clock = now()
    const world = await readWorld(store, status.worldId)
    const snapshots = await listSnapshots(store, status.worldId)
    t.ok(moves >= 15, `the human walked (${moves} moveTo inputs)`)
    t.ok(world.step.number > 300, `${world.step.number} steps committed`)
    t.ok(world.conversations.length > 0 || (await store.collection('messages').count({ worldId: status.worldId })) > 0, 'agents talked')
    t.equal(snapshots.length, KEEP, `SNAPSHOT_KEEP: the ${KEEP} newest snapshots are kept`)
    t.same(snapshots.map((s) => s.step % EVERY), snapshots.map(() => 0), 'a snapshot every SNAPSHOT_EVERY_STEPS steps')
    const doc = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: status.worldId })
    const pending = Object.keys(doc!.stepLog ?? {}).map(Number)
    t.ok(pending.every((n) => n > snapshots.at(-1)!.step), 'the world holds only the step records since its newest snapshot')
    for (const s of snapshots.slice(1)) t.equal(Object.keys(s.steps).length, EVERY, `snapshot ${s.step} holds the records of the ${EVERY} steps before it`)

    // What snapshots and step records cost, next to what each step commits anyway.
    const committedBytes = reports.reduce((a, r) => a + (r.bytesWritten ?? 0), 0) / reports.length
    const records = snapshots.flatMap((s) => Object.entries(s.steps))
    const recordBytes = records.reduce((a, [k, v]) => a + updateBytes({ $set: { [`stepLog.${k}`]: v } }), 0) / records.length
    const snapshotBytes = snapshots.reduce((a, s) => a + updateBytes({ $set: { ...s, steps: {} } }), 0) / snapshots.length
    t.comment(`per step: commit ${committedBytes.toFixed(0)} B (step record included: ${recordBytes.toFixed(1)} B); ` +
      `snapshot ${snapshotBytes.toFixed(0)} B every ${EVERY} steps = ${(snapshotBytes / EVERY).toFixed(0)} B/step amortised`)
    t.ok(recordBytes < 40, 'a step record is a few bytes')

    t.test('replay --verify from the first kept snapshot: identical', async (t) => {
      const report = await replayWorld(store, status.worldId, { verify: true })
      t.equal(report.divergence, undefined, 'no divergence')
      t.equal(report.fromStep, snapshots[0]!.step)
      t.equal(report.steps, world.step.number - snapshots[0]!.step, 'every step after the first kept snapshot was replayed')
      t.same(report.checked.map((c) => c.step), [...snapshots.slice(1).map((s) => s.step), world.step.number].filter((s, i, a) => a.indexOf(s) === i),
        'compared with every later snapshot and the committed world')
      t.comment(`replayed ${report.steps} steps in ${report.ms.toFixed(0)} ms (${(report.steps / (report.ms / 1000)).toFixed(0)} steps/s)`)
      const cli = await townhall(['world', 'replay', status.worldId, '--verify'], config)
      t.equal(cli.code, 0, cli.stderr)
      t.match(cli.stdout, /^identical: replayed steps \d+ to \d+/, 'prints identical')
      t.match(cli.stderr, /step \d+\/\d+: identical to the snapshot/, 'with progress output')
      const middle = await townhall(['world', 'replay', status.worldId, '--from-step', String(snapshots[1]!.step + 7), '--to-step', String(snapshots[3]!.step), '--verify'], config)
      t.equal(middle.code, 0, middle.stderr)
      t.match(middle.stdout, `identical: replayed steps ${snapshots[1]!.step} to ${snapshots[3]!.step}`, 'from the snapshot at or before --from-step')
    })

    t.test('the input vacuum keeps what the oldest kept snapshot needs; replay stays identical', async (t) => {
      const inputs = store.collection<InputDoc>('inputs')
      const needed = await inputs.count({ engineId: status.engineId, number: { $gt: snapshots[0]!.processedInputNumber } })
      const removed = await vacuumInputs(store, clock + 30 * 24 * 3600_000)
      t.ok(removed > 0, `inputs before the oldest snapshot are vacuumed (${removed})`)
      t.equal(await inputs.count({ engineId: status.engineId, number: { $gt: snapshots[0]!.processedInputNumber } }), needed, 'none that a snapshot needs')
      t.equal((await replayWorld(store, status.worldId, { verify: true })).divergence, undefined)
    })

    t.test('a damaged snapshot diverges: exit 1 naming the field', async (t) => {
      const damaged = snapshots[2]!
      const playerId = Object.keys(damaged.state.players)[0]!
      const x = damaged.state.players[playerId]!.position.x
      const snaps = store.collection<SnapshotDoc>('snapshots')
      await snaps.updateOne({ _id: damaged._id }, { $set: { [`state.players.${playerId}.position.x`]: x + 1 } })
      t.teardown(async () => { await snaps.updateOne({ _id: damaged._id }, { $set: { [`state.players.${playerId}.position.x`]: x } }) })
      const cli = await townhall(['world', 'replay', status.worldId, '--verify'], config)
      t.equal(cli.code, 1)
      t.equal(cli.stdout, `diverged at step ${damaged.step} (against the snapshot): players.${playerId}.position.x\n  expected ${x + 1}\n  actual   ${x}\n`)
    })

    t.test('damaged inputs diverge: exit 1 naming the field', async (t) => {
      const inputs = store.collection<InputDoc>('inputs')
      // Every move of hers that took effect after the second snapshot, shifted two tiles. Not only one: a single
      // move can rightly replay the same (its destination and the shifted one both unreachable, so she stops
      // where she stood either way, or a later move takes her to the same place before the next checkpoint).
      const after = await inputs.find({ engineId: status.engineId, name: 'moveTo', number: { $gt: snapshots[1]!.processedInputNumber } })
      const moves = after.filter((i) => i.returnValue?.kind === 'ok')
      t.ok(moves.length > 0, `human moves that took effect after the second snapshot (${moves.length} of ${after.length})`)
      for (const move of moves) {
        const { x } = (move.args as { destination: { x: number } }).destination
        await inputs.updateOne({ _id: move._id }, { $set: { 'args.destination.x': x >= 2 ? x - 2 : x + 2 } })
        t.teardown(async () => { await inputs.updateOne({ _id: move._id }, { $set: { 'args.destination.x': x } }) })
      }
      const cli = await townhall(['world', 'replay', status.worldId, '--verify', '--json'], config)
      t.equal(cli.code, 1, cli.stdout)
      const report = JSON.parse(cli.stdout) as { divergence: { path: string, step: number } }
      t.match(report.divergence.path, /^players\.p:\d+\.\w+/, `names a player's field (${report.divergence.path})`)
      t.ok(report.divergence.step > snapshots[1]!.step, 'at a checkpoint after the damaged input')
    })

    t.test('an unknown world or a step outside the kept range: one line, exit 2', async (t) => {
      const unknown = await townhall(['world', 'replay', 'no-such-world', '--verify'], config)
      t.equal(unknown.code, 2)
      t.equal(unknown.stderr, 'townhall: no world no-such-world (see townhall world list)\n')
      const before = await townhall(['world', 'replay', status.worldId, '--from-step', '0', '--verify'], config)
      t.equal(before.code, 2)
      t.match(before.stderr, new RegExp(`^townhall: --from-step 0 is outside what world \\S+ keeps: the kept range is steps ${snapshots[0]!.step} to ${world.step.number}\n$`))
      const after = await townhall(['world', 'replay', status.worldId, '--to-step', String(world.step.number + 1), '--verify'], config)
      t.equal(after.code, 2)
      t.match(after.stderr, /^townhall: --to-step \d+ is outside/)
      t.equal(after.stderr.split('\n').length, 2, 'one line')
      const bad = await townhall(['world', 'replay', status.worldId, '--from-step', 'x'], config)
      t.equal(bad.code, 2)
      const never = await createWorldRecords(store, { now: clock, agents: 0, seed: 1 })
      await t.rejects(replayWorld(store, never.worldId, { verify: true }), { name: 'Error', message: /has no snapshots to replay from/ }, 'a world that never ran under snapshots')
    })

    t.test('a snapshot on demand joins the chain', async (t) => {
      const cli = await townhall(['world', 'snapshot', status.worldId], { ...config, SNAPSHOT_KEEP: String(KEEP) })
      t.equal(cli.code, 0, cli.stderr)
      t.match(cli.stdout, `snapshot of world ${status.worldId} at step ${world.step.number}`)
      const kept = await listSnapshots(store, status.worldId)
      t.equal(kept.at(-1)!.step, world.step.number, 'the newest snapshot is at the committed step')
      t.equal(kept.length, KEEP, 'retention still applies')
      t.equal(kept[0]!.step, snapshots[1]!.step, 'the oldest went')
      t.equal(Object.keys((await store.collection<StoredWorldDoc>('worlds').findOne({ _id: status.worldId }))!.stepLog ?? {}).length, 0, 'the step records moved onto it')
      const report = await replayWorld(store, status.worldId, { verify: true })
      t.equal(report.divergence, undefined, 'replay stays identical')
      t.same(report.checked.at(-2), { step: world.step.number, against: 'snapshot' }, 'and checks the new snapshot')
      const again = await takeSnapshot(store, status.worldId, 'demand', { keep: KEEP }, clock)
      t.equal(again._id, kept.at(-1)!._id)
      t.same((await listSnapshots(store, status.worldId)).map((s) => s._id), kept.map((s) => s._id), 'taken twice, stored once')
    })
  })
}
