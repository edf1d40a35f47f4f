// Fuzzes the HTTP and WebSocket API with payloads mutated from valid ones, from one seed (FUZZ_SEED replays a run):
// no 5xx, every 4xx is { statusCode, code, message }, WebSocket errors are frames on a connection that stays usable,
// nothing is polluted, and the world still steps afterwards. FUZZ_HTTP and FUZZ_WS scale the run.
import { test } from 'tap'
import WebSocket from 'ws'
import { storeTargets } from '../helpers/stores.ts'
import {
  buildFuzzApp, checkOutcome, corruptText, createRng, deepArrayText, deepObjectText, describeCase, longString, mutate, pool,
  randomString, sendCase, weirdValue, type HttpCase, type Json, type Rng
} from '../helpers/fuzz.ts'

const seed = Number(process.env.FUZZ_SEED ?? 20261122)
const httpCount = Number(process.env.FUZZ_HTTP ?? 10_000)
const wsCount = Number(process.env.FUZZ_WS ?? 4_000)
const concurrency = 20
const adminKey = 'fuzz-admin-key-0123456789abcdef'

type Kind = 'query' | 'mutation' | 'action'
type Auth = 'none' | 'A' | 'B' | 'C'

interface Ids {
  worldId: string
  engineId: string
  playerA: string
  tokenA: string
  playerB: string
  tokenB: string
  tokenC: string
  agentPlayer: string
  conversationId: string
  inputId: string
}

interface CallTemplate { kind: Kind, path: string, args: Json, auth: Auth }
interface RestTemplate { method: 'GET' | 'POST', path: string, params: Record<string, string>, body?: Json, auth: Auth }

async function call (base: string, kind: Kind, path: string, args: Json, token?: string): Promise<unknown> {
  const res = await fetch(`${base}/api/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ path, args })
  })
  const body = await res.json() as { status?: string, value?: unknown }
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(body)}`)
  return body.value
}

