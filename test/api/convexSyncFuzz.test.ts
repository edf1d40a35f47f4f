// Fuzzes the Convex sync endpoint from one seed (FUZZ_SEED replays a run): messages mutated from valid ones,
// damaged text, out-of-order versions. A malformed or out-of-order message gets FatalError and a clean close;
// a well-formed message with bad arguments gets QueryFailed or a failed response on a connection that carries
// on; never a 5xx-style "Server Error", an error log line, or a server that stops.
import { test } from 'tap'
import WebSocket from 'ws'
import { randomUUID } from 'node:crypto'
import { storeTargets } from '../helpers/stores.ts'
import { buildFuzzApp, corruptText, createRng, mutate, pool, weirdValue, type Json, type Rng } from '../helpers/fuzz.ts'

const seed = Number(process.env.FUZZ_SEED ?? 20261202)
const FRAMES = 5000
const PATHS = ['world:defaultWorldStatus', 'world:worldState', 'world:gameDescriptions', 'world:userStatus', 'world:previousConversation', 'messages:listMessages', 'aiTown/main:inputStatus', 'testing:stopAllowed', 'music:getBackgroundMusic', 'world:heartbeatWorld', 'world:joinWorld', 'world:sendWorldInput', 'messages:writeMessage', 'testing:stop', 'nope:nothing']

interface Ids { worldId: string, engineId: string }

/** A well-formed message of some kind, at the connection's current versions. */
function validMessage (rng: Rng, ids: Ids, v: { querySet: number, identity: number, nextQuery: number, nextRequest: number }): { message: Record<string, Json>, fatal: boolean } {
  const args: Json = rng.pick<Json>([{ worldId: ids.worldId }, { engineId: ids.engineId, name: 'moveTo', args: { playerId: 'p:1', destination: null } }, { inputId: 'nope' }, {}])
  switch (rng.int(4)) {
    case 0: return { message: { type: 'ModifyQuerySet', baseVersion: v.querySet, newVersion: v.querySet + 1, modifications: [{ type: 'Add', queryId: v.nextQuery, udfPath: rng.pick(PATHS), args: [args] }] }, fatal: false }
    case 1: return { message: { type: 'Mutation', requestId: v.nextRequest, udfPath: rng.pick(PATHS), args: [args] }, fatal: false }
    case 2: return { message: { type: 'Action', requestId: v.nextRequest, udfPath: rng.pick(PATHS), args: [args] }, fatal: false }
    default: return { message: { type: 'Authenticate', baseVersion: v.identity, tokenType: rng.pick(['None', 'User', 'Admin']), value: rng.pick(['x'.repeat(20), 'not-the-key-0123456789', '']) }, fatal: false }
  }
}

