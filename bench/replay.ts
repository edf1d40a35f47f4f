// npm run bench:replay — how fast `townhall world replay` rebuilds a world, and what snapshots cost. For the
// default town (8 agents) and for 1,000 agents on the embedded store: the world runs on a simulated clock (one
// step per engine tick, 1 s) with instant agent answers and snapshots on, then is replayed with and without
// --verify. Prints steps/s as a multiple of real time, snapshot bytes and write time per step amortised next to
// the bytes each step commits; ends with RESULT {json}.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EmbeddedStore } from '../src/store/embedded.ts'
import { createWorldRecords } from '../src/engine/worlds.ts'
import { updateBytes, type StepReport } from '../src/engine/runner.ts'
import type { AgentBrain } from '../src/engine/operations.ts'
import { replayWorld } from '../src/engine/replay.ts'
import { listSnapshots } from '../src/engine/snapshots.ts'
import { defaultCast } from '../src/game/data/index.ts'
import type { CharacterDescription } from '../src/game/index.ts'
import { startSimulatedRunner } from '../test/helpers/simulatedTown.ts'
import { waitFor } from '../test/helpers/engine.ts'
import { cpuPressure } from './lib.ts'

/** One engine tick (src/engine/runner.ts stepMs): a step replayed in 1 s is real time. */
const STEP_MS = 1000
/** SNAPSHOT_EVERY_STEPS's default (src/config.ts): what the amortised figures assume. */
const DEFAULT_EVERY = 300

interface Size { label: string, agents: number, steps: number, every: number }
const sizes: Size[] = [
  { label: 'default town', agents: defaultCast.length, steps: Number(process.env.BENCH_STEPS ?? 600), every: Number(process.env.BENCH_EVERY ?? DEFAULT_EVERY) },
  { label: '1,000 agents', agents: 1000, steps: Number(process.env.BENCH_LARGE_STEPS ?? 60), every: Number(process.env.BENCH_LARGE_EVERY ?? 30) }
]

function cast (n: number): CharacterDescription[] {
  return Array.from({ length: n }, (_, i) => {
    const base = defaultCast[i % defaultCast.length]!
    return n <= defaultCast.length ? base : { ...base, name: `${base.name} ${Math.floor(i / defaultCast.length) + 1}` }
  })
}

/** Answers at once: the bench measures the engine and the store, not a model. */
const instantBrain: AgentBrain = {
  name: 'bench-instant',
  async generateMessage ({ type }) { return type === 'leave' ? 'Goodbye!' : 'Nice weather today, is it not?' },
  async rememberConversation () {}
}

