// The server role the realtime benchmarks share: a running world of N agents in an embedded store, the app on a
// free port, and, on request over IPC, its CPU, event-loop delay, RSS, hub stats, each step's commit time, and when
// the hub's fan-out of each step began and ended (from the townhall.realtime.delivery diagnostics channel).
// BENCH_PROFILE=<file.cpuprofile> writes the server's CPU profile of the measured window (open it in Chrome DevTools).
import { subscribe } from 'node:diagnostics_channel'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { DeliveryMessage } from '../src/realtime/hub.ts'

export type ToServer = { type: 'measure' } | { type: 'report' } | { type: 'stop' }
export type FromServer =
  | { type: 'ready', port: number, worldId: string }
  | { type: 'report', cpuUserMs: number, cpuSystemMs: number, wallMs: number, loopDelayP99Ms: number, loopDelayMaxMs: number, rssMb: number, hub: unknown, commits: Array<[number, number]>, fanOuts: FanOut[] }

/** One step's fan-out of world:worldState in the server: its currentTime, first and last send (Date.now()), and clients sent to. */
export type FanOut = [currentTime: number, startedAt: number, endedAt: number, clients: number]

export interface TownOptions {
  agents: number
  /** The temp data directory's name prefix, so a leftover one says which benchmark made it. */
  tmpPrefix: string
}

/** Runs in the server child process (BENCH_ROLE=server) and answers the benchmark over IPC until told to stop. */
export async function serveTown ({ agents, tmpPrefix }: TownOptions): Promise<void> {
  process.env.FASTIFY_AUTOLOAD_TYPESCRIPT = '1'
  const [{ default: Fastify }, { default: fp }, { default: app }, { loadConfig }, { EmbeddedStore }, { createWorldRecords }, { defaultCast }] = await Promise.all([
    import('fastify'), import('fastify-plugin'), import('../src/app.ts'), import('../src/config.ts'), import('../src/store/embedded.ts'),
    import('../src/engine/worlds.ts'), import('../src/game/data/characters.ts')
  ])
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix))
  // The world is made before the app starts, so the engine picks it up on its first pass.
  const store = new EmbeddedStore({ dataDir: dir })
  const cast = Array.from({ length: agents }, (_, i) => {
    const base = defaultCast[i % defaultCast.length]!
    return { ...base, name: `${base.name} ${Math.floor(i / defaultCast.length) + 1}` }
  })
  const status = await createWorldRecords(store, { now: Date.now(), cast, agents, seed: 25 })
  await store.close()
  const config = loadConfig({ LOG_LEVEL: 'warn', STORE: 'embedded', DATA_DIR: dir, ENGINE_DEFAULT_WORLD: 'false', RATE_LIMIT_MAX: '100000000' })
  const fastify = Fastify({ logger: false })
  await fastify.register(fp(app), { config })
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const address = fastify.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const loop = monitorEventLoopDelay({ resolution: 10 })
  let cpu = process.cpuUsage()
  let wall = performance.now()
  // When each step (keyed by its currentTime) was committed, as the change feed reports it.
  const commits = new Map<number, number>()
  fastify.changeFeed.subscribe(['worlds'], (e) => {
    const currentTime = (e.doc as { step?: { currentTime?: number } } | undefined)?.step?.currentTime
    if (e.id === status.worldId && typeof currentTime === 'number' && !commits.has(currentTime)) commits.set(currentTime, Date.now())
  })
  // Each step's worldState fan-out; a step's value can go out in more than one delivery (clients held back, joins).
  const fanOuts = new Map<number, FanOut>()
  subscribe('townhall.realtime.delivery', (message) => {
    const { queries, clients, startedAt, endedAt } = message as DeliveryMessage
    for (const q of queries) {
      const currentTime = (q.value as { engine?: { currentTime?: number } } | undefined)?.engine?.currentTime
      if (q.path !== 'world:worldState' || typeof currentTime !== 'number') continue
      const seen = fanOuts.get(currentTime)
      if (seen === undefined) fanOuts.set(currentTime, [currentTime, startedAt, endedAt, clients])
      else { seen[2] = Math.max(seen[2], endedAt); seen[3] += clients }
    }
  })
  const profileTo = process.env.BENCH_PROFILE
  const profiler = profileTo === undefined || profileTo === '' ? null : new Session()
  let profiled = Promise.resolve()
  const send = (m: FromServer): void => { process.send!(m) }
  process.on('message', async (m: ToServer) => {
    if (m.type === 'measure') {
      cpu = process.cpuUsage(); wall = performance.now(); loop.reset(); loop.enable()
      if (profiler !== null) {
        profiler.connect()
        await profiler.post('Profiler.enable')
        await profiler.post('Profiler.start')
      }
    } else if (m.type === 'report') {
      const used = process.cpuUsage(cpu)
      send({
        type: 'report',
        cpuUserMs: used.user / 1000,
        cpuSystemMs: used.system / 1000,
        wallMs: performance.now() - wall,
        loopDelayP99Ms: loop.percentile(99) / 1e6,
        loopDelayMaxMs: loop.max / 1e6,
        rssMb: process.memoryUsage().rss / 2 ** 20,
        hub: fastify.realtime.stats,
        commits: [...commits],
        fanOuts: [...fanOuts.values()]
      })
      if (profiler !== null) {
        profiled = profiler.post('Profiler.stop').then(({ profile }) => { writeFileSync(profileTo!, JSON.stringify(profile)) })
      }
    } else if (m.type === 'stop') {
      profiled.then(async () => { await fastify.close() }).finally(() => {
        rmSync(dir, { recursive: true, force: true })
        process.exit(0)
      })
    }
  })
  send({ type: 'ready', port, worldId: status.worldId })
}