async function until<T> (what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== null && value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

interface WorldState { world: { players: Array<{ id: string }>, agents: Array<{ playerId: string }>, conversations: Array<{ id: string }> }, engine: { currentTime: number } }

async function setUp (base: string): Promise<Ids> {
  const status = await until('the default world', async () => await call(base, 'query', 'world:defaultWorldStatus', {}) as { worldId: string, engineId: string } | null)
  const { worldId, engineId } = status
  const state = await until('the agents', async () => {
    const s = await call(base, 'query', 'world:worldState', { worldId }) as WorldState
    return s.world.agents.length > 0 ? s : null
  })
  const join = async (name: string): Promise<{ token: string, inputId: string, playerId: string }> => {
    const { token, tokenIdentifier } = await call(base, 'mutation', 'auth:newPlayerToken', {}) as { token: string, tokenIdentifier: string }
    const inputId = await call(base, 'mutation', 'world:joinWorld', { worldId, name, character: 'f2', description: 'A fuzzer.' }, token) as string
    const playerId = await until(`${name} to join`, async () => {
      const s = await call(base, 'query', 'world:worldState', { worldId }) as { world: { players: Array<{ id: string, human?: string }> } }
      return s.world.players.find((p) => p.human === tokenIdentifier)?.id ?? null
    })
    return { token, inputId, playerId }
  }
  const a = await join('Fuzzer A')
  const b = await join('Fuzzer B')
  const c = await join('Fuzzer C')
  return {
    worldId,
    engineId,
    playerA: a.playerId,
    tokenA: a.token,
    playerB: b.playerId,
    tokenB: b.token,
    tokenC: c.token,
    agentPlayer: state.world.agents[0]!.playerId,
    conversationId: state.world.conversations[0]?.id ?? 'c:1',
    inputId: a.inputId
  }
}

function callTemplates (ids: Ids): CallTemplate[] {
  const { worldId, engineId, playerA, conversationId } = ids
  const moveTo = { engineId, name: 'moveTo', args: { playerId: playerA, destination: { x: 10, y: 12 } } }
  return [
    { kind: 'query', path: 'world:defaultWorldStatus', args: {}, auth: 'none' },
    { kind: 'query', path: 'world:worldState', args: { worldId }, auth: 'none' },
    { kind: 'query', path: 'world:gameDescriptions', args: { worldId }, auth: 'none' },
    { kind: 'query', path: 'world:userStatus', args: { worldId }, auth: 'A' },
    { kind: 'query', path: 'world:previousConversation', args: { worldId, playerId: playerA }, auth: 'none' },
    { kind: 'query', path: 'testing:stopAllowed', args: {}, auth: 'none' },
    { kind: 'query', path: 'music:getBackgroundMusic', args: {}, auth: 'none' },
    { kind: 'query', path: 'aiTown/main:inputStatus', args: { inputId: ids.inputId }, auth: 'none' },
    { kind: 'mutation', path: 'auth:newPlayerToken', args: {}, auth: 'none' },
    { kind: 'query', path: 'messages:listMessages', args: { worldId, conversationId }, auth: 'none' },
    { kind: 'query', path: 'main:inputStatus', args: { inputId: ids.inputId }, auth: 'none' },
    { kind: 'query', path: 'world:presence', args: { worldId }, auth: 'none' },
    { kind: 'mutation', path: 'world:heartbeatWorld', args: { worldId }, auth: 'none' },
    { kind: 'mutation', path: 'world:joinWorld', args: { worldId, name: 'Mutant', character: 'f3', description: 'Made by the fuzzer.' }, auth: 'none' },
    { kind: 'mutation', path: 'world:joinWorld', args: { worldId, name: 'Mutant', character: 'f3', description: 'Made by the fuzzer.' }, auth: 'C' },
    { kind: 'mutation', path: 'world:leaveWorld', args: { worldId }, auth: 'C' },
    { kind: 'mutation', path: 'world:sendWorldInput', args: moveTo, auth: 'A' },
    { kind: 'mutation', path: 'world:sendWorldInput', args: moveTo, auth: 'A' },
    { kind: 'mutation', path: 'world:sendWorldInput', args: { engineId, name: 'startConversation', args: { playerId: playerA, invitee: ids.agentPlayer } }, auth: 'A' },
    { kind: 'mutation', path: 'world:sendWorldInput', args: { engineId, name: 'acceptInvite', args: { playerId: playerA, conversationId } }, auth: 'A' },
    { kind: 'mutation', path: 'world:sendWorldInput', args: { engineId, name: 'startTyping', args: { playerId: playerA, conversationId, messageUuid: 'b0b0b0b0-0000-4000-8000-000000000000' } }, auth: 'A' },
    { kind: 'mutation', path: 'messages:writeMessage', args: { worldId, conversationId, messageUuid: 'a1a1a1a1-0000-4000-8000-000000000000', playerId: playerA, text: 'Hello there' }, auth: 'A' },
    // Admin functions only ever see wrong keys here: a right one could stop or wipe the world under the fuzzer.
    { kind: 'mutation', path: 'testing:stop', args: { worldId }, auth: 'B' },
    { kind: 'mutation', path: 'testing:kick', args: {}, auth: 'none' },
    { kind: 'action', path: 'testing:wipe', args: { confirm: true }, auth: 'A' },
    { kind: 'action', path: 'testing:debugPlayers', args: { worldId, count: 2 }, auth: 'none' }
  ]
}

function restTemplates (ids: Ids): RestTemplate[] {
  const { worldId, engineId, playerA, conversationId } = ids
  const w = { worldId }
  return [
    { method: 'GET', path: '/api/worlds/default', params: {}, auth: 'none' },
    { method: 'GET', path: '/api/worlds/:worldId/state', params: w, auth: 'none' },
    { method: 'GET', path: '/api/worlds/:worldId/descriptions', params: w, auth: 'none' },
    { method: 'GET', path: '/api/worlds/:worldId/me', params: w, auth: 'A' },
    { method: 'GET', path: '/api/worlds/:worldId/players/:playerId/previous-conversation', params: { worldId, playerId: playerA }, auth: 'none' },
    { method: 'POST', path: '/api/worlds/:worldId/heartbeat', params: w, body: {}, auth: 'none' },
    { method: 'POST', path: '/api/worlds/:worldId/join', params: w, body: { name: 'Rest Mutant', character: 'f4', description: 'Joined over REST.' }, auth: 'none' },
    { method: 'POST', path: '/api/worlds/:worldId/leave', params: w, body: {}, auth: 'C' },
    { method: 'POST', path: '/api/engines/:engineId/inputs', params: { engineId }, body: { name: 'moveTo', args: { playerId: playerA, destination: { x: 5, y: 7 } } }, auth: 'A' },
    { method: 'POST', path: '/api/engines/:engineId/inputs', params: { engineId }, body: { name: 'startConversation', args: { playerId: playerA, invitee: ids.agentPlayer } }, auth: 'A' },
    { method: 'GET', path: '/api/inputs/:inputId', params: { inputId: ids.inputId }, auth: 'none' },
    { method: 'GET', path: '/api/worlds/:worldId/conversations/:conversationId/messages', params: { worldId, conversationId }, auth: 'none' },
    { method: 'POST', path: '/api/worlds/:worldId/conversations/:conversationId/messages', params: { worldId, conversationId }, body: { messageUuid: 'c2c2c2c2-0000-4000-8000-000000000000', playerId: playerA, text: 'Hi' }, auth: 'A' },
    { method: 'POST', path: '/api/admin/worlds/:worldId/stop', params: w, body: {}, auth: 'B' },
    { method: 'POST', path: '/api/admin/worlds/:worldId/resume', params: w, body: {}, auth: 'none' },
    { method: 'POST', path: '/api/admin/worlds/:worldId/kick', params: w, body: {}, auth: 'A' },
    { method: 'POST', path: '/api/admin/wipe', params: {}, body: { confirm: true }, auth: 'B' }
  ]
}

function authHeaders (ids: Ids, auth: Auth): Record<string, string> {
  const token = auth === 'A' ? ids.tokenA : auth === 'B' ? ids.tokenB : auth === 'C' ? ids.tokenC : undefined
  return token === undefined ? {} : { authorization: `Bearer ${token}` }
}

/** Credentials that are wrong in every way we could think of; never the admin key itself. */
function wrongAuth (rng: Rng, ids: Ids): Record<string, string> {
  return rng.pick<Record<string, string>>([
    {},
    { authorization: `Bearer th_${'x'.repeat(32)}` },
    { authorization: 'Bearer ' },
    { authorization: 'Bearer' },
    { authorization: 'Basic Zm9vOmJhcg==' },
    { authorization: `Bearer ${'A'.repeat(6000)}` },
    { authorization: `Bearer ${ids.tokenA} extra` },
    { authorization: `bearer ${ids.tokenA.toUpperCase()}` },
    { authorization: `Bearer ${ids.tokenB}` },
    { authorization: `Bearer ${adminKey.slice(0, -1)}` },
    { authorization: `Bearer ${adminKey}x` },
    { 'x-admin-key': 'wrong-admin-key-00000000' },
    { 'x-admin-key': adminKey.toUpperCase() },
    { authorization: 'Bearer \u00e9\u00e9\u00e9' },
    { authorization: `Bearer ${randomString(rng, 20).replace(/\s/g, '_')}` }
  ])
}

const weirdPaths: Json[] = [
  '', ' ', 'world', 'world:', ':worldState', 'World:WorldState', 'world:worldState ', 'world:worldstate', 'world:nope', 'nope:worldState',
  'world:worldState:extra', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'testing:wipe', 'world:joinWorld\u0000', '../world:worldState',
  null, 42, true, ['world:worldState'], { path: 'world:worldState' }
]

function paramText (rng: Rng, ids: Ids): string {
  const v = weirdValue(rng, [ids.worldId, ids.engineId, ids.playerA, ids.playerB, ids.conversationId, ids.inputId, ids.agentPlayer])
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  if (rng.chance(0.15)) return rng.pick(['%', '%zz', '%ED%A0%80', '%00', '..', '.', '%2F', 'a%2Fb', '%C0%AF', '%FF%FE'])
  try {
    // Under Node's 16 KiB header limit, whose 431 comes from the HTTP parser, before the app.
    const encoded = encodeURIComponent(s.slice(0, 3000))
    return encoded.length > 6000 ? encodeURIComponent(s.slice(0, 600)) : encoded
  } catch {
    return '%ED%A0%80'
  }
}

const contentTypes = [
  'text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/xml',
  'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/jsonx', 'application/vnd.api+json', 'application/*',
  '*/*', 'json', 'application/json, text/plain', 'application/octet-stream', 'APPLICATION/JSON'
]

function convexCase (rng: Rng, ids: Ids, idList: string[], templates: CallTemplate[]): HttpCase {
  const tpl = rng.pick(templates)
  let kind: string = tpl.kind
  let path: Json = tpl.path
  let args: Json = tpl.args
  let envelope: Json
  const r = rng.next()
  let label = 'convex-args'
  if (r < 0.6) {
    args = mutate(rng, args, idList)
  } else if (r < 0.68) {
    path = rng.pick(weirdPaths); label = 'convex-path'
  } else if (r < 0.76) {
    kind = rng.pick(['query', 'mutation', 'action'].filter((k) => k !== tpl.kind)); label = 'convex-kind'
  } else if (r < 0.94) {
    label = 'convex-envelope'
  } else {
    label = 'convex-valid'
  }
  envelope = { path, args }
  if (label === 'convex-envelope') envelope = mutate(rng, envelope, idList)
  const headers = { 'content-type': 'application/json', ...(rng.chance(0.8) ? authHeaders(ids, tpl.auth) : wrongAuth(rng, ids)) }
  return { label, method: 'POST', url: `/api/${kind}`, headers, body: JSON.stringify(envelope) }
}

function fillPath (tpl: RestTemplate, params: Record<string, string>): string {
  return tpl.path.replace(/:(\w+)/g, (_, name: string) => params[name] ?? '')
}

function restCase (rng: Rng, ids: Ids, idList: string[], templates: RestTemplate[]): HttpCase {
  const tpl = rng.pick(templates)
  const params = Object.fromEntries(Object.entries(tpl.params).map(([k, v]) => [k, encodeURIComponent(v)]))
  let body = tpl.body
  let method: string = tpl.method
  let query = ''
  const r = rng.next()
  let label = 'rest-valid'
  const keys = Object.keys(params)
  if (r < 0.35 && keys.length > 0) {
    params[rng.pick(keys)] = paramText(rng, ids); label = 'rest-param'
  } else if (r < 0.65 && body !== undefined) {
    body = mutate(rng, body, idList); label = 'rest-body'
  } else if (r < 0.75) {
    query = rng.pick(['?token=', `?token=${ids.tokenB}`, '?token=th_fake', '?a[b]=1', '?__proto__[polluted]=1', '?constructor[prototype][x]=1',
      '?worldId=x&worldId=y', `?${'q'.repeat(2000)}=1`, '?%zz', '?token[]=a&token[]=b']); label = 'rest-query'
  } else if (r < 0.82) {
    method = rng.pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', tpl.method === 'GET' ? 'POST' : 'GET']); label = 'rest-method'
  }
  const headers: Record<string, string> = rng.chance(0.8) ? authHeaders(ids, tpl.auth) : wrongAuth(rng, ids)
  const sendsBody = method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' && (body !== undefined || rng.chance(0.3))
  if (sendsBody) headers['content-type'] = 'application/json'
  return { label, method, url: fillPath(tpl, params) + query, headers, ...(sendsBody ? { body: JSON.stringify(body ?? {}) } : {}) }
}

function rawCase (rng: Rng, ids: Ids, calls: CallTemplate[], rests: RestTemplate[]): HttpCase {
  const posts = rests.filter((r) => r.method === 'POST')
  let url: string
  let valid: string
  let auth: Auth
  if (rng.chance(0.7)) {
    const tpl = rng.pick(calls)
    url = `/api/${tpl.kind}`
    valid = JSON.stringify({ path: tpl.path, args: tpl.args })
    auth = tpl.auth
  } else {
    const tpl = rng.pick(posts)
    url = fillPath(tpl, Object.fromEntries(Object.entries(tpl.params).map(([k, v]) => [k, encodeURIComponent(v)])))
    valid = JSON.stringify(tpl.body ?? {})
    auth = tpl.auth
  }
  // The template's own credential: a body the server still understands must not make player A leave.
  const headers: Record<string, string> = authHeaders(ids, auth)
  const r = rng.next()
  if (r < 0.45) {
    headers['content-type'] = 'application/json'
    return { label: 'raw-malformed', method: 'POST', url, headers, body: corruptText(rng, valid) }
  }
  if (r < 0.75) {
    headers['content-type'] = rng.pick(contentTypes)
    const body = headers['content-type'].startsWith('application/x-www') ? 'path=world%3AworldState&args=%7B%7D' : valid
    return { label: 'raw-content-type', method: 'POST', url, headers, body }
  }
  if (r < 0.85) {
    // A Blob body goes out without any content-type.
    return { label: 'raw-no-content-type', method: 'POST', url, headers, body: new Blob([valid]) }
  }
  if (r < 0.92) {
    headers['content-type'] = 'application/json'
    headers['content-encoding'] = rng.pick(['gzip', 'br', 'deflate', 'identity, gzip', 'bogus'])
    return { label: 'raw-encoding', method: 'POST', url, headers, body: rng.chance(0.5) ? valid : new Blob([new Uint8Array(Array.from({ length: 64 }, () => rng.int(256)))]) }
  }
  headers['content-type'] = 'application/json'
  return { label: 'raw-empty', method: 'POST', url, headers, body: rng.pick(['', ' ', '\n']) }
}

const unknownUrls = [
  '/', '/api', '/api/', '/api/querys', '/api/query/extra', '/API/QUERY', '/api/worlds', '/api/worlds/', '/api/worlds/x/y/z/w', '//api//query',
  '/%', '/%zz', '/api/%00', '/api/../health', '/api/./query', '/api/worlds/%2e%2e/state', '/.env', '/admin', '/api/admin', '/api/admin/worlds',
  '/api/ws', '/docs/nope', '/api/engines', '/api/inputs/', '/api/inputs', `/${'x'.repeat(4000)}`, '/api/query?path=world:worldState',
  '/api/worlds/default/../../health', '/__proto__', '/constructor/prototype', '/api/worlds/\u00e9t\u00e9/state'
]

function unknownCase (rng: Rng): HttpCase {
  const method = rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'GET', 'POST'])
  let url = rng.pick(unknownUrls)
  if (rng.chance(0.3)) url = `/api/${randomString(rng, 1 + rng.int(30)).replace(/[?#\s]/g, '_')}`
  if (!url.startsWith('/')) url = '/' + url
  const hasBody = method !== 'GET' && method !== 'OPTIONS' && rng.chance(0.5)
  return { label: 'unknown', method, url, headers: hasBody ? { 'content-type': 'application/json' } : {}, ...(hasBody ? { body: '{"path":"world:worldState","args":{}}' } : {}) }
}

