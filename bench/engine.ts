// npm run bench:engine — the default map with 10, 100 and 1,000 agents walking, inviting and conversing.
// LLM operations are answered by a stand-in after 1-3 s. Prints per size: step CPU (median, p95), CPU/wall,
// bytes written per step, input-queue length after each step, agents waiting for a path; ends with RESULT {json}.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EmbeddedStore } from '../src/store/embedded.ts'
import { createWorldRecords } from '../src/engine/worlds.ts'
import { WorldRunner, type StepReport } from '../src/engine/runner.ts'
import { runOperation, type AgentBrain } from '../src/engine/operations.ts'
import { createSignalLinker } from '../src/llm/client.ts'
import { defaultCast } from '../src/game/data/index.ts'
import type { CharacterDescription } from '../src/game/index.ts'

const sizes = (process.env.BENCH_SIZES ?? '10,100,1000').split(',').map(Number)
const steps = Number(process.env.BENCH_STEPS ?? 40)
const warmup = Number(process.env.BENCH_WARMUP ?? 5)

function cast (n: number): CharacterDescription[] {
  return Array.from({ length: n }, (_, i) => {
    const base = defaultCast[i % defaultCast.length]!
    return { ...base, name: `${base.name} ${Math.floor(i / defaultCast.length) + 1}` }
  })
}

/** Answers after 1-3 s, like a hosted model. */
function slowBrain (runnerSignal: AbortSignal): AgentBrain {
  // Each wait listens on its own linked signal, as the LLM client's calls do: the runner's signal, shared by
  // every operation in flight, keeps one listener.
  const link = createSignalLinker()
  const wait = async (): Promise<void> => await new Promise<void>((resolve) => {
    const { signal, release } = link(runnerSignal)
    const onAbort = (): void => { clearTimeout(timer); release(); resolve() }
    const timer = setTimeout(() => { release(); resolve() }, 1000 + Math.random() * 2000)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  return {
    name: 'bench-stand-in',
    async generateMessage ({ type }) { await wait(); return type === 'leave' ? 'Goodbye!' : 'Nice weather today, is it not?' },
    async rememberConversation () { await wait() }
  }
}

function quantile (values: number[], q: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

interface SizeResult {
  agents: number
  steps: number
  stepCpuMsMedian: number
  stepCpuMsP95: number
  cpuWallRatio: number
  bytesPerStepMedian: number
  bytesPerStepMax: number
  queueAfterStepMax: number
  queueAfterStepMedian: number
  agentsWaitingForPathMax: number
  maxPathWaitMs: number
  walking: number
  conversations: number
  messages: number
}

async function runSize (agents: number): Promise<SizeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'townhall-bench-'))
  const store = new EmbeddedStore({ dataDir: dir })
  const abort = new AbortController()
  const brain = slowBrain(abort.signal)
  const status = await createWorldRecords(store, { now: Date.now(), cast: cast(agents), agents, seed: agents })
  const reports: Array<StepReport & { cpuMs: number, wallMs: number }> = []
  const log = { info: () => {}, debug: () => {}, warn: (o: object, m: string) => { console.error(m, o) } }
  let lastCpu = process.cpuUsage()
  let lastWall = performance.now()
  let done!: () => void
  const finished = new Promise<void>((resolve) => { done = resolve })
  const pending = new Set<Promise<void>>()
  const runner: WorldRunner = new WorldRunner({
    store,
    worldId: status.worldId,
    instanceId: 'bench',
    now: Date.now,
    log,
    maxInputsPerStep: 100_000,
    measureWrites: true,
    startOperation: (op, r) => {
      const p = runOperation({ store, worldId: status.worldId, engineId: r.engineId!, map: r.map!, brain, now: Date.now, world: () => r.world!, signal: abort.signal, log }, op)
      pending.add(p)
      p.finally(() => pending.delete(p)).catch(() => {})
    },
    onStep: (report) => {
      // CPU of the whole process between two commits: the step, its I/O, and the agent operations it started.
      const cpu = process.cpuUsage(lastCpu)
      const wall = performance.now() - lastWall
      lastCpu = process.cpuUsage()
      lastWall = performance.now()
      reports.push({ ...report, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: wall })
      if (reports.length % 10 === 0) process.stderr.write(`  ${agents} agents: step ${reports.length}/${steps + warmup}\n`)
      if (reports.length >= steps + warmup) done()
    }
  })
  const exit = runner.start()
  await finished
  await runner.stop()
  await exit
  abort.abort()
  await Promise.allSettled([...pending])
  const measured = reports.slice(warmup)
  const world = measured[measured.length - 1]!.world
  const messages = await store.collection('messages').count({ worldId: status.worldId })
  const breakdown: Record<string, number> = {}
  for (const r of measured) for (const [k, v] of Object.entries(r.writeBreakdown!)) breakdown[k] = (breakdown[k] ?? 0) + v / measured.length
  process.stderr.write(`  ${agents} agents: mean bytes per step by field ${JSON.stringify(Object.fromEntries(Object.entries(breakdown).filter(([, v]) => v >= 100).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v)])))}\n`)
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  const cpu = measured.map((r) => r.cpuMs)
  const bytes = measured.map((r) => r.bytesWritten!)
  const queue = measured.map((r) => r.queued)
  return {
    agents,
    steps: measured.length,
    stepCpuMsMedian: round(quantile(cpu, 0.5)),
    stepCpuMsP95: round(quantile(cpu, 0.95)),
    cpuWallRatio: round(cpu.reduce((a, b) => a + b, 0) / measured.reduce((a, r) => a + r.wallMs, 0), 3),
    bytesPerStepMedian: Math.round(quantile(bytes, 0.5)),
    bytesPerStepMax: Math.max(...bytes),
    queueAfterStepMedian: quantile(queue, 0.5),
    queueAfterStepMax: Math.max(...queue),
    agentsWaitingForPathMax: Math.max(...measured.map((r) => r.stats.agentsWaitingForPath)),
    maxPathWaitMs: Math.max(...measured.map((r) => r.stats.maxPathWaitMs)),
    walking: world.players.filter((p) => p.pathfinding !== undefined).length,
    conversations: world.conversations.length,
    messages
  }
}

