// npm run bench:sync — 1,000 clients speaking Convex's sync protocol (raw WebSockets on /api/<version>/sync, as
// ConvexClient would: Connect, then one ModifyQuerySet adding world:worldState and world:gameDescriptions) to a running
// 25-agent world for ~30 s; 20 of them also call world:heartbeatWorld every 500 ms.
// The server (bench/town.ts) runs in a child process (this file with BENCH_ROLE=server), so its CPU is measured apart
// from the clients'. Every Transition's versions are checked against the chain (its startVersion is the previous
// endVersion, exactly, and ts grows); commit → client = receive time − when the step's commit reached the store's change
// feed (noted in the server child), for the step whose engine.currentTime the worldState value carries. A mutation's
// round trip ends when the official client would resolve it: its MutationResponse has come and a Transition has
// reached the response's ts. The server's own part is shown apart: when the hub began and finished handing a step's
// frames to the sockets (its townhall.realtime.delivery diagnostics channel). Afterwards bench/ws.ts runs at the same
// size, for its figures beside these.
// Prints a table and ends with RESULT {json}.
// BENCH_CLIENTS, BENCH_SECONDS, BENCH_AGENTS and BENCH_MUTATORS change the size; BENCH_WS=0 skips bench/ws.ts.
import { randomUUID } from 'node:crypto'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import WebSocket from 'ws'
import { ask, cpuPressure, forkServer, largest, quantile, report, runBench, runRole, serverFanOuts, sleep, stepDelays, stopChild } from './lib.ts'
import { serveTown, type FromServer, type ToServer } from './town.ts'

