// CORS from CORS_ORIGINS: what a browser page on another origin needs to call the API with ConvexHttpClient.
import { test } from 'tap'
import { storeTargets } from '../../helpers/stores.ts'
import { buildApp } from '../../helpers/app.ts'
import { corsOrigin } from '../../../plugins/external/cors.ts'

const embedded = storeTargets()[0]!
const FRONT_END = 'http://localhost:5173'

const preflight = (origin: string): { method: 'OPTIONS', url: string, headers: Record<string, string> } => ({
  method: 'OPTIONS',
  url: '/api/query',
  headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,convex-client' }
})

const headerList = (value: unknown): string[] => String(value ?? '').toLowerCase().split(',').map((h) => h.trim())

test('CORS_ORIGINS="*": any origin is answered, preflight included', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const res = await app.inject(preflight(FRONT_END))
  t.equal(res.statusCode, 204)
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.ok(headerList(res.headers['access-control-allow-methods']).includes('post'))
  for (const h of ['authorization', 'content-type', 'convex-client']) t.ok(headerList(res.headers['access-control-allow-headers']).includes(h), `allows ${h}`)
  t.ok(Number(res.headers['access-control-max-age']) > 0, 'the preflight may be cached')

  const call = await app.inject({ method: 'POST', url: '/api/query', headers: { origin: FRONT_END }, payload: { path: 'world:defaultWorldStatus', format: 'convex_encoded_json', args: [{}] } })
  t.equal(call.statusCode, 200)
  t.equal(call.headers['access-control-allow-origin'], '*')
  for (const h of ['retry-after', 'x-request-id']) t.ok(headerList(call.headers['access-control-expose-headers']).includes(h), `exposes ${h}`)
  t.notOk(call.headers['access-control-allow-credentials'], 'no credentialed requests')
})

test('a configured list: listed origins reflected, others get no CORS headers', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false', CORS_ORIGINS: `https://town.example.com, ${FRONT_END}/` })
  const listed = await app.inject(preflight(FRONT_END))
  t.equal(listed.statusCode, 204)
  t.equal(listed.headers['access-control-allow-origin'], FRONT_END, 'the listed origin, trailing slash and spaces ignored')
  t.ok(headerList(listed.headers.vary).includes('origin'), 'Vary: Origin, so caches keep origins apart')
  t.equal((await app.inject(preflight('https://town.example.com'))).headers['access-control-allow-origin'], 'https://town.example.com')

  const unlisted = await app.inject(preflight('https://evil.example.net'))
  t.notOk(unlisted.headers['access-control-allow-origin'], 'an unlisted origin: no Access-Control-Allow-Origin')
  const call = await app.inject({ method: 'POST', url: '/api/query', headers: { origin: 'https://evil.example.net' }, payload: { path: 'world:defaultWorldStatus', args: {} } })
  t.notOk(call.headers['access-control-allow-origin'], 'nor on the call itself')
})

test('a 429 is readable cross-origin, Retry-After included', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false', RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW_MS: '60000' })
  const call = async (): Promise<Awaited<ReturnType<typeof app.inject>>> =>
    await app.inject({ method: 'POST', url: '/api/query', headers: { origin: FRONT_END }, payload: { path: 'world:defaultWorldStatus', args: {} } })
  t.equal((await call()).statusCode, 200)
  const limited = await call()
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['access-control-allow-origin'], '*')
  t.ok(headerList(limited.headers['access-control-expose-headers']).includes('retry-after'))
  t.ok(Number(limited.headers['retry-after']) > 0)
})

test('a bare OPTIONS (no preflight headers) is no text/plain 400', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const res = await app.inject({ method: 'OPTIONS', url: '/api/querys' })
  t.ok(res.statusCode < 400, `answered ${res.statusCode}`)
})

test('corsOrigin reads the setting', async (t) => {
  t.equal(corsOrigin('*'), '*')
  t.same(corsOrigin('https://a.example, https://b.example/'), ['https://a.example', 'https://b.example'])
  t.equal(corsOrigin('https://a.example,*'), '*', 'a * anywhere allows any origin')
})