/** Bodies over the 1 MiB limit, just under it, and nested far deeper than any schema. */
function bigCase (rng: Rng, ids: Ids, n: number): HttpCase {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${ids.tokenA}` }
  const { worldId, engineId, playerA } = ids
  switch (n % 6) {
    case 0: {
      const size = rng.pick([1_100_000, 2_000_000, 5_000_000])
      const url = rng.pick(['/api/query', '/api/mutation', `/api/worlds/${worldId}/join`, `/api/engines/${engineId}/inputs`])
      return { label: 'big-oversize', method: 'POST', url, headers, body: JSON.stringify({ path: 'world:worldState', args: { worldId: longString(rng, size) } }), oversize: true }
    }
    case 1: {
      const text = longString(rng, rng.pick([200_000, 900_000]))
      const [path, args] = rng.pick<[string, Json]>([
        ['world:worldState', { worldId: text }],
        ['world:joinWorld', { worldId, name: text, character: 'f1', description: text }],
        ['messages:writeMessage', { worldId, conversationId: ids.conversationId, messageUuid: 'd3d3d3d3-0000-4000-8000-000000000000', playerId: playerA, text }],
        ['world:sendWorldInput', { engineId, name: 'moveTo', args: { playerId: playerA, destination: { x: 1, y: 1 }, note: text } }]
      ])
      const kind = path === 'world:worldState' ? 'query' : 'mutation'
      return { label: 'big-string', method: 'POST', url: `/api/${kind}`, headers, body: JSON.stringify({ path, args }) }
    }
    default: {
      const depth = rng.pick([1_000, 10_000, 100_000, 250_000])
      const deep = rng.chance(0.5) ? deepArrayText(depth) : deepObjectText(depth, rng.pick(['a', '__proto__', 'constructor', '$gt']))
      const bodies = [
        `{"path":"world:worldState","args":{"worldId":${deep}}}`,
        `{"path":"world:worldState","args":{"worldId":"${worldId}","extra":${deep}}}`,
        `{"path":"world:sendWorldInput","args":{"engineId":"${engineId}","name":"moveTo","args":{"playerId":"${playerA}","destination":${deep}}}}`,
        `{"path":"world:sendWorldInput","args":{"engineId":"${engineId}","name":"moveTo","args":{"playerId":"${playerA}","destination":{"x":3,"y":4},"extra":${deep}}}}`,
        `{"path":"world:joinWorld","args":{"worldId":"${worldId}","name":"Deep","extra":${deep}}}`,
        `{"path":${deep},"args":{}}`,
        deep
      ]
      const body = rng.pick(bodies)
      const url = body.startsWith('{"path":"world:worldState"') || body.startsWith('{"path":[') || body.startsWith('{"path":{') ? '/api/query' : '/api/mutation'
      return { label: 'big-deep', method: 'POST', url, headers, body }
    }
  }
}

/** The right admin key with wrong arguments or a foreign world: each must be a 4xx, and none may touch our world.
 * They run last, after the world-advancing check, because a guard that gives way wipes or stops the world. */
function adminCases (ids: Ids): HttpCase[] {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` }
  const foreign = '00000000-0000-4000-8000-000000000000'
  const cases: Array<[Kind, string, Json]> = [
    ['action', 'testing:wipe', {}], ['action', 'testing:wipe', { confirm: false }], ['action', 'testing:wipe', { confirm: 'true' }],
    ['action', 'testing:wipe', { confirm: 1 }], ['action', 'testing:wipe', { confirm: null }], ['action', 'testing:wipe', { confirm: [true] }],
    ['mutation', 'testing:wipe', { confirm: true }], ['query', 'testing:wipe', { confirm: true }],
    ['action', 'testing:debugPlayers', { count: 0 }], ['action', 'testing:debugPlayers', { count: -1 }], ['action', 'testing:debugPlayers', { count: 1.5 }],
    ['action', 'testing:debugPlayers', { count: 1001 }], ['action', 'testing:debugPlayers', { count: 1e9 }], ['action', 'testing:debugPlayers', { count: '5' }],
    ['action', 'testing:debugPlayers', { count: null }], ['action', 'testing:debugPlayers', { worldId: foreign, count: 1 }], ['action', 'testing:debugPlayers', { worldId: '', count: 1 }],
    ['mutation', 'testing:stop', { worldId: foreign }], ['mutation', 'testing:stop', { worldId: '' }], ['mutation', 'testing:stop', { worldId: 5 }],
    ['mutation', 'testing:stop', { worldId: ids.engineId }], ['mutation', 'testing:resume', { worldId: foreign }], ['mutation', 'testing:kick', { worldId: foreign }],
    ['mutation', 'testing:kick', { worldId: { $ne: null } }], ['mutation', 'testing:stop', { worldId: 'x'.repeat(201) }], ['mutation', 'testing:nope', {}]
  ]
  const out: HttpCase[] = cases.map(([kind, path, args]) => ({ label: 'admin-bad-args', method: 'POST', url: `/api/${kind}`, headers, body: JSON.stringify({ path, args }) }))
  for (const body of ['{}', '{"confirm":false}', '{"confirm":"true"}', '{"confirm":1}', '[true]', 'true', '{"confirm":true']) {
    out.push({ label: 'admin-bad-args', method: 'POST', url: '/api/admin/wipe', headers: { ...headers }, body })
  }
  for (const action of ['stop', 'resume', 'kick']) {
    for (const w of [foreign, '%zz', 'x'.repeat(300), ids.engineId]) {
      out.push({ label: 'admin-bad-args', method: 'POST', url: `/api/admin/worlds/${w}/${action}`, headers: { authorization: `Bearer ${adminKey}` } })
    }
  }
  return out
}

