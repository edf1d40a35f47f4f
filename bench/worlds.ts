// npm run bench:worlds — N worlds × 8 agents over 3 server processes on one MongoDB (the MongoDB-wire server in
// tests: MONGODB_URL). Phase 1 runs N/3 worlds, phase 2 all N: CPU per world-step (the instances' CPU over the
// steps they committed), p99 step lag (each world's wall time minus its clock, from the instances' /metrics), placement balance. Then a SIGKILL
// (failover time) and a SIGTERM (handoff time), with inputs sent to every world throughout: lost or repeated
// inputs must be 0. The agents talk with the offline provider. Ends with RESULT {json}.
//   BENCH_WORLDS=100 BENCH_AGENTS=8 BENCH_SECONDS=30 MONGODB_URL=mongodb://127.0.0.1:27117/?directConnection=true
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { MongoStore } from '../src/store/mongo.ts'
import { createWorldRecords } from '../src/engine/worlds.ts'
import { submitInput } from '../src/engine/inputs.ts'
import { loadWorld } from '../src/engine/worldDoc.ts'
import type { EngineDoc, InputDoc, WorldStatusDoc } from '../src/engine/types.ts'
import type { Store } from '../src/store/types.ts'
import { startServer, type ServerProcess } from '../test/helpers/server.ts'
import { leasesByInstance, worldClocks } from '../test/helpers/engine.ts'
import { cpuPressure, quantile, report, sleep } from './lib.ts'

const N = Number(process.env.BENCH_WORLDS ?? 100)
const AGENTS = Number(process.env.BENCH_AGENTS ?? 8)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30)
const INSTANCES = 3
const url = process.env.MONGODB_URL

const clockTicks = 100
/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / clockTicks
}

/** Steps each instance committed, from its /metrics (the step-duration histogram's counts). */
async function stepsCommitted (server: ServerProcess): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  let total = 0
  for (const line of text.split('\n')) if (line.startsWith('townhall_engine_step_duration_seconds_count')) total += Number(line.split(' ').pop())
  return total
}

/** Each world's step lag (s) as its instance's /metrics has it; a world two instances report counts once, least. */
async function stepLags (servers: ServerProcess[]): Promise<number[]> {
  const byWorld = new Map<string, number>()
  for (const server of servers) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) continue
    const text = await (await fetch(`${server.url}/metrics`)).text()
    for (const line of text.split('\n')) {
      const m = /^townhall_engine_lag_seconds\{world="([^"]+)"\} (\S+)$/.exec(line)
      if (m !== null) byWorld.set(m[1]!, Math.min(byWorld.get(m[1]!) ?? Infinity, Number(m[2])))
    }
  }
  return [...byWorld.values()]
}

async function until<T> (probe: () => Promise<T | null>, timeoutMs: number): Promise<T | null> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== null) return value
    await sleep(50)
  }
  return null
}

interface Phase { worlds: number, cpuPerStepMs: number, steps: number, lagP50: number, lagP99: number, balance: number[] }

async function measure (store: Store, servers: ServerProcess[], ids: string[], worlds: number): Promise<Phase> {
  // Wait for every world to be held, then let the instances settle before the window.
  await until(async () => {
    const held = await leasesByInstance(store)
    return [...held.values()].reduce((a, b) => a + b.length, 0) >= worlds ? true : null
  }, 120_000)
  await sleep(5000)
  const cpu0 = servers.map((s) => cpuSeconds(s.child.pid!))
  const steps0 = await Promise.all(servers.map(stepsCommitted))
  const lags: number[] = []
  const end = Date.now() + SECONDS * 1000
  while (Date.now() < end) {
    for (const lag of await stepLags(servers)) lags.push(Math.round(lag * 1000))
    await sleep(1000)
  }
  const cpu = servers.reduce((sum, s, i) => sum + cpuSeconds(s.child.pid!) - cpu0[i]!, 0)
  const steps = (await Promise.all(servers.map(stepsCommitted))).reduce((sum, n, i) => sum + n - steps0[i]!, 0)
  const held = await leasesByInstance(store)
  lags.sort((a, b) => a - b)
  return {
    worlds,
    cpuPerStepMs: steps === 0 ? NaN : cpu * 1000 / steps,
    steps,
    lagP50: quantile(lags, 0.5),
    lagP99: quantile(lags, 0.99),
    balance: ids.map((id) => held.get(id)?.length ?? 0)
  }
}

