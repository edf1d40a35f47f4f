// Subscribers carry on when their instance goes away (issue #13; the anchor is get-convex/convex-backend#466,
// minutes of rejected queries after a deploy). Two real server processes on the MongoDB-wire server behind a
// TCP load balancer written here (the stand-in for nginx or an ALB): the official convex client and the viewer's
// own /api/ws client subscribe through it; the instance they are on is SIGKILLed, then another one SIGTERMed.
// Both clients reconnect through the balancer to a live instance, keep their identity, see mutations sent
// afterwards, and have no query rejected.
import { test } from 'tap'
import net from 'node:net'
import WebSocket from 'ws'
import { ConvexClient } from 'convex/browser'
import { anyApi } from 'convex/server'
import { storeTargets } from '../helpers/stores.ts'
import { startServer, type ServerProcess } from '../helpers/server.ts'
import { ADMIN_KEY } from '../helpers/api.ts'
import { Connection, type ConnectionStatus } from '../../src/viewer/connection.ts'

const mongo = storeTargets().find((s) => s.name === 'mongodb')
const skip = mongo === undefined ? 'MONGODB_URL is not set (CI sets it to the MongoDB-wire test server)' : false

/** Generous bound from a kill to the first update a client gets from the other instance. */
const RECONNECT_BOUND_MS = 15_000

interface Balancer {
  url: string
  /** Ports tried in order for each new client connection; a backend that refuses is skipped. */
  backends: number[]
  /** Client connections handed to each backend port, counted. */
  handed: Map<number, number>
  /** When each connection was handed over, and to which port. */
  log: Array<{ port: number, at: number }>
}