interface SizeResult {
  label: string
  agents: number
  steps: number
  snapshotEvery: number
  replaySteps: number
  replayStepsPerSecond: number
  replayRealTimeMultiple: number
  verifyStepsPerSecond: number
  verifyRealTimeMultiple: number
  identical: boolean
  commitBytesPerStep: number
  snapshotBytes: number
  snapshotWriteMs: number
  /** At the bench's snapshot interval and at SNAPSHOT_EVERY_STEPS's default. */
  snapshotBytesPerStep: number
  snapshotOverheadPct: number
  snapshotBytesPerStepDefault: number
  snapshotOverheadPctDefault: number
  snapshotWriteMsPerStepDefault: number
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits

async function runSize (size: Size): Promise<SizeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'townhall-bench-replay-'))
  const store = new EmbeddedStore({ dataDir: dir })
  const teardowns: Array<() => unknown> = []
  let clock = Date.parse('2026-11-22T09:00:00Z')
  const now = (): number => clock
  const status = await createWorldRecords(store, { now: clock, cast: cast(size.agents), agents: size.agents, seed: size.agents })
  const reports: StepReport[] = []
  const runner = startSimulatedRunner({ teardown: (fn) => { teardowns.push(fn) } }, {
    store,
    worldId: status.worldId,
    brain: instantBrain,
    now,
    advance: () => { clock += STEP_MS },
    runner: {
      // Keep every snapshot: their total over the run is what the amortised figures divide.
      snapshots: { everySteps: size.every, keep: 100_000 },
      measureWrites: true,
      onStep: (r) => {
        reports.push({ ...r, world: undefined as never })
        if (reports.length % 100 === 0) process.stderr.write(`  ${size.label}: step ${reports.length}/${size.steps}\n`)
      }
    }
  })
  await waitFor(`${size.steps} steps`, async () => reports.length >= size.steps, 600_000)
  await runner.stop()
  for (const fn of teardowns) await fn()

  const committed = reports.slice(0, size.steps)
  const commitBytesPerStep = committed.reduce((a, r) => a + (r.bytesWritten ?? 0), 0) / committed.length
  const snapshots = await listSnapshots(store, status.worldId)
  // A snapshot's own bytes; its step records are in the commits' bytes already (each step writes its record).
  const snapshotBytes = snapshots.reduce((a, s) => a + updateBytes({ $set: { ...s, steps: {} } }), 0) / snapshots.length
  // Write cost: the newest snapshot written again a few times under other ids (the median).
  const writes: number[] = []
  for (let i = 0; i < 5; i++) {
    const started = performance.now()
    await store.collection('snapshots').insertOne({ ...snapshots.at(-1)!, _id: `bench:${i}`, worldId: 'bench', step: i })
    writes.push(performance.now() - started)
  }
  await store.collection('snapshots').deleteMany({ worldId: 'bench' })
  const snapshotWriteMs = writes.sort((a, b) => a - b)[2]!

  process.stderr.write(`  ${size.label}: replaying from the first snapshot, without and with --verify\n`)
  const plain = await replayWorld(store, status.worldId, { verify: false })
  const verified = await replayWorld(store, status.worldId, { verify: true })
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  const speed = plain.steps / (plain.ms / 1000)
  const verifySpeed = verified.steps / (verified.ms / 1000)
  const perStep = snapshotBytes / size.every
  const perStepDefault = snapshotBytes / DEFAULT_EVERY
  return {
    label: size.label,
    agents: size.agents,
    steps: committed.length,
    snapshotEvery: size.every,
    replaySteps: plain.steps,
    replayStepsPerSecond: Math.round(speed),
    replayRealTimeMultiple: Math.round(speed * STEP_MS / 1000),
    verifyStepsPerSecond: Math.round(verifySpeed),
    verifyRealTimeMultiple: Math.round(verifySpeed * STEP_MS / 1000),
    identical: verified.divergence === undefined,
    commitBytesPerStep: Math.round(commitBytesPerStep),
    snapshotBytes: Math.round(snapshotBytes),
    snapshotWriteMs: round(snapshotWriteMs),
    snapshotBytesPerStep: Math.round(perStep),
    snapshotOverheadPct: round(100 * perStep / commitBytesPerStep, 2),
    snapshotBytesPerStepDefault: Math.round(perStepDefault),
    snapshotOverheadPctDefault: round(100 * perStepDefault / commitBytesPerStep, 2),
    snapshotWriteMsPerStepDefault: round(snapshotWriteMs / DEFAULT_EVERY, 3)
  }
}

const benchStarted = performance.now()
const results: SizeResult[] = []
for (const size of sizes) {
  process.stderr.write(`running ${size.label} for ${size.steps} steps, a snapshot every ${size.every}...\n`)
  results.push(await runSize(size))
}

const header = ['world', 'steps', 'replay steps/s', 'x real time', 'verify steps/s', 'x real time', 'identical', 'commit B/step', 'snapshot B', 'snapshot ms', 'every', 'snap B/step', 'overhead', `at ${DEFAULT_EVERY}: B/step`, 'overhead', 'ms/step']
const rows = results.map((r) => [r.label, r.steps, r.replayStepsPerSecond, `${r.replayRealTimeMultiple}x`, r.verifyStepsPerSecond, `${r.verifyRealTimeMultiple}x`, r.identical ? 'yes' : 'NO',
  r.commitBytesPerStep, r.snapshotBytes, r.snapshotWriteMs, r.snapshotEvery, r.snapshotBytesPerStep, `${r.snapshotOverheadPct}%`, r.snapshotBytesPerStepDefault, `${r.snapshotOverheadPctDefault}%`, r.snapshotWriteMsPerStepDefault].map(String))
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (cells: string[]): string => cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join('  ')
console.log(line(header))
for (const row of rows) console.log(line(row))
const town = results[0]!
console.log(`\ngoals: replay >= 50x real time for the default town (${town.replayRealTimeMultiple}x, ${town.verifyRealTimeMultiple}x with --verify); ` +
  `snapshot overhead <= 10% of the bytes per step (${town.snapshotOverheadPctDefault}% at SNAPSHOT_EVERY_STEPS=${DEFAULT_EVERY}); CPU pressure ${cpuPressure() ?? 'n/a'}; ${Math.round((performance.now() - benchStarted) / 1000)} s in all`)
console.log(`RESULT ${JSON.stringify({ bench: 'replay', stepMs: STEP_MS, defaultSnapshotEvery: DEFAULT_EVERY, elapsedS: Math.round((performance.now() - benchStarted) / 1000), sizes: results })}`)
