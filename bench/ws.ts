// npm run bench:ws — 1,000 WebSocket clients subscribed to world:worldState of a running 25-agent world for ~30 s.
// The server (bench/town.ts) runs in a child process (this file with BENCH_ROLE=server), so its CPU is measured apart from the clients'.
// Delay = the client's receive time − the value's engine.currentTime (the API offers no commit time; currentTime is the
// clock the step simulated up to, taken when the step began, so the delay is an upper bound on commit → client and
// includes the step's own compute and commit). As a breakdown, the server child also notes when each step's commit
// reached the store's change feed (a listener, no server code changed): commit → client is receive time minus that.
// Prints a table and ends with RESULT {json}.
// BENCH_CLIENTS, BENCH_SECONDS and BENCH_AGENTS change the size.
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import WebSocket from 'ws'
import { ask, cpuPressure, forkServer, largest, quantile, report, runRole, serverFanOuts, sleep, stepDelays, stopChild } from './lib.ts'
import { serveTown, type FromServer, type ToServer } from './town.ts'

const VALUE_PREFIX = Buffer.from('{"type":"value"')
const VERSION_KEY = '"version":'
const CURRENT_TIME_KEY = '"currentTime":'

const clientCount = Number(process.env.BENCH_CLIENTS ?? 1000)
const seconds = Number(process.env.BENCH_SECONDS ?? 30)
const agents = Number(process.env.BENCH_AGENTS ?? 25)
const starvedAfterMs = 5000

// ---- the clients (this process) ----

interface Client {
  ws: WebSocket
  first: boolean
  values: number
  lastReceive: number
  lastVersion: number
  closed: number | null
}