function generateHttpCases (rng: Rng, ids: Ids, count: number): HttpCase[] {
  const calls = callTemplates(ids)
  const rests = restTemplates(ids)
  const idList = [ids.worldId, ids.engineId, ids.playerA, ids.playerB, ids.agentPlayer, ids.conversationId, ids.inputId, 'p:0', 'c:0', 'a:0']
  const cases: HttpCase[] = []
  let big = 0
  while (cases.length < count) {
    const i = cases.length
    // A few hundred big bodies spread through the run; they are slow to build and to send.
    if (i % 40 === 0) { cases.push(bigCase(rng, ids, big++)); continue }
    const r = rng.next()
    if (r < 0.45) cases.push(convexCase(rng, ids, idList, calls))
    else if (r < 0.75) cases.push(restCase(rng, ids, idList, rests))
    else if (r < 0.92) cases.push(rawCase(rng, ids, calls, rests))
    else cases.push(unknownCase(rng))
  }
  return cases
}

// ---- WebSocket ----

interface WsClient {
  ws: WebSocket
  name: string
  problems: string[]
  errors: number
  limited: number
  values: number
  results: number
  closed: { code: number, reason: string } | null
  pongs: number
  lastSent: string[]
}

function openClient (url: string, name: string, headers: Record<string, string> = {}): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, maxPayload: 64 << 20 })
    const client: WsClient = { ws, name, problems: [], errors: 0, limited: 0, values: 0, results: 0, closed: null, pongs: 0, lastSent: [] }
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      let frame: { type?: unknown, message?: unknown, statusCode?: unknown, code?: unknown, id?: unknown }
      try {
        if (isBinary) throw new Error('the server sends text frames only')
        frame = JSON.parse(data.toString())
      } catch {
        client.problems.push(`${name}: a frame that is not JSON: ${data.subarray(0, 200).toString()}`)
        return
      }
      if (frame.type === 'pong') client.pongs++
      else if (frame.type === 'value') client.values++
      else if (frame.type === 'result') client.results++
      else if (frame.type === 'error') {
        client.errors++
        if (frame.statusCode === 429) client.limited++
        if (typeof frame.message !== 'string' || frame.message.trim() === '') client.problems.push(`${name}: an error frame without a message: ${JSON.stringify(frame)}`)
        if (typeof frame.statusCode === 'number' && frame.statusCode >= 500) {
          client.problems.push(`${name}: a ${frame.statusCode} error frame ${JSON.stringify(frame)} after sending ${client.lastSent.join(' | ')}`)
        }
      } else client.problems.push(`${name}: an unknown frame type: ${JSON.stringify(frame).slice(0, 200)}`)
    })
    ws.on('close', (code: number, reason: Buffer) => { client.closed = { code, reason: reason.toString() } })
    ws.once('open', () => { resolve(client) })
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => { reject(new Error(`${name}: upgrade answered ${res.statusCode}`)) })
  })
}