/** Kills (SIGKILL) or stops (SIGTERM) one instance and times until its worlds are claimed and step elsewhere. */
async function moveTime (store: Store, server: ServerProcess, id: string, signal: NodeJS.Signals): Promise<{ worlds: number, claimedMs: number, steppedMs: number }> {
  const mine = (await leasesByInstance(store)).get(id) ?? []
  const before = await worldClocks(store, mine)
  const started = Date.now()
  const stopped = server.stop(signal)
  let claimedMs = NaN
  const done = await until(async () => {
    const engines = await store.collection<EngineDoc>('engines').find({ _id: { $in: mine } })
    const claimed = engines.every((e) => e.runner !== null && e.runner.instanceId !== id)
    if (claimed && Number.isNaN(claimedMs)) claimedMs = Date.now() - started
    if (!claimed) return null
    // Stepped: a step committed past the clock before the signal, by the generation that claimed the world.
    const now = await worldClocks(store, mine)
    const stepped = engines.every((e) => {
      const w = now.get(e._id)
      return w !== undefined && w.clock > before.get(e._id)!.clock && w.generation === e.generationNumber
    })
    return stepped ? Date.now() - started : null
  }, 60_000)
  await stopped
  return { worlds: mine.length, claimedMs, steppedMs: done ?? NaN }
}

