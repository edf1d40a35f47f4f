// npm run bench:http — input submissions per second through POST /api/mutation: world:sendWorldInput (moveTo, as a
// joined human player with its token) and world:heartbeatWorld, from N concurrent keep-alive clients for ~15 s, then
// the same window again on the old path (the caller found by loading the whole world) as `baseline`.
// The server (the default world: 8 agents) runs in a child process (this file with BENCH_ROLE=server), with the rate
// limit raised out of the way. Prints a table and ends with RESULT {json}. BENCH_CLIENTS and BENCH_SECONDS change the size.
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { ask, cpuPressure, forkServer, quantile, report, runRole, sleep, stopChild } from './lib.ts'

const clientCount = Number(process.env.BENCH_CLIENTS ?? 16)
const seconds = Number(process.env.BENCH_SECONDS ?? 15)
// A world holds at most 8 human players (MAX_HUMAN_PLAYERS); clients share them round-robin.
const players = Math.min(8, clientCount)
const drainLimitMs = 30_000

type ToServer = { type: 'measure' } | { type: 'report' } | { type: 'baseline' } | { type: 'stop' }
type FromServer =
  | { type: 'ready', port: number }
  | { type: 'baseline' }
  | { type: 'report', cpuUserMs: number, cpuSystemMs: number, wallMs: number, loopDelayP99Ms: number, loopDelayMaxMs: number, rssMb: number }

// ---- the server (child process) ----

async function serve (): Promise<void> {
  process.env.FASTIFY_AUTOLOAD_TYPESCRIPT = '1'
  const [{ default: Fastify }, { default: fp }, { default: app }, { loadConfig }] = await Promise.all([
    import('fastify'), import('fastify-plugin'), import('../src/app.ts'), import('../src/config.ts')
  ])
  const dir = mkdtempSync(join(tmpdir(), 'townhall-bench-http-'))
  const config = loadConfig({ LOG_LEVEL: 'warn', STORE: 'embedded', DATA_DIR: dir, ENGINE_DEFAULT_WORLD: 'true', RATE_LIMIT_MAX: '100000000' })
  const fastify = Fastify({ logger: false })
  await fastify.register(fp(app), { config })
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const address = fastify.server.address()
  const loop = monitorEventLoopDelay({ resolution: 10 })
  let cpu = process.cpuUsage()
  let wall = performance.now()
  process.on('message', (m: ToServer) => {
    if (m.type === 'measure') {
      cpu = process.cpuUsage(); wall = performance.now(); loop.reset(); loop.enable()
    } else if (m.type === 'report') {
      const used = process.cpuUsage(cpu)
      process.send!({
        type: 'report',
        cpuUserMs: used.user / 1000,
        cpuSystemMs: used.system / 1000,
        wallMs: performance.now() - wall,
        loopDelayP99Ms: loop.percentile(99) / 1e6,
        loopDelayMaxMs: loop.max / 1e6,
        rssMb: process.memoryUsage().rss / 2 ** 20
      } satisfies FromServer)
    } else if (m.type === 'baseline') {
      // The old path: without the world's record of its humans, sendWorldInput loads the whole world to find its caller.
      fastify.store.collection('worldStatus').updateMany({}, { $unset: { humans: 1 } })
        .then(() => { process.send!({ type: 'baseline' } satisfies FromServer) }, (err: unknown) => { console.error(err); process.exit(1) })
    } else if (m.type === 'stop') {
      fastify.close().finally(() => {
        rmSync(dir, { recursive: true, force: true })
        process.exit(0)
      })
    }
  })
  process.send!({ type: 'ready', port: typeof address === 'object' && address !== null ? address.port : 0 } satisfies FromServer)
}

// ---- the clients (this process) ----

interface Player { token: string, playerId: string }