test('fuzzing the Convex sync endpoint', { timeout: 300_000 }, async (t) => {
  const { app, errors } = await buildFuzzApp(t, storeTargets()[0]!, { ENGINE_DEFAULT_WORLD: 'true', RATE_LIMIT_MAX: '100000000', ADMIN_API_KEY: 'fuzz-admin-key-0123456789' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const status = await (await fetch(`${base}/api/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: 'world:defaultWorldStatus', args: {} }) })).json() as { value: Ids }
  const ids = { worldId: status.value.worldId, engineId: status.value.engineId }
  const rng = createRng(seed)
  const problems: string[] = []
  const counts = { frames: 0, connections: 0, fatal: 0, queryFailed: 0, failedResponses: 0, transitions: 0 }

  // Each connection: Connect, then messages until one is meant to be fatal (or 150 were sent).
  const connections = Array.from({ length: 400 }, (_, i) => i)
  await pool(connections, 8, async () => {
    if (counts.frames >= FRAMES) return
    counts.connections++
    const socket = new WebSocket(`${base.replace('http', 'ws')}/api/1.48.0/sync`)
    const received: Array<Record<string, unknown>> = []
    socket.on('message', (data) => { received.push(JSON.parse(String(data)) as Record<string, unknown>) })
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => { resolve(code) }))
    await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
    const send = (text: string): void => { counts.frames++; socket.send(text) }
    send(JSON.stringify({ type: 'Connect', sessionId: randomUUID(), connectionCount: 0, lastCloseReason: null }))
    const v = { querySet: 0, identity: 0, nextQuery: 0, nextRequest: 0 }
    let fatalSent = false
    for (let i = 0; i < 150 && !fatalSent && counts.frames < FRAMES; i++) {
      const { message } = validMessage(rng, ids, v)
      const roll = rng.int(100)
      if (roll < 94) {
        // Well-formed: arguments may be mutated, but the envelope holds.
        if (message.type === 'ModifyQuerySet') {
          const mod = (message.modifications as Array<Record<string, Json>>)[0]!
          if (rng.chance(0.5)) mod.args = [mutate(rng, mod.args as Json, [ids.worldId])]
          v.querySet++; v.nextQuery++
        } else if (message.type === 'Mutation' || message.type === 'Action') {
          if (rng.chance(0.5)) message.args = [mutate(rng, message.args as Json, [ids.worldId])]
          v.nextRequest++
        } else {
          // An Authenticate with a wrong admin key is answered with AuthError and changes nothing.
          if (!(message.tokenType === 'Admin' || message.value === '') || message.tokenType === 'None') v.identity++
          if (message.tokenType === 'None') message.value = undefined as never
        }
        send(JSON.stringify(message))
      } else if (roll < 97) {
        // The envelope itself is wrong: a field mutated, or a version out of order.
        const bad = rng.chance(0.5) ? { ...message, baseVersion: (message.baseVersion as number ?? 0) + 1 + rng.int(5), type: message.type === 'Mutation' || message.type === 'Action' ? 'ModifyQuerySet' : message.type } : mutate(rng, message as Json, [])
        send(typeof bad === 'object' && bad !== null ? JSON.stringify(bad) : JSON.stringify(weirdValue(rng, [])))
        fatalSent = true
      } else {
        send(corruptText(rng, JSON.stringify(message)))
        fatalSent = true
      }
    }
    const timeout = (ms: number): Promise<number> => new Promise((resolve) => setTimeout(() => { resolve(-1) }, ms))
    let code = -1
    if (fatalSent) {
      code = await Promise.race([closed, timeout(3000)])
      if (code === -1) {
        // Still open: the damage left a valid message (whitespace, say). The connection must still answer.
        socket.send(JSON.stringify({ type: 'Mutation', requestId: 999_999, udfPath: 'world:heartbeatWorld', args: [{ worldId: ids.worldId }] }))
        const answered = await Promise.race([closed.then(() => true), (async () => {
          for (let i = 0; i < 200; i++) {
            if (received.some((m) => m.requestId === 999_999)) return true
            await new Promise((resolve) => setTimeout(resolve, 50))
          }
          return false
        })()])
        if (!answered) problems.push('after a damaged message the connection neither closed nor answered')
      }
    }
    if (code === -1) {
      socket.close(1000, 'done')
      code = await Promise.race([closed, timeout(10_000)])
      if (code === -1) { problems.push('a connection was left hanging (no close within 10 s)'); socket.terminate() }
    }
    for (const m of received) {
      if (m.type === 'FatalError') counts.fatal++
      if (m.type === 'Transition') {
        counts.transitions++
        for (const mod of (m.modifications as Array<Record<string, unknown>>)) {
          if (mod.type === 'QueryFailed') {
            counts.queryFailed++
            if (String(mod.errorMessage).includes('INTERNAL')) problems.push(`QueryFailed with a server error: ${String(mod.errorMessage)}`)
          }
        }
      }
      if ((m.type === 'MutationResponse' || m.type === 'ActionResponse') && m.success === false) {
        counts.failedResponses++
        if (String(m.result).includes('INTERNAL')) problems.push(`${String(m.type)} with a server error: ${String(m.result)}`)
      }
      if (m.type === 'FatalError' && (m.error === 'Server Error')) problems.push('FatalError "Server Error": a message crashed its handler')
    }
    if (received.some((m) => m.type === 'FatalError') && code !== 1008) problems.push(`FatalError followed by close ${code}, not 1008`)
  })
  t.comment(`seed ${seed}: ${JSON.stringify(counts)}`)
  t.ok(counts.frames >= FRAMES, `at least ${FRAMES} frames sent (${counts.frames})`)
  t.ok(counts.fatal > 0 && counts.queryFailed > 0 && counts.failedResponses > 0, 'the run reached FatalError, QueryFailed and failed responses')
  t.same([...new Set(problems)].slice(0, 10), [], `every message was answered as the protocol defines (${problems.length} problems)`)
  t.equal((await fetch(`${base}/health`)).status, 200, 'the server still answers /health')
  t.same(errors.map((e) => JSON.stringify(e).slice(0, 600)).slice(0, 5), [], 'no error lines in the server log')
})