async function main (): Promise<void> {
  if (url === undefined) {
    console.error('bench:worlds needs MONGODB_URL (for example the MongoDB-wire server: bash test/mongo-wire/start.sh 27117, then MONGODB_URL="mongodb://127.0.0.1:27117/?directConnection=true")')
    process.exitCode = 2
    return
  }
  const dbName = `townhall_bench_worlds_${randomBytes(4).toString('hex')}`
  const store = await MongoStore.open({ url, dbName })
  const cleanup: Array<() => unknown> = []
  const servers: ServerProcess[] = []
  const dirs: string[] = []
  try {
    console.log(`creating ${N} worlds × ${AGENTS} agents in ${dbName}`)
    const worlds: WorldStatusDoc[] = []
    for (let i = 0; i < N; i++) {
      worlds.push(await createWorldRecords(store, { now: Date.now(), agents: AGENTS, seed: i }))
      if ((i + 1) % 25 === 0) console.log(`  ${i + 1}/${N}`)
    }
    // Viewed "now and for the next hour": no world is parked as idle during the run.
    await store.collection('worldStatus').updateMany({}, { $set: { lastViewed: Date.now() + 3600_000 } })
    // Phase 1 runs the first third; the rest wait stopped.
    const third = Math.max(1, Math.round(N / 3))
    const later = worlds.slice(third)
    await store.collection('engines').updateMany({ _id: { $in: later.map((w) => w.engineId) } }, { $set: { running: false } })

    const teardown = { teardown: (fn: () => unknown) => { cleanup.push(fn) } }
    for (let i = 0; i < INSTANCES; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'townhall-bench-worlds-'))
      dirs.push(dir)
      servers.push(await startServer(teardown, {
        MONGODB_URL: url, MONGODB_DB: dbName, DATA_DIR: dir, ENGINE_DEFAULT_WORLD: 'false', LOG_LEVEL: 'info', VECTOR_INDEX: 'exact'
      }, 120_000))
    }
    const ids = await Promise.all(servers.map(async (s) => ((await (await fetch(`${s.url}/health`)).json()) as { instanceId: string }).instanceId))
    console.log(`${INSTANCES} instances up; phase 1: ${third} worlds for ${SECONDS} s`)
    const small = await measure(store, servers, ids, third)
    console.log(`phase 2: ${N} worlds for ${SECONDS} s`)
    await store.collection('engines').updateMany({ _id: { $in: later.map((w) => w.engineId) } }, { $set: { running: true } })
    const sent = new Map<string, number>(worlds.map((w) => [w.engineId, 0]))
    const producing = { on: true }
    // Inputs to every world through the rest of the run: joins, each answered once or the count is off.
    const producer = (async () => {
      for (let i = 0; producing.on; i++) {
        const world = worlds[i % N]!
        await submitInput(store, world.engineId, 'join', { name: `Guest ${sent.get(world.engineId)!}`, character: 'f5', description: 'bench:worlds guest' })
        sent.set(world.engineId, sent.get(world.engineId)! + 1)
        await sleep(20)
      }
    })()
    const full = await measure(store, servers, ids, N)
    console.log('SIGKILL of one instance')
    const failover = await moveTime(store, servers[0]!, ids[0]!, 'SIGKILL')
    console.log('SIGTERM of another')
    const handoff = await moveTime(store, servers[1]!, ids[1]!, 'SIGTERM')
    producing.on = false
    await producer
    // Every input answered; joins applied exactly once: each world has its agents plus one player per join.
    let lost = 0
    let repeated = 0
    let total = 0
    await until(async () => {
      const open = await store.collection<InputDoc>('inputs').count({ returnValue: { $exists: false } })
      return open === 0 ? true : null
    }, 60_000)
    for (const world of worlds) {
      const inputs = await store.collection<InputDoc>('inputs').find({ engineId: world.engineId, name: 'join' })
      total += inputs.length
      const doc = await loadWorld(store, world.worldId)
      const guests = (doc?.players ?? []).length - AGENTS
      const expected = sent.get(world.engineId)!
      const unanswered = inputs.filter((i) => i.returnValue === undefined).length
      lost += Math.max(0, expected - guests) + unanswered
      repeated += Math.max(0, guests - expected)
    }
    await servers[2]!.stop('SIGTERM')

    const flat = full.cpuPerStepMs / small.cpuPerStepMs
    const rows: Array<[string, unknown]> = [
      ['worlds × agents', `${N} × ${AGENTS} over ${INSTANCES} instances (${dbName})`],
      [`CPU per world-step, ${small.worlds} worlds`, `${small.cpuPerStepMs.toFixed(2)} ms (${small.steps} steps)`],
      [`CPU per world-step, ${full.worlds} worlds`, `${full.cpuPerStepMs.toFixed(2)} ms (${full.steps} steps)`],
      ['per-world CPU, N / (N/3)', `${flat.toFixed(2)} (goal: within 1.20)`],
      [`step lag p50 / p99, ${small.worlds} worlds`, `${small.lagP50} / ${small.lagP99} ms`],
      [`step lag p50 / p99, ${full.worlds} worlds`, `${full.lagP50} / ${full.lagP99} ms`],
      ['placement (worlds per instance)', `${small.balance.join(' / ')} then ${full.balance.join(' / ')}`],
      ['failover after SIGKILL', `${failover.worlds} worlds claimed in ${failover.claimedMs} ms, stepping in ${failover.steppedMs} ms (goal < 10 s)`],
      ['handoff after SIGTERM', `${handoff.worlds} worlds claimed in ${handoff.claimedMs} ms, stepping in ${handoff.steppedMs} ms (goal < 2 s)`],
      ['inputs sent / lost / repeated', `${total} / ${lost} / ${repeated}`],
      ['CPU pressure (PSI some avg10)', String(cpuPressure())]
    ]
    report('bench:worlds', rows, {
      bench: 'worlds',
      worlds: N,
      agentsPerWorld: AGENTS,
      instances: INSTANCES,
      cpuPerWorldStepMs: { third: small.cpuPerStepMs, all: full.cpuPerStepMs, ratio: flat },
      stepLagMs: { third: { p50: small.lagP50, p99: small.lagP99 }, all: { p50: full.lagP50, p99: full.lagP99 } },
      balance: { third: small.balance, all: full.balance },
      failoverMs: failover.steppedMs,
      handoffMs: handoff.steppedMs,
      inputs: { sent: total, lost, repeated },
      goals: { cpuFlatWithin: 1.2, failoverMs: 10_000, handoffMs: 2000, lostOrRepeated: 0 },
      met: { cpuFlat: flat <= 1.2, failover: failover.steppedMs < 10_000, handoff: handoff.steppedMs < 2000, inputs: lost === 0 && repeated === 0 }
    })
  } finally {
    // BENCH_LOGS=<dir> keeps each instance's log (pino JSON lines) for a look at the timeline.
    if (process.env.BENCH_LOGS !== undefined) {
      for (const [i, s] of servers.entries()) await writeFile(join(process.env.BENCH_LOGS, `server-${i}.log`), s.stdout() + s.stderr())
    }
    for (const fn of cleanup) await fn()
    await store.db.dropDatabase().catch(() => {})
    await store.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1 })