const TRANSITION_PREFIX = Buffer.from('{"type":"Transition"')
const MUTATION_RESPONSE_PREFIX = Buffer.from('{"type":"MutationResponse"')
const PING = '{"type":"Ping"}'
const WORLD_STATE_UPDATED = Buffer.from('{"type":"QueryUpdated","queryId":0,"value":')
const QUERY_FAILED = Buffer.from('{"type":"QueryFailed"')
const QUERY_UPDATED_TAIL = Buffer.from(',"logLines":[],"journal":null}')
const CURRENT_TIME_KEY = Buffer.from('"currentTime":')
// The server writes the versions first; a frame they cannot be read from this way is parsed in full instead.
const VERSIONS = /^\{"type":"Transition","startVersion":\{"querySet":(\d+),"identity":(\d+),"ts":"([A-Za-z0-9+/=]{1,16})"\},"endVersion":\{"querySet":(\d+),"identity":(\d+),"ts":"([A-Za-z0-9+/=]{1,16})"\}/

const clientCount = Number(process.env.BENCH_CLIENTS ?? 1000)
const seconds = Number(process.env.BENCH_SECONDS ?? 30)
const agents = Number(process.env.BENCH_AGENTS ?? 25)
const mutatorCount = Math.min(clientCount, Number(process.env.BENCH_MUTATORS ?? 20))
const compareWithWs = process.env.BENCH_WS !== '0'
const mutateEveryMs = 500
const starvedAfterMs = 5000
const clientVersion = '1.19.2'

interface Version { querySet: number, identity: number, ts: bigint }
interface WireVersion { querySet: number, identity: number, ts: string }

/** A Convex u64 on the wire: base64 of its 8 little-endian bytes. */
function decodeTs (encoded: string): bigint {
  const bytes = Buffer.from(encoded, 'base64')
  if (bytes.length !== 8) throw new Error(`not a u64 timestamp: ${encoded}`)
  return bytes.readBigUInt64LE()
}

const sameVersion = (a: Version, b: Version): boolean => a.querySet === b.querySet && a.identity === b.identity && a.ts === b.ts

/** The start and end versions of a Transition, read from its first bytes (or, failing that, from the whole frame). */
function versions (data: Buffer): { start: Version, end: Version, parsedInFull: boolean } {
  const m = VERSIONS.exec(data.toString('latin1', 0, 256))
  if (m !== null) {
    return {
      start: { querySet: Number(m[1]), identity: Number(m[2]), ts: decodeTs(m[3]!) },
      end: { querySet: Number(m[4]), identity: Number(m[5]), ts: decodeTs(m[6]!) },
      parsedInFull: false
    }
  }
  const parsed = JSON.parse(data.toString()) as { startVersion: WireVersion, endVersion: WireVersion }
  const version = (v: WireVersion): Version => ({ querySet: v.querySet, identity: v.identity, ts: decodeTs(v.ts) })
  return { start: version(parsed.startVersion), end: version(parsed.endVersion), parsedInFull: true }
}

/** engine.currentTime of the worldState value in a Transition (engine is its last field), or null without one. */
function worldStateCurrentTime (data: Buffer): number | null {
  const from = data.indexOf(WORLD_STATE_UPDATED)
  if (from === -1) return null
  const to = data.indexOf(QUERY_UPDATED_TAIL, from)
  const at = data.lastIndexOf(CURRENT_TIME_KEY, to)
  if (to === -1 || at < from) throw new Error('could not find engine.currentTime in a Transition')
  return Number(/^([\d.]+)/.exec(data.toString('latin1', at + CURRENT_TIME_KEY.length, at + CURRENT_TIME_KEY.length + 24))?.[1])
}

interface Mutation { sentAt: number, respondedAt: number | null, ts: bigint | null }

interface Client {
  ws: WebSocket
  /** Where the client's view is: the next Transition must start here. */
  version: Version
  synced: boolean
  transitions: number
  lastTransition: number
  closed: number | null
  mutations: Map<number, Mutation>
  nextRequestId: number
}

async function main (): Promise<void> {
  const { child, exited } = forkServer(fileURLToPath(import.meta.url))
  let result: Record<string, unknown>
  let rows: Array<[string, string | number]>
  try {
    const { port, worldId } = await ask<FromServer, 'ready'>(child, 'ready')
    const url = `ws://127.0.0.1:${port}/api/${clientVersion}/sync`
    const args = [{ worldId }]
    const querySet = JSON.stringify({
      type: 'ModifyQuerySet',
      baseVersion: 0,
      newVersion: 1,
      modifications: [
        { type: 'Add', queryId: 0, udfPath: 'world:worldState', args },
        { type: 'Add', queryId: 1, udfPath: 'world:gameDescriptions', args }
      ]
    })

    // Samples only inside the measured window; the first Transition of each client (the current state) is not a change.
    let measuring = false
    let delays = new Float64Array(clientCount * (seconds + 5) * 2)
    let stamps = new Float64Array(delays.length)
    let samples = 0
    let received = 0
    let bytes = 0
    let outOfOrder = 0
    let chainBreaks = 0
    let tsNotGrowing = 0
    let parsedInFull = 0
    let queryFailures = 0
    let fatalErrors = 0
    let otherFrames = 0
    let mutationFailures = 0
    const roundTrips: number[] = []
    const responseTimes: number[] = []
    // Per step (keyed by currentTime): the first and last receive time over all clients, for the fan-out spread.
    const steps = new Map<number, { first: number, last: number }>()
    let windowStarted = Infinity

    const settle = (client: Client, requestId: number, m: Mutation, at: number): void => {
      client.mutations.delete(requestId)
      if (m.sentAt < windowStarted) return
      roundTrips.push(at - m.sentAt)
      responseTimes.push(m.respondedAt! - m.sentAt)
    }
    const onTransition = (client: Client, data: Buffer, now: number, monotonic: number): void => {
      const { start, end, parsedInFull: full } = versions(data)
      if (full) parsedInFull++
      const chained = sameVersion(start, client.version)
      const grows = end.ts > start.ts
      if (!chained) chainBreaks++
      if (!grows) tsNotGrowing++
      if (!chained || !grows) outOfOrder++
      client.version = end
      client.transitions++
      client.lastTransition = now
      // The official client resolves a mutation once it has its response and a Transition has reached its ts.
      for (const [requestId, m] of client.mutations) if (m.ts !== null && m.ts <= end.ts) settle(client, requestId, m, monotonic)
      if (data.indexOf(QUERY_FAILED) !== -1) queryFailures++
      const currentTime = worldStateCurrentTime(data)
      if (!client.synced) {
        client.synced = true
        const parsed = JSON.parse(data.toString()) as { modifications: Array<{ type: string, queryId: number, value?: { engine: { currentTime: number } } }> }
        const [state, descriptions] = [0, 1].map((id) => parsed.modifications.find((x) => x.queryId === id))
        if (state?.type !== 'QueryUpdated' || descriptions?.type !== 'QueryUpdated') throw new Error(`the first Transition does not hold both queries: ${data.toString().slice(0, 300)}`)
        if (state.value?.engine.currentTime !== currentTime) throw new Error('could not find engine.currentTime in a Transition')
        return
      }
      if (!measuring || currentTime === null) return
      received++
      bytes += data.length
      const seen = steps.get(currentTime)
      if (seen === undefined) steps.set(currentTime, { first: now, last: now })
      else seen.last = now
      if (samples === delays.length) {
        const grown = new Float64Array(delays.length * 2); grown.set(delays); delays = grown
        const grownStamps = new Float64Array(delays.length); grownStamps.set(stamps); stamps = grownStamps
      }
      stamps[samples] = currentTime
      delays[samples++] = now - currentTime
    }
    const onMutationResponse = (client: Client, data: Buffer, monotonic: number): void => {
      const response = JSON.parse(data.toString()) as { requestId: number, success: boolean, ts?: string }
      const m = client.mutations.get(response.requestId)
      if (m === undefined) return
      if (!response.success || response.ts === undefined) {
        mutationFailures++
        client.mutations.delete(response.requestId)
        return
      }
      m.respondedAt = monotonic
      m.ts = decodeTs(response.ts)
      if (m.ts <= client.version.ts) settle(client, response.requestId, m, monotonic)
    }

    const clients: Client[] = []
    const connectStarted = performance.now()
    for (let i = 0; i < clientCount; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, clientCount - i) }, async () => {
        const ws = new WebSocket(url, { perMessageDeflate: false })
        const client: Client = { ws, version: { querySet: 0, identity: 0, ts: 0n }, synced: false, transitions: 0, lastTransition: 0, closed: null, mutations: new Map(), nextRequestId: 0 }
        clients.push(client)
        ws.on('message', (data: Buffer) => {
          const now = Date.now()
          const monotonic = performance.now()
          // Only the small frames are parsed; of a Transition (~15 KB, 1,000 per step in this one process) the
          // versions and the clock are read straight from the bytes, or decoding would distort the delays measured.
          if (data.indexOf(TRANSITION_PREFIX) === 0) onTransition(client, data, now, monotonic)
          else if (data.indexOf(MUTATION_RESPONSE_PREFIX) === 0) onMutationResponse(client, data, monotonic)
          else if (data.toString() === PING) { /* keep-alive */ } else if (data.toString().startsWith('{"type":"FatalError"')) {
            fatalErrors++
            console.error(`FatalError: ${data.toString()}`)
          } else otherFrames++
        })
        ws.on('close', (code: number) => { client.closed = code })
        ws.on('error', () => {})
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => {
            ws.send(JSON.stringify({ type: 'Connect', sessionId: randomUUID(), connectionCount: 0, lastCloseReason: null }))
            ws.send(querySet)
            resolve()
          })
          ws.once('error', reject)
        })
      }))
    }
    const connectMs = performance.now() - connectStarted
    const deadline = Date.now() + 30_000
    while (clients.some((c) => !c.synced) && Date.now() < deadline) await sleep(50)
    const synced = clients.filter((c) => c.synced).length
    await sleep(2000)

    // The mutating clients are spread over the others, and their calls over the interval.
    const mutators = Array.from({ length: mutatorCount }, (_, i) => clients[Math.floor(i * clientCount / mutatorCount)]!)
    const mutation = (client: Client): void => {
      if (client.ws.readyState !== WebSocket.OPEN) return
      const requestId = client.nextRequestId++
      client.mutations.set(requestId, { sentAt: performance.now(), respondedAt: null, ts: null })
      client.ws.send(JSON.stringify({ type: 'Mutation', requestId, udfPath: 'world:heartbeatWorld', args }))
    }
    const timers: NodeJS.Timeout[] = []
    child.send({ type: 'measure' } satisfies ToServer)
    const cpu = process.cpuUsage()
    const windowStartedAt = Date.now()
    windowStarted = performance.now()
    measuring = true
    const loop = monitorEventLoopDelay({ resolution: 10 })
    loop.enable()
    mutators.forEach((client, i) => {
      timers.push(setTimeout(() => {
        mutation(client)
        timers.push(setInterval(() => { mutation(client) }, mutateEveryMs))
      }, i * mutateEveryMs / mutatorCount))
    })
    await sleep(seconds * 1000)
    for (const t of timers) clearTimeout(t)
    measuring = false
    const windowEnded = Date.now()
    const windowS = (windowEnded - windowStartedAt) / 1000
    const clientCpu = process.cpuUsage(cpu)
    child.send({ type: 'report' } satisfies ToServer)
    const server = await ask<FromServer, 'report'>(child, 'report')
    loop.disable()
    // Calls still on their way get a moment to finish; any left after it never resolved.
    const drainDeadline = Date.now() + 5000
    while (mutators.some((c) => c.mutations.size > 0) && Date.now() < drainDeadline) await sleep(20)
    const unresolved = mutators.reduce((n, c) => n + [...c.mutations.values()].filter((m) => m.sentAt >= windowStarted).length, 0)
    const mutationsSent = roundTrips.length + unresolved + mutationFailures

    const { sorted, sortedFromCommit, sortedStepLag, sortedSpread } = stepDelays(delays, stamps, samples, server.commits, steps)
    const fanOut = serverFanOuts(server.commits, server.fanOuts)
    const sortedRoundTrips = Float64Array.from(roundTrips).sort()
    const sortedResponses = Float64Array.from(responseTimes).sort()
    const starved = clients.filter((c) => windowEnded - c.lastTransition > starvedAfterMs).length
    const closed = clients.filter((c) => c.closed !== null).length
    const serverCpuPct = (server.cpuUserMs + server.cpuSystemMs) / server.wallMs * 100
    const ms = (x: number): number => Number(x.toFixed(1))
    const goals = {
      commitToClientP99Under50Ms: sortedFromCommit.length > 0 && quantile(sortedFromCommit, 0.99) < 50,
      mutationRoundTripP99Under20Ms: sortedRoundTrips.length > 0 && unresolved === 0 && quantile(sortedRoundTrips, 0.99) < 20,
      noStarvedClients: starved === 0,
      noOutOfOrderTransitions: outOfOrder === 0
    }
    for (const c of clients) c.ws.terminate()
    await stopChild(child, exited)

    // bench:ws at the same size, after this server has gone, so the two never share the machine.
    let ws: Record<string, unknown> | null = null
    if (compareWithWs) {
      console.error(`bench:sync done; running bench/ws.ts with ${clientCount} clients for ${seconds} s to compare…`)
      const wsResult = await runBench(fileURLToPath(new URL('./ws.ts', import.meta.url)), {
        BENCH_CLIENTS: String(clientCount), BENCH_SECONDS: String(seconds), BENCH_AGENTS: String(agents)
      }) as Record<string, unknown>
      ws = Object.fromEntries(['clients', 'connected', 'seconds', 'commitToClientP50Ms', 'commitToClientP99Ms', 'commitToClientMaxMs', 'starvedClients', 'closedClients',
        'serverCpuPercentOfOneCore', 'serverLoopDelayP99Ms', 'serverRssMb', 'mbPerSecond', 'loadAverage1m', 'cpuPressureSome10sPercent', 'goalMet'].map((k) => [k, wsResult[k]]))
    }

    result = {
      clients: clientCount,
      connected: clients.length - closed,
      agents,
      seconds: ms(windowS),
      protocol: `convex sync /api/${clientVersion}/sync, queries world:worldState + world:gameDescriptions`,
      delayP50Ms: ms(quantile(sorted, 0.5)),
      delayP99Ms: ms(quantile(sorted, 0.99)),
      delayMaxMs: ms(largest(sorted)),
      commitToClientP50Ms: ms(quantile(sortedFromCommit, 0.5)),
      commitToClientP99Ms: ms(quantile(sortedFromCommit, 0.99)),
      commitToClientMaxMs: ms(largest(sortedFromCommit)),
      stepStartToCommitP50Ms: ms(quantile(sortedStepLag, 0.5)),
      stepStartToCommitMaxMs: ms(largest(sortedStepLag)),
      fanOutSpreadP50Ms: ms(quantile(sortedSpread, 0.5)),
      fanOutSpreadMaxMs: ms(largest(sortedSpread)),
      serverCommitToFirstSendP50Ms: ms(quantile(fanOut.sortedToFirst, 0.5)),
      serverCommitToLastSendP50Ms: ms(quantile(fanOut.sortedToLast, 0.5)),
      serverCommitToLastSendP99Ms: ms(quantile(fanOut.sortedToLast, 0.99)),
      serverSendingP50Ms: ms(quantile(fanOut.sortedDuration, 0.5)),
      serverSendingMaxMs: ms(largest(fanOut.sortedDuration)),
      mutators: mutatorCount,
      mutationsSent,
      mutationsResolved: roundTrips.length,
      mutationsFailed: mutationFailures,
      mutationsUnresolved: unresolved,
      mutationRoundTripP50Ms: ms(quantile(sortedRoundTrips, 0.5)),
      mutationRoundTripP99Ms: ms(quantile(sortedRoundTrips, 0.99)),
      mutationRoundTripMaxMs: ms(largest(sortedRoundTrips)),
      mutationResponseP50Ms: ms(quantile(sortedResponses, 0.5)),
      mutationResponseP99Ms: ms(quantile(sortedResponses, 0.99)),
      worldStateTransitionsPerSecond: ms(received / windowS),
      mbPerSecond: Number((bytes / windowS / 2 ** 20).toFixed(2)),
      transitionsPerClientPerSecond: Number((received / windowS / clientCount).toFixed(2)),
      transitionsTotal: clients.reduce((n, c) => n + c.transitions, 0),
      stepsSeen: steps.size,
      starvedClients: starved,
      closedClients: closed,
      outOfOrderTransitions: outOfOrder,
      chainBreaks,
      tsNotGrowing,
      transitionsParsedInFull: parsedInFull,
      queryFailures,
      fatalErrors,
      otherFrames,
      server: 'child process',
      serverCpuPercentOfOneCore: ms(serverCpuPct),
      // Loopback TCP's kernel work (the receiving side's too) is charged to the sending server as system time.
      serverCpuUserPercent: ms(server.cpuUserMs / server.wallMs * 100),
      serverCpuSystemPercent: ms(server.cpuSystemMs / server.wallMs * 100),
      serverLoopDelayP99Ms: ms(server.loopDelayP99Ms),
      serverLoopDelayMaxMs: ms(server.loopDelayMaxMs),
      serverRssMb: Math.round(server.rssMb),
      clientCpuPercentOfOneCore: ms((clientCpu.user + clientCpu.system) / 1000 / (windowS * 1000) * 100),
      clientLoopDelayP99Ms: ms(loop.percentile(99) / 1e6),
      connectSeconds: ms(connectMs / 1000),
      clientsSynced: synced,
      hub: server.hub,
      loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
      cpuPressureSome10sPercent: cpuPressure(),
      ws,
      goals,
      goalMet: Object.values(goals).every(Boolean)
    }
    const yes = (ok: boolean): string => ok ? 'met' : 'NOT met'
    // Figures bench:ws measures too are shown side by side: sync first, then ws.
    const side = (a: unknown, b: unknown): string => `${String(a).padEnd(22)}${ws === null ? '' : String(b)}`
    rows = [
      ['clients (connected / asked)', `${String(result.connected)} / ${clientCount}`],
      ['agents in the world', agents],
      ['measured window (s)', ms(windowS)],
      ['distinct steps delivered', steps.size],
      ['worldState Transitions received', received],
      ['  per second, all clients / per client', `${String(result.worldStateTransitionsPerSecond)} / ${String(result.transitionsPerClientPerSecond)}`],
      ['MiB / s received', String(result.mbPerSecond)],
      ['delay p50 / p99 / max (ms), from currentTime', `${String(result.delayP50Ms)} / ${String(result.delayP99Ms)} / ${String(result.delayMaxMs)}`],
      ['  of which step start → commit p50 / max (ms)', `${String(result.stepStartToCommitP50Ms)} / ${String(result.stepStartToCommitMaxMs)}`],
      ['fan-out spread, first → last client, p50 / max (ms)', `${String(result.fanOutSpreadP50Ms)} / ${String(result.fanOutSpreadMaxMs)}`],
      ['in the server: commit → first frame sent, p50 (ms)', String(result.serverCommitToFirstSendP50Ms)],
      ['  commit → last frame sent, p50 / p99 (ms)', `${String(result.serverCommitToLastSendP50Ms)} / ${String(result.serverCommitToLastSendP99Ms)}`],
      ['  first → last frame sent, p50 / max (ms)', `${String(result.serverSendingP50Ms)} / ${String(result.serverSendingMaxMs)}`],
      ['', side('sync', ws === null ? '' : 'ws (separate run)')],
      ['commit → client p50 / p99 / max (ms)', side(`${String(result.commitToClientP50Ms)} / ${String(result.commitToClientP99Ms)} / ${String(result.commitToClientMaxMs)}`,
        `${String(ws?.commitToClientP50Ms)} / ${String(ws?.commitToClientP99Ms)} / ${String(ws?.commitToClientMaxMs)}`)],
      ['starved (nothing for 5 s)', side(starved, ws?.starvedClients)],
      ['closed by the server', side(closed, ws?.closedClients)],
      ['server CPU (% of one core)', side(result.serverCpuPercentOfOneCore, ws?.serverCpuPercentOfOneCore)],
      ['server event-loop delay p99 (ms)', side(result.serverLoopDelayP99Ms, ws?.serverLoopDelayP99Ms)],
      ['server RSS (MiB)', side(result.serverRssMb, ws?.serverRssMb)],
      ['', ''],
      ['server CPU user / system (% of one core)', `${String(result.serverCpuUserPercent)} / ${String(result.serverCpuSystemPercent)}`],
      ['server event-loop delay max (ms)', String(result.serverLoopDelayMaxMs)],
      ['Transitions out of order (chain / ts)', `${outOfOrder} (${chainBreaks} / ${tsNotGrowing})`],
      ['QueryFailed / FatalError / other frames', `${queryFailures} / ${fatalErrors} / ${otherFrames}`],
      [`mutations (${mutatorCount} clients, every ${mutateEveryMs} ms) resolved / sent`, `${roundTrips.length} / ${mutationsSent}${mutationFailures + unresolved > 0 ? ` (${mutationFailures} failed, ${unresolved} unresolved)` : ''}`],
      ['mutation round trip p50 / p99 / max (ms)', `${String(result.mutationRoundTripP50Ms)} / ${String(result.mutationRoundTripP99Ms)} / ${String(result.mutationRoundTripMaxMs)}`],
      ['  of which send → MutationResponse p50 / p99 (ms)', `${String(result.mutationResponseP50Ms)} / ${String(result.mutationResponseP99Ms)}`],
      ['hub groups / subscriptions / clients', Object.values(server.hub as Record<string, number>).join(' / ')],
      ['client CPU (% of one core, this process)', String(result.clientCpuPercentOfOneCore)],
      ['client event-loop delay p99 (ms)', String(result.clientLoopDelayP99Ms)],
      ['connect time for all clients (s)', String(result.connectSeconds)],
      ['goal: commit → client p99 < 50 ms', yes(goals.commitToClientP99Under50Ms)],
      ['goal: mutation round trip p99 < 20 ms', yes(goals.mutationRoundTripP99Under20Ms)],
      ['goal: none starved', yes(goals.noStarvedClients)],
      ['goal: no Transition out of order', yes(goals.noOutOfOrderTransitions)]
    ]
  } finally {
    await stopChild(child, exited)
  }
  report(`Convex sync fan-out: world:worldState + world:gameDescriptions, server in a child process (load ${String(result.loadAverage1m)}, CPU pressure ${String(result.cpuPressureSome10sPercent ?? '?')} %)`, rows, result)
}

runRole(async () => { await serveTown({ agents, tmpPrefix: 'townhall-bench-sync-' }) }, main)
