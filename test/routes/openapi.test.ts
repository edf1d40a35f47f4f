// The OpenAPI document and the behaviour agree: 405 with Allow for another method, 400 (not 414) for a long id,
// one 401 for a credential that cannot be anyone's, bodies as strict as the functions behind them, and every
// status an operation answers declared in /docs/json.
import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { buildApp } from '../helpers/app.ts'
import { ADMIN_KEY } from '../helpers/api.ts'

const embedded = storeTargets()[0]!

interface Operation { responses: Record<string, unknown>, security?: unknown[], requestBody?: { content: Record<string, { schema: { additionalProperties?: boolean } }> } }
type Paths = Record<string, Record<string, Operation>>

test('a known path asked with another method answers 405 with Allow; an unknown path still 404', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const del = await app.inject({ method: 'DELETE', url: '/api/worlds/w1/state' })
  t.equal(del.statusCode, 405)
  t.equal(del.headers.allow, 'GET, HEAD')
  t.match(del.json(), { statusCode: 405, code: 'TOWNHALL_ERR_METHOD_NOT_ALLOWED', message: /DELETE is not allowed/ })
  const get = await app.inject({ method: 'GET', url: '/api/query' })
  t.equal(get.statusCode, 405)
  t.equal(get.headers.allow, 'POST')
  // A method with a body but no Content-Type fails in parsing before any handler: still 405 on a known path.
  const query = await app.inject({ method: 'QUERY', url: '/api/admin/worlds/w1/stop' })
  t.equal(query.statusCode, 405)
  t.equal(query.headers.allow, 'POST')
  t.equal((await app.inject({ method: 'PUT', url: '/health' })).statusCode, 405)
  t.equal((await app.inject({ method: 'DELETE', url: '/health/' })).statusCode, 405, 'a trailing slash is the same path')
  const missing = await app.inject({ method: 'DELETE', url: '/api/worlds/w1/nothing-here' })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { code: 'TOWNHALL_ERR_NOT_FOUND' })
})

test('an id longer than the schema allows is a 400 from the schema, not the router\'s 414', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const long = await app.inject({ method: 'GET', url: `/api/worlds/${'é'.repeat(201)}/state` })
  t.equal(long.statusCode, 400)
  t.match(long.json(), { code: 'FST_ERR_VALIDATION' })
  const fits = await app.inject({ method: 'GET', url: `/api/worlds/${encodeURIComponent('é'.repeat(200))}/state` })
  t.equal(fits.statusCode, 404, 'a 200-character id is schema-valid: the world is just not there')
})

test('a credential that cannot be anyone\'s is 401 on every /api route; a plausible one passes on', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false', ADMIN_API_KEY: ADMIN_KEY })
  const routes = [
    { method: 'GET' as const, url: '/api/worlds/default' },
    { method: 'GET' as const, url: '/api/worlds/w1/me' },
    { method: 'POST' as const, url: '/api/query', payload: { path: 'world:defaultWorldStatus', args: {} } },
    { method: 'GET' as const, url: '/api/admin/import/report' }
  ]
  const wrong = [
    { authorization: 'Bearer not-a-token' },
    { authorization: 'Basic Zm9vOmJhcg==' },
    { authorization: 'Bearer' },
    { authorization: `Bearer ${ADMIN_KEY}x` },
    { 'x-admin-key': 'wrong-admin-key-00000000' }
  ]
  for (const route of routes) {
    for (const headers of wrong) {
      const res = await app.inject({ ...route, headers })
      t.equal(res.statusCode, 401, `${route.method} ${route.url} with ${JSON.stringify(headers)}`)
      t.match(res.json(), { code: 'TOWNHALL_ERR_UNAUTHORIZED' })
    }
  }
  t.equal((await app.inject({ method: 'GET', url: '/api/worlds/default?token=nope' })).statusCode, 401, 'the same for ?token=')
  const player = await app.inject({ method: 'GET', url: '/api/worlds/w1/me', headers: { authorization: `Bearer th_${'p'.repeat(32)}` } })
  t.equal(player.statusCode, 200, 'a player-shaped token is an identity')
  const admin = await app.inject({ method: 'GET', url: '/api/admin/import/report', headers: { authorization: `Bearer ${ADMIN_KEY}` } })
  t.equal(admin.statusCode, 200)
  const anonymous = await app.inject({ method: 'GET', url: '/api/admin/import/report' })
  t.equal(anonymous.statusCode, 401, 'no credential: the admin route says it needs one')
})

test('REST bodies are the functions\' own arguments: unknown fields and invalid values are 400', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const token = `Bearer th_${'q'.repeat(32)}`
  const extra = await app.inject({ method: 'POST', url: '/api/worlds/w1/join', headers: { authorization: token }, payload: { name: 'Ada', colour: 'red' } })
  t.equal(extra.statusCode, 400)
  t.match(extra.json(), { code: 'FST_ERR_VALIDATION' })
  const empty = await app.inject({ method: 'POST', url: '/api/worlds/w1/join', headers: { authorization: token }, payload: { name: '' } })
  t.equal(empty.statusCode, 400, 'the function\'s own minLength is in the route schema')
  const input = await app.inject({ method: 'POST', url: '/api/engines/e1/inputs', headers: { authorization: token }, payload: { name: 'fly', args: { playerId: 'p1' } } })
  t.equal(input.statusCode, 400)
  // A "__proto__" key is dropped before validation (it can pollute nothing), so the call is otherwise as sent.
  const proto = await app.inject({ method: 'POST', url: '/api/query', headers: { 'content-type': 'application/json' }, payload: '{"path":"world:defaultWorldStatus","args":{"__proto__":{"polluted":true}}}' })
  t.equal(proto.statusCode, 200)
  t.equal(({} as { polluted?: boolean }).polluted, undefined, 'nothing polluted')
  const notJson = await app.inject({ method: 'POST', url: '/api/query', headers: { 'content-type': 'text/csv' }, payload: 'a,b' })
  t.equal(notJson.statusCode, 415)
})

test('/docs/json declares each operation\'s errors, its security and its content types', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const doc = (await app.inject({ url: '/docs/json' })).json() as { paths: Paths }
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const codes = Object.keys(op.responses)
      t.ok(codes.includes('5XX'), `${method} ${path} declares 5XX`)
      if (path.startsWith('/api/')) {
        for (const code of ['400', '401', '404', '429']) t.ok(codes.includes(code), `${method} ${path} declares ${code}`)
        t.ok(op.security !== undefined, `${method} ${path} says whether a token is needed`)
      }
      if (op.requestBody !== undefined) {
        for (const code of ['413', '415']) t.ok(codes.includes(code), `${method} ${path} declares ${code}`)
      }
    }
  }
  t.notOk(doc.paths['/api/ws'], 'WebSockets are described in docs/API.md, not in OpenAPI')
  t.same(doc.paths['/api/worlds/{worldId}/me']?.get.security, [{}, { bearer: [] }], 'the caller\'s status works without a token')
  t.same(doc.paths['/api/worlds/{worldId}/join']?.post.security, [{ bearer: [] }])
  t.equal(doc.paths['/api/worlds/{worldId}/join']?.post.requestBody?.content['application/json'].schema.additionalProperties, false)
  t.ok((doc.paths['/metrics/']?.get.responses['200'] as { content: Record<string, unknown> }).content['text/plain'], '/metrics is text/plain')
  t.ok((doc.paths['/assets/townhall/tileset.png']?.get.responses['200'] as { content: Record<string, unknown> }).content['image/png'])
})