async function pingPong (client: WsClient, timeoutMs = 10_000): Promise<boolean> {
  const before = client.pongs
  client.ws.send('{"type":"ping"}')
  const deadline = Date.now() + timeoutMs
  while (client.pongs === before) {
    if (client.closed !== null || Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return true
}

function wsFrame (rng: Rng, ids: Ids, idList: string[], n: number): string | Buffer {
  const { worldId, engineId, playerA, conversationId } = ids
  const subs: Array<[string, Json]> = [
    ['world:worldState', { worldId }], ['world:gameDescriptions', { worldId }], ['world:userStatus', { worldId }], ['testing:stopAllowed', {}],
    ['main:inputStatus', { inputId: ids.inputId }], ['messages:listMessages', { worldId, conversationId }],
    ['world:previousConversation', { worldId, playerId: playerA }], ['world:defaultWorldStatus', {}], ['world:presence', { worldId }]
  ]
  const mutations: Array<[string, Json]> = [
    ['world:heartbeatWorld', { worldId }],
    ['world:sendWorldInput', { engineId, name: 'moveTo', args: { playerId: playerA, destination: { x: 8, y: 9 } } }],
    ['world:sendWorldInput', { engineId, name: 'startConversation', args: { playerId: playerA, invitee: ids.agentPlayer } }],
    ['world:joinWorld', { worldId, name: 'Socket Mutant', character: 'f5' }],
    ['messages:writeMessage', { worldId, conversationId, messageUuid: 'e4e4e4e4-0000-4000-8000-000000000000', playerId: playerA, text: 'hey' }],
    ['testing:stop', { worldId }]
  ]
  const id = rng.chance(0.8) ? `f${n}` : weirdValue(rng, idList)
  const r = rng.next()
  if (r < 0.1) return rng.chance(0.5) ? randomString(rng, 1 + rng.int(100)) : corruptText(rng, JSON.stringify({ type: 'subscribe', id, path: 'world:worldState', args: { worldId } }))
  if (r < 0.18) return Buffer.from(Array.from({ length: 1 + rng.int(2000) }, () => rng.int(256)))
  if (r < 0.26) return JSON.stringify(mutate(rng, { type: rng.pick(['subscribe', 'mutation', 'query', 'unsubscribe', 'ping', 'pong', 'value', 'error']), id }, idList))
  if (r < 0.5) {
    const [path, args] = rng.pick(subs)
    const frame: Json = { type: 'subscribe', id, path, args }
    return JSON.stringify(rng.chance(0.8) ? mutate(rng, frame, idList) : frame)
  }
  if (r < 0.6) return JSON.stringify({ type: 'unsubscribe', id: rng.chance(0.5) ? `f${rng.int(n + 1)}` : weirdValue(rng, idList) })
  if (r < 0.85) {
    const [path, args] = rng.pick(mutations)
    return JSON.stringify(mutate(rng, { type: 'mutation', id, path, args }, idList))
  }
  if (r < 0.97) {
    const [path, args] = rng.pick(subs)
    return JSON.stringify(mutate(rng, { type: rng.chance(0.8) ? 'query' : 'mutation', id, path, args }, idList))
  }
  // Deep nesting, which plain JSON.parse accepts and naive recursion does not.
  const deep = rng.chance(0.5) ? deepArrayText(rng.pick([1_000, 50_000])) : deepObjectText(rng.pick([1_000, 50_000]), rng.pick(['a', '__proto__']))
  return rng.pick([
    `{"type":"subscribe","id":"deep${n}","path":"world:worldState","args":{"worldId":"${worldId}","extra":${deep}}}`,
    `{"type":"mutation","id":"deep${n}","path":"world:sendWorldInput","args":{"engineId":"${engineId}","name":"moveTo","args":{"playerId":"${playerA}","destination":${deep}}}}`,
    `{"type":"subscribe","id":${deep},"path":"world:worldState","args":{"worldId":"${worldId}"}}`,
    deep
  ])
}

/** Binary frames and text that is not JSON: each must be answered with an error frame. */
function certainlyBad (frame: string | Buffer): boolean {
  if (typeof frame !== 'string') return true
  try { JSON.parse(frame); return false } catch { return true }
}

/** Subscribe and unsubscribe as fast as the socket takes it. */
function storm (rng: Rng, ids: Ids, round: number): string[] {
  const frames: string[] = []
  const n = 20 + rng.int(80)
  for (let i = 0; i < n; i++) {
    const path = rng.pick(['world:worldState', 'world:gameDescriptions', 'main:inputStatus', 'aiTown/main:inputStatus'])
    const args = path.endsWith('main:inputStatus') ? { inputId: ids.inputId } : { worldId: ids.worldId }
    frames.push(JSON.stringify({ type: 'subscribe', id: `storm${round}-${i % 7}`, path, args }))
    if (rng.chance(0.6)) frames.push(JSON.stringify({ type: 'unsubscribe', id: `storm${round}-${rng.int(7)}` }))
  }
  for (let i = 0; i < 7; i++) frames.push(JSON.stringify({ type: 'unsubscribe', id: `storm${round}-${i}` }))
  return frames
}

interface WsReport { frames: number, mustFail: number, clients: number, errors: number, limited: number, values: number, results: number, problems: string[], upgrades: Record<string, number> }

async function fuzzWebSocket (base: string, ids: Ids, total: number): Promise<WsReport> {
  const wsBase = base.replace('http', 'ws') + '/api/ws'
  const idList = [ids.worldId, ids.engineId, ids.playerA, ids.playerB, ids.agentPlayer, ids.conversationId, ids.inputId]
  const problems: string[] = []
  const upgrades: Record<string, number> = {}
  // Upgrades with bad credentials: refused before the upgrade with a 4xx, never a 5xx.
  for (const query of ['?token=th_wrong', `?token=${'z'.repeat(3000)}`, '?token=', '?token[]=a&token[]=b', `?token=${ids.tokenA}&token=${ids.tokenB}`, '?token=%zz', `?token=${adminKey}x`]) {
    const status = await new Promise<string>((resolve) => {
      const ws = new WebSocket(wsBase + query)
      ws.once('open', () => { ws.close(); resolve('open') })
      ws.once('unexpected-response', (_req, res) => { res.resume(); resolve(String(res.statusCode)) })
      ws.once('error', (err) => { resolve(`error ${err.message}`) })
    })
    upgrades[status] = (upgrades[status] ?? 0) + 1
    if (/^5|^error/.test(status)) problems.push(`upgrade with ${query.slice(0, 60)} answered ${status}`)
  }
  const clients: WsClient[] = []
  const attempts: Array<[string, string, Record<string, string>?]> = [
    [wsBase, 'anonymous'], [`${wsBase}?token=${ids.tokenA}`, 'player A (query token)'], [wsBase, 'player A (header)', { authorization: `Bearer ${ids.tokenA}` }],
    [`${wsBase}?token=${ids.tokenB}`, 'player B'], [wsBase, 'anonymous 2'], [`${wsBase}?token=${ids.tokenA}`, 'player A 2'], [`${wsBase}?token=${ids.tokenC}`, 'player C'],
    [wsBase, 'anonymous 3'], [`${wsBase}?token=${ids.tokenA}`, 'player A 3'], [wsBase, 'anonymous 4'],
    [`${wsBase}?token=th_wrong_but_well_formed`, 'unknown token'], [wsBase, 'admin (wrong key)', { 'x-admin-key': 'wrong-admin-key-00000000' }]
  ]
  for (const [url, name, headers] of attempts) {
    try {
      clients.push(await openClient(url, name, headers))
    } catch (err) {
      // A refused credential is fine (a 4xx before the upgrade); anything else is not.
      if (!/upgrade answered 4\d\d/.test((err as Error).message)) problems.push(`${name}: ${(err as Error).message}`)
    }
  }
  const perClient = Math.ceil(total / clients.length)
  let frames = 0
  let mustFail = 0
  await Promise.all(clients.map(async (client, c) => {
    const crng = createRng(seed + 1000 + c)
    // The server allows 100 frames per second per socket (bursts of 200); stay under it so frames are fuzzed, not refused.
    const bucket = { tokens: 150, at: Date.now() }
    const take = async (): Promise<void> => {
      for (;;) {
        const now = Date.now()
        bucket.tokens = Math.min(150, bucket.tokens + (now - bucket.at) * 0.09)
        bucket.at = now
        if (bucket.tokens >= 1) { bucket.tokens--; return }
        await new Promise((resolve) => setTimeout(resolve, 12))
      }
    }
    for (let n = 0; n < perClient; n++) {
      const batch = n % 150 === 149 ? storm(crng, ids, n) : [wsFrame(crng, ids, idList, n)]
      for (const frame of batch) {
        if (client.closed !== null) break
        await take()
        client.lastSent.push(typeof frame === 'string' ? frame.slice(0, 160) : `<${frame.length} binary bytes>`)
        if (client.lastSent.length > 5) client.lastSent.shift()
        client.ws.send(frame)
        frames++
        if (certainlyBad(frame)) mustFail++
      }
      if (client.closed !== null) {
        problems.push(`${client.name} was closed (${client.closed.code} ${client.closed.reason}) after ${client.lastSent.join(' | ')}`)
        return
      }
      if (n % 25 === 24 && (await take(), !await pingPong(client))) {
        problems.push(`${client.name}: no pong after ${client.lastSent.join(' | ')}`)
        return
      }
    }
    await take()
    if (!await pingPong(client)) problems.push(`${client.name}: no pong at the end`)
  }))
  // A frame over the socket's 1 MiB limit closes that socket (1009), and only that one.
  const big = await openClient(wsBase, 'oversize')
  big.ws.send(JSON.stringify({ type: 'subscribe', id: 'big', path: 'world:worldState', args: { worldId: 'x'.repeat(1_200_000) } }))
  await until('the oversize frame to close its socket', async () => big.closed, 10_000).catch(() => null)
  if (big.closed?.code !== 1009) problems.push(`an oversize frame closed the socket with ${JSON.stringify(big.closed)}, not 1009`)
  for (const client of clients) {
    problems.push(...client.problems)
    if (client.closed === null && !await pingPong(client)) problems.push(`${client.name}: no pong after the oversize socket closed`)
    client.ws.close()
  }
  return {
    frames,
    mustFail,
    clients: clients.length,
    errors: clients.reduce((s, c) => s + c.errors, 0),
    limited: clients.reduce((s, c) => s + c.limited, 0),
    values: clients.reduce((s, c) => s + c.values, 0),
    results: clients.reduce((s, c) => s + c.results, 0),
    problems,
    upgrades
  }
}

/** One example per kind of failure (same first line up to the payload), with how often it happened. */
function distinct (failures: string[], limit = 15): string[] {
  const kinds = new Map<string, { example: string, count: number }>()
  for (const f of failures) {
    const key = f.replace(/\d+/g, 'N').slice(0, 90)
    const kind = kinds.get(key)
    if (kind === undefined) kinds.set(key, { example: f, count: 1 })
    else kind.count++
  }
  return [...kinds.values()].slice(0, limit).map((k) => `${k.count}× ${k.example}`)
}

test('fuzzing the HTTP and WebSocket API', async (t) => {
  const started = Date.now()
  const { app, errors } = await buildFuzzApp(t, storeTargets()[0]!, {
    ADMIN_API_KEY: adminKey,
    ENGINE_DEFAULT_WORLD: 'true',
    // The fuzzer is one client; the limiter has its own test below.
    RATE_LIMIT_MAX: '100000000'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const ids = await setUp(base)
  const rng = createRng(seed)

  const cases = generateHttpCases(rng, ids, httpCount)
  const statuses: Record<string, number> = {}
  const labels: Record<string, number> = {}
  const failures: string[] = []
  let slowest = 0
  await pool(cases, concurrency, async (c) => {
    const outcome = await sendCase(base, c)
    const key = outcome.error !== undefined ? 'no answer' : String(outcome.status)
    statuses[key] = (statuses[key] ?? 0) + 1
    labels[c.label] = (labels[c.label] ?? 0) + 1
    slowest = Math.max(slowest, outcome.ms)
    const problem = checkOutcome(c, outcome)
    if (problem !== null) failures.push(`${problem}\n    for ${describeCase(c)}`)
  })
  t.comment(`seed ${seed}: ${cases.length} HTTP cases in ${((Date.now() - started) / 1000).toFixed(1)} s, slowest ${slowest.toFixed(0)} ms`)
  t.comment(`statuses ${JSON.stringify(statuses)}`)
  t.comment(`kinds ${JSON.stringify(labels)}`)
  t.ok(cases.length >= httpCount, `at least ${httpCount} HTTP cases`)
  t.same(distinct(failures), [], `no 5xx and every 4xx has { statusCode, code, message } (${failures.length} failures)`)

  const ws = await fuzzWebSocket(base, ids, wsCount)
  t.comment(`WebSocket: ${ws.frames} frames on ${ws.clients} clients: ${ws.errors} error frames (${ws.limited} of them 429), ${ws.values} values, ${ws.results} results; upgrades ${JSON.stringify(ws.upgrades)}`)
  t.ok(ws.frames >= wsCount, `at least ${wsCount} WebSocket frames`)
  t.ok(ws.errors >= ws.mustFail, `every binary or non-JSON frame is answered with an error frame (${ws.errors} errors for ${ws.mustFail} such frames)`)
  t.same(distinct(ws.problems), [], `WebSocket errors are well-formed frames and every connection stays usable (${ws.problems.length} problems)`)

  // Nothing reached Object.prototype (the server runs in this process).
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is not polluted')
  t.equal(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype is not polluted (isAdmin)')

  const health = await fetch(`${base}/health`)
  t.equal(health.status, 200, 'the server still answers /health')
  const first = await call(base, 'query', 'world:worldState', { worldId: ids.worldId }) as WorldState
  const later = await until('the engine clock to move on', async () => {
    const s = await call(base, 'query', 'world:worldState', { worldId: ids.worldId }) as WorldState
    return s.engine.currentTime > first.engine.currentTime ? s : null
  }, 10_000).catch(() => null)
  t.ok(later !== null, `the world still advances (currentTime ${first.engine.currentTime} → ${later?.engine.currentTime ?? 'stuck'})`)

  const adminFailures: string[] = []
  for (const c of adminCases(ids)) {
    const outcome = await sendCase(base, c)
    const problem = outcome.error === undefined && outcome.status < 400 ? `status ${outcome.status}: ${outcome.text.slice(0, 200)}` : checkOutcome(c, outcome)
    if (problem !== null) adminFailures.push(`${problem}\n    for ${describeCase(c)}`)
  }
  t.same(adminFailures, [], 'the admin key with bad arguments or a foreign world is always refused with a 4xx')
  const still = await sendCase(base, { label: 'check', method: 'POST', url: '/api/query', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: 'world:worldState', args: { worldId: ids.worldId } }) })
  t.equal(still.error === undefined ? still.status : still.error, 200, 'the world is still there after the admin cases')

  const serverErrors = errors.map((e) => JSON.stringify(e).slice(0, 1500))
  t.same(serverErrors.slice(0, 10), [], `no error lines in the server log (${serverErrors.length})`)
  t.comment(`total ${((Date.now() - started) / 1000).toFixed(1)} s`)
})

test('the rate limiter answers 429 in the error shape, with Retry-After', async (t) => {
  const { app } = await buildFuzzApp(t, storeTargets()[0]!, { ENGINE_DEFAULT_WORLD: 'false', RATE_LIMIT_MAX: '5' })
  const statuses: number[] = []
  let limited: { statusCode: number, headers: Record<string, unknown>, body: string } | null = null
  for (let i = 0; i < 8; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:defaultWorldStatus', args: {} } })
    statuses.push(res.statusCode)
    if (res.statusCode === 429) limited = { statusCode: res.statusCode, headers: res.headers, body: res.body }
  }
  t.ok(limited !== null, `over the limit answers 429 (${statuses.join(',')})`)
  if (limited === null) return
  t.ok(limited.headers['retry-after'] !== undefined, 'with Retry-After')
  const problem = checkOutcome({ label: 'rate-limit', method: 'POST', url: '/api/query' }, {
    status: limited.statusCode, contentType: String(limited.headers['content-type']), text: limited.body, ms: 0
  })
  t.equal(problem, null, `the 429 body is { statusCode, code, message }: ${limited.body}`)
})