/** A TCP load balancer: each new connection goes to the first backend that accepts; no stickiness. */
async function balancer (t: { teardown: (fn: () => unknown) => void }, backends: number[]): Promise<Balancer> {
  const open = new Set<net.Socket>()
  const lb: Balancer = { url: '', backends, handed: new Map(), log: [] }
  const server = net.createServer((client) => {
    open.add(client)
    client.on('error', () => {})
    client.on('close', () => { open.delete(client) })
    client.pause()
    const attempt = (i: number): void => {
      if (client.destroyed) return
      const port = lb.backends[i]
      if (port === undefined) { client.destroy(); return }
      const upstream = net.connect(port, '127.0.0.1')
      open.add(upstream)
      upstream.on('close', () => { open.delete(upstream) })
      upstream.once('error', () => { if (!upstream.readyState.includes('open')) attempt(i + 1) })
      upstream.once('connect', () => {
        lb.handed.set(port, (lb.handed.get(port) ?? 0) + 1)
        lb.log.push({ port, at: Date.now() })
        upstream.on('error', () => {})
        // A backend that goes away takes its client connections with it, as a real balancer's would.
        upstream.on('close', () => { client.destroy() })
        client.on('close', () => { upstream.destroy() })
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
      })
    }
    attempt(0)
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  lb.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  t.teardown(async () => {
    for (const s of open) s.destroy()
    await new Promise((resolve) => { server.close(resolve) })
  })
  return lb
}

const portOf = (server: ServerProcess): number => Number(new URL(server.url).port)

/** HTTP through the balancer; a pooled connection to a dead instance fails once, so network errors are retried. */
async function call<T> (lb: Balancer, path: string, body: unknown, token?: string): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      const response = await fetch(`${lb.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body)
      })
      const json = await response.json() as T
      if (!response.ok) throw Object.assign(new Error(`${path}: ${response.status} ${JSON.stringify(json)}`), { fatal: true })
      return json
    } catch (err) {
      if ((err as { fatal?: boolean }).fatal === true || tries >= 20) throw err
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

async function waitFor<T> (read: () => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = read()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interface Received { at: number, frame: { type: string, modifications?: Array<{ type: string }>, error?: string, message?: string } }
interface Sent { at: number, message: { type: string, connectionCount?: number, lastCloseReason?: string | null, sessionId?: string, baseVersion?: number, tokenType?: string } }
interface State { world: { players: Array<{ id: string, human?: string }> }, engine: { currentTime: number } }
interface WorldRow { worldId: string, name: string }

/** The official convex client through the balancer, with every server message recorded with its arrival time. */
function convexClient (t: { teardown: (fn: () => unknown) => void }, url: string): { client: ConvexClient, received: Received[], sent: Sent[] } {
  const received: Received[] = []
  const sent: Sent[] = []
  class RecordingSocket extends WebSocket {
    constructor (address: string, protocols?: string | string[]) {
      super(address, protocols)
      this.on('message', (data) => { received.push({ at: Date.now(), frame: JSON.parse(String(data)) as Received['frame'] }) })
    }

    override send (data: unknown, ...rest: unknown[]): void {
      sent.push({ at: Date.now(), message: JSON.parse(String(data)) as Sent['message'] })
      super.send(data as string, ...(rest as []))
    }
  }
  const client = new ConvexClient(url, { webSocketConstructor: RecordingSocket as unknown as typeof globalThis.WebSocket, skipConvexDeploymentUrlCheck: true, unsavedChangesWarning: false })
  t.teardown(async () => { await client.close() })
  return { client, received, sent }
}

/** The viewer's /api/ws client (reconnect with jittered backoff, resubscribe) over `ws`, frames recorded. */
function viewerClient (t: { teardown: (fn: () => unknown) => void }, url: string): { connection: Connection, received: Received[], statuses: ConnectionStatus[] } {
  const received: Received[] = []
  class RecordingSocket extends WebSocket {
    constructor (address: string | URL, protocols?: string | string[]) {
      super(address, protocols)
      this.on('message', (data) => { received.push({ at: Date.now(), frame: JSON.parse(String(data)) as Received['frame'] }) })
    }
  }
  const original = (globalThis as { WebSocket?: unknown }).WebSocket
  Object.assign(globalThis, { WebSocket: RecordingSocket })
  const statuses: ConnectionStatus[] = []
  const connection = new Connection(`${url}/`, (status) => { statuses.push(status) })
  t.teardown(() => {
    connection.close()
    Object.assign(globalThis, { WebSocket: original })
  })
  return { connection, received, statuses }
}

/** Rejections a client got at or after `since`: QueryFailed, AuthError, FatalError, or an /api/ws error frame. */
function rejections (received: Received[], since: number): string[] {
  return received.filter((r) => r.at >= since).flatMap(({ frame }) => {
    if (frame.type === 'FatalError' || frame.type === 'AuthError') return [`${frame.type}: ${frame.error ?? ''}`]
    if (frame.type === 'error') return [`error: ${frame.message ?? ''}`]
    return (frame.modifications ?? []).filter((m) => m.type === 'QueryFailed').map((m) => JSON.stringify(m))
  })
}

/** When the first query value reached a client at or after `since`. */
const firstValueAt = (received: Received[], since: number): number | undefined =>
  received.find((r) => r.at >= since && (r.frame.type === 'value' || (r.frame.type === 'Transition' && (r.frame.modifications ?? []).some((m) => m.type === 'QueryUpdated'))))?.at

test('subscribers reconnect through the balancer and carry on when their instance is SIGKILLed, then when another is SIGTERMed', { skip, timeout: 480_000 }, async (t) => {
  const { config, store } = await mongo!.fresh(t)
  await store.close()
  // A generous grace: on a loaded machine the world handoff alone can take seconds; this test is about subscribers.
  const env = { ...config, LOG_LEVEL: 'info', ADMIN_API_KEY: ADMIN_KEY, SHUTDOWN_GRACE_MS: '20000' }
  const a = await startServer(t, { ...env, DATA_DIR: `${config.DATA_DIR}/a` }, 180_000)
  const b = await startServer(t, { ...env, DATA_DIR: `${config.DATA_DIR}/b`, ENGINE_DEFAULT_WORLD: 'false' }, 180_000)
  const lb = await balancer(t, [portOf(a), portOf(b)])

  // A player token for each client, through the balancer: each keeps its identity across instances.
  const convexToken = (await call<{ value: { token: string, tokenIdentifier: string } }>(lb, '/api/mutation', { path: 'auth:newPlayerToken', args: {} })).value
  const viewerToken = (await call<{ value: { token: string, tokenIdentifier: string } }>(lb, '/api/mutation', { path: 'auth:newPlayerToken', args: {} })).value

  const convex = convexClient(t, lb.url)
  convex.client.setAuth(async () => convexToken.token)
  const statuses: Array<{ worldId: string, engineId: string } | null> = []
  convex.client.onUpdate(anyApi.world.defaultWorldStatus, {}, (s: { worldId: string, engineId: string } | null) => { statuses.push(s) })
  const { worldId } = await waitFor(() => statuses.find((s) => s !== null) ?? undefined, 'the default world')

  // Each client watches the world (changes every step), the world list (changed by an admin mutation over HTTP)
  // and who it is (its token's identity, which must survive the reconnect).
  const convexStates: State[] = []
  const convexWorlds: WorldRow[][] = []
  const convexMe: Array<string | null> = []
  convex.client.onUpdate(anyApi.world.worldState, { worldId }, (s: State) => { convexStates.push(s) })
  convex.client.onUpdate(anyApi.world.listWorlds, {}, (w: WorldRow[]) => { convexWorlds.push(w) })
  convex.client.onUpdate(anyApi.world.userStatus, { worldId }, (me: string | null) => { convexMe.push(me) })

  const viewer = viewerClient(t, lb.url)
  const viewerStates: State[] = []
  const viewerWorlds: WorldRow[][] = []
  const viewerMe: Array<string | null> = []
  viewer.connection.subscribe('world:worldState', { worldId }, (s: State) => { viewerStates.push(s) })
  viewer.connection.subscribe('world:listWorlds', {}, (w: WorldRow[]) => { viewerWorlds.push(w) })
  viewer.connection.subscribe('world:userStatus', { worldId }, (me: string | null) => { viewerMe.push(me) })
  viewer.connection.connect(viewerToken.token)

  await waitFor(() => convexMe.at(-1) === convexToken.tokenIdentifier && viewerMe.at(-1) === viewerToken.tokenIdentifier, 'both identities')
  await waitFor(() => convexStates.length >= 2 && viewerStates.length >= 2, 'live steps on both clients')
  t.equal(lb.handed.get(portOf(b)) ?? 0, 0, 'every connection so far went to the first instance')

  const figures: Record<string, number> = {}

  /**
   * Takes one instance away, then checks that both clients came back through the balancer and carry on:
   * the first value after the loss, a world created by an admin over HTTP, a join sent by each client, steps.
   */
  const loseInstance = async (label: string, gone: ServerProcess, survivor: ServerProcess, how: 'SIGKILL' | 'SIGTERM'): Promise<void> => {
    const handedBefore = lb.handed.get(portOf(survivor)) ?? 0
    const stepBefore = Math.max(convexStates.at(-1)!.engine.currentTime, viewerStates.at(-1)!.engine.currentTime)
    const killedAt = Date.now()
    const stopped = gone.stop(how)
    let shutdown: Promise<void> = Promise.resolve()
    if (how === 'SIGTERM') {
      // New connections (a client reconnecting, a request) keep arriving at the balancer while the instance
      // shuts down: from the moment it says so, none may land on it.
      const probe = { exited: false }
      const probing = (async () => {
        while (!probe.exited) {
          const socket = net.connect(Number(new URL(lb.url).port), '127.0.0.1')
          socket.on('error', () => {})
          setTimeout(() => { socket.destroy() }, 50)
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      })()
      const saidSo = await waitFor(() => gone.stdout().includes('"msg":"shutting down"') && Date.now(), `${label}: the instance says it is shutting down`)
      shutdown = (async () => {
        const exit = await stopped
        probe.exited = true
        await probing
        t.match(exit, { code: 0 }, `${label}: the instance shut down cleanly`, { output: exit.code === 0 ? undefined : gone.stdout().split('\n').slice(-12).join('\n') })
        figures[`${label}ShutdownMs`] = exit.ms
        // A reconnect landing there would fail (503 from a closing server) and back off for seconds.
        const late = lb.log.filter((e) => e.port === portOf(gone) && e.at > saidSo + 50)
        const during = lb.log.filter((e) => e.at > saidSo + 50).length
        t.equal(late.length, 0, `${label}: none of the ${during} connections made during its ${exit.ms} ms shutdown went to the instance`)
      })()
    }

    // A mutation sent through the balancer right away reaches the survivor; both subscriptions see its effect.
    const name = `created after ${label}`
    await call(lb, '/api/admin/worlds', { name, agents: 0 }, ADMIN_KEY)
    const convexBack = await waitFor(() => firstValueAt(convex.received, killedAt), `${label}: the convex client's first value`)
    const viewerBack = await waitFor(() => firstValueAt(viewer.received, killedAt), `${label}: the viewer client's first value`)
    await waitFor(() => convexWorlds.at(-1)?.some((w) => w.name === name), `${label}: the convex client sees the new world`)
    const convexSaw = Date.now()
    await waitFor(() => viewerWorlds.at(-1)?.some((w) => w.name === name), `${label}: the viewer client sees the new world`)
    const viewerSaw = Date.now()
    figures[`${label}ConvexFirstValueMs`] = convexBack - killedAt
    figures[`${label}ViewerFirstValueMs`] = viewerBack - killedAt
    figures[`${label}ConvexSawMutationMs`] = convexSaw - killedAt
    figures[`${label}ViewerSawMutationMs`] = viewerSaw - killedAt
    t.ok(convexBack - killedAt < RECONNECT_BOUND_MS, `${label}: the convex client had a value from the other instance ${convexBack - killedAt} ms after the ${how}`)
    t.ok(viewerBack - killedAt < RECONNECT_BOUND_MS, `${label}: the viewer client had a value from the other instance ${viewerBack - killedAt} ms after the ${how}`)
    t.ok((lb.handed.get(portOf(survivor)) ?? 0) >= handedBefore + 2, `${label}: both clients reconnected through the balancer to the other instance`)

    // The convex client starts over on the new instance: the same session, a fresh query set, its token again.
    const again = convex.sent.filter((s) => s.at >= killedAt).map((s) => s.message)
    t.match(again.find((m) => m.type === 'Connect'), { sessionId: convex.sent[0]!.message.sessionId, connectionCount: Number, lastCloseReason: String }, `${label}: the convex client sent Connect with its session and why it closed`)
    t.match(again.find((m) => m.type === 'ModifyQuerySet'), { baseVersion: 0 }, `${label}: and ModifyQuerySet from version 0`)
    t.match(again.find((m) => m.type === 'Authenticate'), { tokenType: 'User', baseVersion: 0 }, `${label}: and Authenticate with its token`)

    // Identity survives: the convex client's Authenticate with its token, the viewer's token on its URL.
    t.equal(convexMe.at(-1), convexToken.tokenIdentifier, `${label}: the convex client is still its token's player`)
    t.equal(viewerMe.at(-1), viewerToken.tokenIdentifier, `${label}: the viewer client is still its token's player`)

    // Mutations from the clients themselves, on the new instance: each joins; both world subscriptions see both.
    await convex.client.mutation(anyApi.world.joinWorld, { worldId, name: `Convex ${label}` })
    await viewer.connection.mutation('world:joinWorld', { worldId, name: `Viewer ${label}` })
    const joined = (s: State | undefined): boolean => s !== undefined &&
      s.world.players.some((p) => p.human === convexToken.tokenIdentifier) && s.world.players.some((p) => p.human === viewerToken.tokenIdentifier)
    await waitFor(() => joined(convexStates.at(-1)) && joined(viewerStates.at(-1)), `${label}: both joins in both world subscriptions`)
    await waitFor(() => convexStates.at(-1)!.engine.currentTime > stepBefore && viewerStates.at(-1)!.engine.currentTime > stepBefore, `${label}: steps again`)
    figures[`${label}WorldStepsAgainMs`] = Date.now() - killedAt
    t.pass(`${label}: both clients see both joins and new steps, ${figures[`${label}WorldStepsAgainMs`]} ms after the ${how}`)

    t.same(rejections(convex.received, killedAt), [], `${label}: no query of the convex client was rejected`)
    t.same(rejections(viewer.received, killedAt), [], `${label}: no query of the viewer client was rejected`)
    await shutdown
  }

  await loseInstance('kill', a, b, 'SIGKILL')
  // Leave the identities to the next round: each player leaves, so the next join makes a new one.
  await convex.client.mutation(anyApi.world.leaveWorld, { worldId })
  await viewer.connection.mutation('world:leaveWorld', { worldId })
  await waitFor(() => !(convexStates.at(-1)!.world.players.some((p) => p.human === convexToken.tokenIdentifier || p.human === viewerToken.tokenIdentifier)), 'both players gone')

  // A replacement for the killed instance joins the pool behind the survivor; then the survivor is SIGTERMed.
  const c = await startServer(t, { ...env, DATA_DIR: `${config.DATA_DIR}/c`, ENGINE_DEFAULT_WORLD: 'false' }, 180_000)
  lb.backends = [portOf(b), portOf(c)]
  await loseInstance('term', b, c, 'SIGTERM')
  t.ok(viewer.statuses.filter((s) => s === 'reconnecting').length >= 2, 'the viewer client went through two reconnects')

  t.comment(`RESULT ${JSON.stringify(figures)}`)
  console.log(`failover figures: ${JSON.stringify(figures)}`)
  await convex.client.close()
  viewer.connection.close()
  await c.stop('SIGTERM')
})