async function main (): Promise<void> {
  const { child, exited } = forkServer(fileURLToPath(import.meta.url))
  try {
    const { port } = await ask<FromServer, 'ready'>(child, 'ready')
    const base = `http://127.0.0.1:${port}`
    const call = async (kind: 'query' | 'mutation', path: string, args: unknown, token?: string): Promise<unknown> => {
      const res = await fetch(`${base}/api/${kind}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ path, args })
      })
      const body = await res.json() as { value?: unknown }
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(body)}`)
      return body.value
    }
    const until = async <T>(what: string, probe: () => Promise<T | null>): Promise<T> => {
      const deadline = Date.now() + 30_000
      for (;;) {
        const v = await probe()
        if (v !== null) return v
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
        await sleep(100)
      }
    }
    const { worldId, engineId } = await until('the default world', async () => await call('query', 'world:defaultWorldStatus', {}) as { worldId: string, engineId: string } | null)
    const { worldMap } = await call('query', 'world:gameDescriptions', { worldId }) as { worldMap: { width: number, height: number } }
    const joined: Player[] = []
    for (let i = 0; i < players; i++) {
      const { token, tokenIdentifier } = await call('mutation', 'auth:newPlayerToken', {}) as { token: string, tokenIdentifier: string }
      await call('mutation', 'world:joinWorld', { worldId, name: `Bench ${i + 1}`, character: `f${(i % 8) + 1}` }, token)
      const playerId = await until(`player ${i + 1} to join`, async () => {
        const state = await call('query', 'world:worldState', { worldId }) as { world: { players: Array<{ id: string, human?: string }> } }
        return state.world.players.find((p) => p.human === tokenIdentifier)?.id ?? null
      })
      joined.push({ token, playerId })
    }
    const before = await call('query', 'world:worldState', { worldId }) as { engine: { processedInputNumber: number } }

    /** One measured window of moveTo and heartbeat requests from every client. */
    const measureWindow = async () => {
      const latencies = { moveTo: new Float64Array(1 << 20), heartbeat: new Float64Array(1 << 20) }
      const counts = { moveTo: 0, heartbeat: 0 }
      const statuses: Record<string, number> = {}
      let lastInputId = ''
      let seed = 1
      const random = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 }

      child.send({ type: 'measure' } satisfies ToServer)
      const cpu = process.cpuUsage()
      const started = performance.now()
      const deadline = started + seconds * 1000
      await Promise.all(Array.from({ length: clientCount }, async (_, c) => {
        const player = joined[c % joined.length]!
        const moveHeaders = { 'content-type': 'application/json', authorization: `Bearer ${player.token}` }
        const heartbeatBody = JSON.stringify({ path: 'world:heartbeatWorld', args: { worldId } })
        for (let n = 0; performance.now() < deadline; n++) {
          const kind = n % 2 === 0 ? 'moveTo' : 'heartbeat'
          const body = kind === 'moveTo'
            ? JSON.stringify({ path: 'world:sendWorldInput', args: { engineId, name: 'moveTo', args: { playerId: player.playerId, destination: { x: Math.floor(random() * worldMap.width), y: Math.floor(random() * worldMap.height) } } } })
            : heartbeatBody
          const t0 = performance.now()
          let status = 'error'
          try {
            const res = await fetch(`${base}/api/mutation`, { method: 'POST', headers: kind === 'moveTo' ? moveHeaders : { 'content-type': 'application/json' }, body })
            const text = await res.text()
            status = String(res.status)
            if (kind === 'moveTo' && res.status === 200) lastInputId = (JSON.parse(text) as { value: string }).value
          } catch {}
          const ms = performance.now() - t0
          statuses[status] = (statuses[status] ?? 0) + 1
          if (status !== '200') continue
          const i = counts[kind]++
          if (i < latencies[kind].length) latencies[kind][i] = ms
        }
      }))
      const elapsedS = (performance.now() - started) / 1000
      const clientCpu = process.cpuUsage(cpu)
      child.send({ type: 'report' } satisfies ToServer)
      const server = await ask<FromServer, 'report'>(child, 'report')
      const stats = (kind: 'moveTo' | 'heartbeat'): { count: number, perSecond: number, p50Ms: number, p99Ms: number, maxMs: number } => {
        const sorted = latencies[kind].slice(0, Math.min(counts[kind], latencies[kind].length)).sort()
        return {
          count: counts[kind],
          perSecond: Number((counts[kind] / elapsedS).toFixed(1)),
          p50Ms: Number(quantile(sorted, 0.5).toFixed(2)),
          p99Ms: Number(quantile(sorted, 0.99).toFixed(2)),
          maxMs: Number((sorted.length > 0 ? sorted[sorted.length - 1]! : 0).toFixed(2))
        }
      }
      const moveTo = stats('moveTo')
      const heartbeat = stats('heartbeat')
      return { moveTo, heartbeat, statuses, elapsedS, clientCpu, server, lastInputId }
    }
    // First the caller found by the world's record of its humans, then (same run, same world) the old path.
    const measured = await measureWindow()
    child.send({ type: 'baseline' } satisfies ToServer)
    await ask<FromServer, 'baseline'>(child, 'baseline')
    const baseline = await measureWindow()
    const { moveTo, heartbeat, statuses, elapsedS, clientCpu, server } = measured
    const lastInputId = baseline.lastInputId
    // How long the engine takes to apply the backlog: the last moveTo's status turns non-null once applied.
    const drainStarted = Date.now()
    const processedAtEnd = await (async () => {
      const s = await call('query', 'world:worldState', { worldId }) as { engine: { processedInputNumber: number } }
      return s.engine.processedInputNumber
    })()
    let drainMs: number | null = null
    for (let done = lastInputId === ''; !done && Date.now() - drainStarted < drainLimitMs;) {
      done = await call('query', 'main:inputStatus', { inputId: lastInputId }) !== null
      if (done) drainMs = Date.now() - drainStarted
      else await sleep(200)
    }
    const after = await call('query', 'world:worldState', { worldId }) as { engine: { processedInputNumber: number } }

    const result = {
      clients: clientCount,
      players: joined.length,
      seconds: Number(elapsedS.toFixed(1)),
      requestsPerSecond: Number(((moveTo.count + heartbeat.count) / elapsedS).toFixed(1)),
      moveTo,
      heartbeat,
      statuses,
      // The same window on the old path (the whole world loaded per input), right after, in the same run.
      baseline: { moveTo: baseline.moveTo, heartbeat: baseline.heartbeat, statuses: baseline.statuses, serverCpuPercentOfOneCore: Number(((baseline.server.cpuUserMs + baseline.server.cpuSystemMs) / baseline.server.wallMs * 100).toFixed(1)) },
      inputsAppliedDuringRun: processedAtEnd - before.engine.processedInputNumber,
      drainMs,
      inputsAppliedAfterDrain: after.engine.processedInputNumber - before.engine.processedInputNumber,
      server: 'child process',
      serverCpuPercentOfOneCore: Number(((server.cpuUserMs + server.cpuSystemMs) / server.wallMs * 100).toFixed(1)),
      serverLoopDelayP99Ms: Number(server.loopDelayP99Ms.toFixed(1)),
      serverRssMb: Math.round(server.rssMb),
      loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
      cpuPressureSome10sPercent: cpuPressure(),
      clientCpuPercentOfOneCore: Number(((clientCpu.user + clientCpu.system) / 1000 / (elapsedS * 1000) * 100).toFixed(1))
    }
    const rows: Array<[string, string | number]> = [
      ['concurrent keep-alive clients', clientCount],
      ['human players (tokens)', joined.length],
      ['window (s)', result.seconds],
      ['requests / s (both kinds)', result.requestsPerSecond],
      ['sendWorldInput moveTo / s', moveTo.perSecond],
      ['  latency p50 / p99 / max (ms)', `${moveTo.p50Ms} / ${moveTo.p99Ms} / ${moveTo.maxMs}`],
      ['  old path (whole world loaded) moveTo / s', baseline.moveTo.perSecond],
      ['  old path latency p50 / p99 / max (ms)', `${baseline.moveTo.p50Ms} / ${baseline.moveTo.p99Ms} / ${baseline.moveTo.maxMs}`],
      ['heartbeatWorld / s', heartbeat.perSecond],
      ['  latency p50 / p99 / max (ms)', `${heartbeat.p50Ms} / ${heartbeat.p99Ms} / ${heartbeat.maxMs}`],
      ['statuses', JSON.stringify(statuses)],
      ['moveTo inputs accepted', moveTo.count],
      ['inputs applied during the run (agents\' too)', result.inputsAppliedDuringRun],
      ['inputs applied by the end of the drain', result.inputsAppliedAfterDrain],
      ['time to apply the last input (ms)', drainMs ?? `> ${drainLimitMs}`],
      ['server CPU (% of one core)', result.serverCpuPercentOfOneCore],
      ['server event-loop delay p99 (ms)', result.serverLoopDelayP99Ms],
      ['server RSS (MiB)', result.serverRssMb],
      ['client CPU (% of one core, this process)', result.clientCpuPercentOfOneCore]
    ]
    report(`HTTP input submissions: POST /api/mutation, server in a child process (load ${result.loadAverage1m}, CPU pressure ${result.cpuPressureSome10sPercent ?? '?'} %)`, rows, result)
  } finally {
    await stopChild(child, exited)
  }
}

runRole(serve, main)