function round (n: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

const results: SizeResult[] = []
for (const size of sizes) {
  process.stderr.write(`running ${size} agents for ${warmup} + ${steps} steps of 1 s...\n`)
  results.push(await runSize(size))
}

const header = ['agents', 'CPU/step p50 ms', 'p95 ms', 'CPU/wall', 'bytes/step p50', 'max', 'queue p50', 'queue max', 'waiting for path', 'max wait ms', 'walking', 'conversations', 'messages']
const rows = results.map((r) => [r.agents, r.stepCpuMsMedian, r.stepCpuMsP95, r.cpuWallRatio, r.bytesPerStepMedian, r.bytesPerStepMax, r.queueAfterStepMedian, r.queueAfterStepMax, r.agentsWaitingForPathMax, r.maxPathWaitMs, r.walking, r.conversations, r.messages].map(String))
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ')
console.log(line(header))
for (const row of rows) console.log(line(row))
const biggest = results[results.length - 1]!
console.log('\npeer (AI Town\'s engine, from the issue): 100 agents ≈ 90 ms game CPU per step; 1,000 agents ≈ 1.2 s CPU per step, ≈ 9 MB written per step, ≈ 940 inputs queued, ≈ 300 agents waiting for a path.')
console.log(`goal at ${biggest.agents} agents: queue drained every step (max ${biggest.queueAfterStepMax}), path wait ≤ 2000 ms (max ${biggest.maxPathWaitMs}), CPU/wall < 0.5 (${biggest.cpuWallRatio}), < 100 KB per step (max ${biggest.bytesPerStepMax} B)`)
console.log(`RESULT ${JSON.stringify({ bench: 'engine', steps, sizes: results })}`)