async function main (): Promise<void> {
  const { child, exited } = forkServer(fileURLToPath(import.meta.url))
  try {
    const { port, worldId } = await ask<FromServer, 'ready'>(child, 'ready')
    const url = `ws://127.0.0.1:${port}/api/ws`
    const subscribe = JSON.stringify({ type: 'subscribe', id: 'state', path: 'world:worldState', args: { worldId } })

    // Samples only inside the measured window; the first value of each client (the current state) is not a change.
    let measuring = false
    let delays = new Float64Array(clientCount * (seconds + 5) * 2)
    let stamps = new Float64Array(delays.length)
    let samples = 0
    let received = 0
    let bytes = 0
    let regressions = 0
    let errors = 0
    // Per step (keyed by currentTime): the first and last receive time over all clients, for the fan-out spread.
    const steps = new Map<number, { first: number, last: number }>()
    const clients: Client[] = []
    const connectStarted = performance.now()
    for (let i = 0; i < clientCount; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, clientCount - i) }, async () => {
        const ws = new WebSocket(url, { perMessageDeflate: false })
        const client: Client = { ws, first: true, values: 0, lastReceive: 0, lastVersion: 0, closed: null }
        clients.push(client)
        ws.on('message', (data: Buffer) => {
          const now = Date.now()
          // Read the two numbers straight from the bytes: decoding 1,000 × 15 KB per step in this one client
          // process would otherwise dominate (and distort) the delays being measured.
          if (data.indexOf(VALUE_PREFIX) !== 0) { errors++; return }
          const v = data.indexOf(VERSION_KEY)
          const version = Number(/^(\d+)/.exec(data.toString('latin1', v + VERSION_KEY.length, v + VERSION_KEY.length + 16))?.[1])
          if (version <= client.lastVersion) regressions++
          client.lastVersion = version
          client.lastReceive = now
          client.values++
          // engine is the value's last field; its currentTime is the last one in the frame.
          const at = data.lastIndexOf(CURRENT_TIME_KEY)
          const currentTime = Number(/^([\d.]+)/.exec(data.toString('latin1', at + CURRENT_TIME_KEY.length, at + CURRENT_TIME_KEY.length + 24))?.[1])
          const text = client.first ? data.toString() : ''
          if (client.first) {
            client.first = false
            const parsed = JSON.parse(text) as { value: { engine: { currentTime: number } } }
            if (parsed.value.engine.currentTime !== currentTime) throw new Error('could not find engine.currentTime in a frame')
            return
          }
          if (!measuring) return
          received++
          const seen = steps.get(currentTime)
          if (seen === undefined) steps.set(currentTime, { first: now, last: now })
          else seen.last = now
          bytes += data.length
          if (samples === delays.length) {
            const grown = new Float64Array(delays.length * 2); grown.set(delays); delays = grown
            const grownStamps = new Float64Array(delays.length); grownStamps.set(stamps); stamps = grownStamps
          }
          stamps[samples] = currentTime
          delays[samples++] = now - currentTime
        })
        ws.on('close', (code: number) => { client.closed = code })
        ws.on('error', () => {})
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => { ws.send(subscribe); resolve() })
          ws.once('error', reject)
        })
      }))
    }
    const connectMs = performance.now() - connectStarted
    const deadline = Date.now() + 30_000
    while (clients.some((c) => c.first) && Date.now() < deadline) await sleep(50)
    const withFirstValue = clients.filter((c) => !c.first).length
    await sleep(2000)

    child.send({ type: 'measure' } satisfies ToServer)
    const cpu = process.cpuUsage()
    const windowStarted = Date.now()
    measuring = true
    const loop = monitorEventLoopDelay({ resolution: 10 })
    loop.enable()
    await sleep(seconds * 1000)
    measuring = false
    const windowEnded = Date.now()
    const windowS = (windowEnded - windowStarted) / 1000
    const clientCpu = process.cpuUsage(cpu)
    child.send({ type: 'report' } satisfies ToServer)
    const server = await ask<FromServer, 'report'>(child, 'report')
    loop.disable()

    const { sorted, sortedFromCommit, sortedStepLag, sortedSpread } = stepDelays(delays, stamps, samples, server.commits, steps)
    const fanOut = serverFanOuts(server.commits, server.fanOuts)
    const starved = clients.filter((c) => windowEnded - c.lastReceive > starvedAfterMs).length
    const closed = clients.filter((c) => c.closed !== null).length
    const serverCpuPct = (server.cpuUserMs + server.cpuSystemMs) / server.wallMs * 100
    const result = {
      clients: clientCount,
      connected: clients.length - closed,
      agents,
      seconds: Number(windowS.toFixed(1)),
      delayBasis: 'receive time - value.engine.currentTime',
      delayP50Ms: Number(quantile(sorted, 0.5).toFixed(1)),
      delayP99Ms: Number(quantile(sorted, 0.99).toFixed(1)),
      delayMaxMs: Number((sorted.length > 0 ? sorted[sorted.length - 1]! : 0).toFixed(1)),
      commitToClientP50Ms: Number(quantile(sortedFromCommit, 0.5).toFixed(1)),
      commitToClientP99Ms: Number(quantile(sortedFromCommit, 0.99).toFixed(1)),
      commitToClientMaxMs: Number((sortedFromCommit.length > 0 ? sortedFromCommit[sortedFromCommit.length - 1]! : 0).toFixed(1)),
      stepStartToCommitP50Ms: Number(quantile(sortedStepLag, 0.5).toFixed(1)),
      stepStartToCommitMaxMs: Number((sortedStepLag.length > 0 ? sortedStepLag[sortedStepLag.length - 1]! : 0).toFixed(1)),
      fanOutSpreadP50Ms: Number(quantile(sortedSpread, 0.5).toFixed(1)),
      fanOutSpreadMaxMs: Number((sortedSpread.length > 0 ? sortedSpread[sortedSpread.length - 1]! : 0).toFixed(1)),
      serverCommitToFirstSendP50Ms: Number(quantile(fanOut.sortedToFirst, 0.5).toFixed(1)),
      serverCommitToLastSendP50Ms: Number(quantile(fanOut.sortedToLast, 0.5).toFixed(1)),
      serverCommitToLastSendP99Ms: Number(quantile(fanOut.sortedToLast, 0.99).toFixed(1)),
      serverSendingP50Ms: Number(quantile(fanOut.sortedDuration, 0.5).toFixed(1)),
      serverSendingMaxMs: Number(largest(fanOut.sortedDuration).toFixed(1)),
      messagesPerSecond: Number((received / windowS).toFixed(1)),
      mbPerSecond: Number((bytes / windowS / 2 ** 20).toFixed(2)),
      valuesPerClientPerSecond: Number((received / windowS / clientCount).toFixed(2)),
      stepsSeen: steps.size,
      starvedClients: starved,
      closedClients: closed,
      versionRegressions: regressions,
      otherFrames: errors,
      server: 'child process',
      serverCpuPercentOfOneCore: Number(serverCpuPct.toFixed(1)),
      serverLoopDelayP99Ms: Number(server.loopDelayP99Ms.toFixed(1)),
      serverLoopDelayMaxMs: Number(server.loopDelayMaxMs.toFixed(1)),
      serverRssMb: Math.round(server.rssMb),
      clientCpuPercentOfOneCore: Number(((clientCpu.user + clientCpu.system) / 1000 / (windowS * 1000) * 100).toFixed(1)),
      clientLoopDelayP99Ms: Number((loop.percentile(99) / 1e6).toFixed(1)),
      connectSeconds: Number((connectMs / 1000).toFixed(1)),
      clientsWithFirstValue: withFirstValue,
      hub: server.hub,
      loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
      cpuPressureSome10sPercent: cpuPressure(),
      // The goal is on the delay from commit to client; the delay from the step's start is shown beside it.
      goalMet: sortedFromCommit.length > 0 && quantile(sortedFromCommit, 0.99) < 50 && starved === 0 && closed === 0
    }
    const rows: Array<[string, string | number]> = [
      ['clients (connected / asked)', `${result.connected} / ${clientCount}`],
      ['agents in the world', agents],
      ['measured window (s)', result.seconds],
      ['distinct steps delivered', result.stepsSeen],
      ['values received', received],
      ['values / s (all clients)', result.messagesPerSecond],
      ['values / s per client', result.valuesPerClientPerSecond],
      ['MiB / s received', result.mbPerSecond],
      ['delay p50 / p99 / max (ms), from currentTime', `${result.delayP50Ms} / ${result.delayP99Ms} / ${result.delayMaxMs}`],
      ['  of which step start → commit p50 / max (ms)', `${result.stepStartToCommitP50Ms} / ${result.stepStartToCommitMaxMs}`],
      ['commit → client p50 / p99 / max (ms)', `${result.commitToClientP50Ms} / ${result.commitToClientP99Ms} / ${result.commitToClientMaxMs}`],
      ['fan-out spread, first → last client, p50 / max (ms)', `${result.fanOutSpreadP50Ms} / ${result.fanOutSpreadMaxMs}`],
      ['in the server: commit → first frame sent, p50 (ms)', result.serverCommitToFirstSendP50Ms],
      ['  commit → last frame sent, p50 / p99 (ms)', `${result.serverCommitToLastSendP50Ms} / ${result.serverCommitToLastSendP99Ms}`],
      ['  first → last frame sent, p50 / max (ms)', `${result.serverSendingP50Ms} / ${result.serverSendingMaxMs}`],
      ['starved (nothing for 5 s)', starved],
      ['closed by the server', closed],
      ['version regressions', regressions],
      ['server CPU (% of one core)', result.serverCpuPercentOfOneCore],
      ['server event-loop delay p99 / max (ms)', `${result.serverLoopDelayP99Ms} / ${result.serverLoopDelayMaxMs}`],
      ['server RSS (MiB)', result.serverRssMb],
      ['client CPU (% of one core, this process)', result.clientCpuPercentOfOneCore],
      ['connect time for all clients (s)', result.connectSeconds],
      ['goal: commit → client p99 < 50 ms, none starved', result.goalMet ? 'met' : 'NOT met']
    ]
    report(`WebSocket fan-out: world:worldState, delay = receive time − engine.currentTime, server in a child process (load ${result.loadAverage1m}, CPU pressure ${result.cpuPressureSome10sPercent ?? '?'} %)`, rows, result)
    for (const c of clients) c.ws.terminate()
  } finally {
    await stopChild(child, exited)
  }
}

runRole(async () => { await serveTown({ agents, tmpPrefix: 'townhall-bench-ws-' }) }, main)
