// Convex's HTTP function API over a real socket, spoken by the official ConvexHttpClient.
import { test } from 'tap'
import { ConvexHttpClient } from 'convex/browser'
import { anyApi } from 'convex/server'
import { ConvexError, convexToJson } from 'convex/values'
import { Type } from 'typebox'
import { storeTargets } from '../../helpers/stores.ts'
import { buildApp } from '../../helpers/app.ts'
import { ADMIN_KEY, listeningApp } from '../../helpers/api.ts'
import { defineFunction } from '../../../src/api/registry.ts'

const embedded = storeTargets()[0]!

const convexClient = (url: string): ConvexHttpClient => new ConvexHttpClient(url, { skipConvexDeploymentUrlCheck: true, logger: false })

/** setAdminAuth is marked internal in the package's types; it sends Authorization: Convex <key>. */
function adminClient (url: string, key: string): ConvexHttpClient {
  const client = convexClient(url)
  ;(client as unknown as { setAdminAuth: (key: string) => void }).setAdminAuth(key)
  return client
}

/** The rejection of a call, so a test can look at its class and fields. */
async function failureOf (call: Promise<unknown>): Promise<Error & { data?: unknown }> {
  try {
    await call
  } catch (err) {
    return err as Error & { data?: unknown }
  }
  throw new Error('the call succeeded')
}

async function rawCall (url: string, endpoint: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  const res = await fetch(`${url}/api/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() }
}

test('ConvexHttpClient queries, mutates and reads errors as ConvexError', async (t) => {
  const { app, url } = await listeningApp(t, embedded, { ENGINE_ENABLED: 'true' })
  // A handler that fails the way a bug does, to see that 5xx stay hidden.
  app.api.add(defineFunction({
    path: 'broken:query',
    kind: 'query',
    access: 'public',
    description: 'fails',
    args: Type.Object({}),
    returns: Type.Null(),
    handler: async () => { throw new Error('secret internals at /srv/db') }
  }))
  const client = convexClient(url)

  const status = await client.query(anyApi.world!.defaultWorldStatus!, {}) as { worldId: string, engineId: string }
  t.match(status, { worldId: String, engineId: String })
  const { worldId } = status
  t.type(await client.query(anyApi.world!.worldState!, { worldId }), 'object', 'world:worldState')
  t.type(await client.query(anyApi.world!.gameDescriptions!, { worldId }), 'object', 'world:gameDescriptions')
  t.equal(await client.mutation(anyApi.world!.heartbeatWorld!, { worldId }), null, 'world:heartbeatWorld')
  t.same(await client.query(anyApi.messages!.listMessages!, { worldId, conversationId: 'c:1' }), [], 'messages:listMessages')

  // setAuth sends Bearer <token>: the player's identity carries through joinWorld to its input.
  const { token } = await client.mutation(anyApi.auth!.newPlayerToken!, {}) as { token: string }
  const player = convexClient(url)
  player.setAuth(token)
  const joined = await player.mutation(anyApi.world!.joinWorld!, { worldId, name: 'Tess' }) as string | { inputId: string }
  const inputId = typeof joined === 'string' ? joined : joined.inputId
  t.type(inputId, 'string', 'joinWorld answers an input id')
  let result: unknown = null
  for (let i = 0; i < 100 && result === null; i++) {
    result = await client.query(anyApi.main!.inputStatus!, { inputId })
    if (result === null) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.match(result, { kind: 'ok' }, 'main:inputStatus: the engine applied the join')
  t.not(await player.query(anyApi.world!.userStatus!, { worldId }), null, 'the token is the caller\'s identity')
  t.equal(await client.query(anyApi.world!.userStatus!, { worldId }), null, 'no token, no identity')

  // ConvexHttpClient.function (any kind, args not in an array) reaches /api/function.
  const any = client as unknown as { function: (name: string, componentPath: string | undefined, args: object) => Promise<unknown> }
  t.match(await any.function('world:defaultWorldStatus', undefined, {}), { worldId, engineId: status.engineId })
  t.match(await failureOf(any.function('world:defaultWorldStatus', 'someComponent', {})), { data: /no function someComponent\/world:defaultWorldStatus/ })

  const unknown = await failureOf(client.query(anyApi.nope!.nothing!, {}))
  t.ok(unknown instanceof ConvexError, 'an unknown function: ConvexError')
  t.equal(unknown.data, 'no function nope:nothing', 'its data is the message, ready for a toast')
  t.match(unknown.message, /TOWNHALL_ERR_UNKNOWN_FUNCTION: no function nope:nothing/)

  const badArgs = await failureOf(client.query(anyApi.world!.worldState!, { worldId: 7 }))
  t.ok(badArgs instanceof ConvexError, 'bad arguments: ConvexError')
  t.match(badArgs.data, /args\.worldId must be string/)
  // Arguments are decoded from Convex's encoding: bytes are not a string.
  const bytes = await failureOf(client.query(anyApi.world!.worldState!, { worldId: new Uint8Array([1, 2]).buffer }))
  t.ok(bytes instanceof ConvexError)
  t.match(bytes.data, /args\.worldId/)
  t.match(await failureOf(client.query(anyApi.world!.worldState!, { worldId: 'missing' })), { data: 'no world missing' }, 'not found: ConvexError')
  t.match(await failureOf(client.mutation(anyApi.world!.worldState!, { worldId })), { data: /is a query, not a mutation/ }, 'the wrong kind: ConvexError')
  t.match(await failureOf(client.action(anyApi.world!.worldState!, { worldId })), { data: /is a query, not a action/ }, 'through /api/action too')

  const hidden = await failureOf(client.query(anyApi.broken!.query!, {}))
  t.notOk(hidden instanceof ConvexError, 'a server error is a plain Error, without data')
  t.equal(hidden.message, 'Server Error')

  // Admin functions: the key through setAdminAuth (Authorization: Convex <key>).
  const noKey = await failureOf(client.mutation(anyApi.testing!.stop!, {}))
  t.ok(noKey instanceof ConvexError, 'an admin function without the key: ConvexError')
  t.match(noKey.data, /needs the admin key/)
  t.match(await failureOf(player.mutation(anyApi.testing!.stop!, {})), { data: /for the admin only/ }, 'a player\'s token is not the key')
  const wrongKey = adminClient(url, 'not-the-admin-key')
  // A wrong key is refused as a credential before any function runs (401, as Convex answers a bad admin key):
  // ConvexHttpClient reads that as a plain Error, not a ConvexError.
  const refused = await failureOf(wrongKey.mutation(anyApi.testing!.stop!, {}))
  t.equal(refused.data, undefined, 'a wrong key is not the key')
  t.match(refused.message, /TOWNHALL_ERR_UNAUTHORIZED/)
  const admin = adminClient(url, ADMIN_KEY)
  t.equal(await admin.query(anyApi.testing!.stopAllowed!, {}), true, 'the admin key is recognised')
  t.equal(await client.query(anyApi.testing!.stopAllowed!, {}), false)
  t.match(await admin.mutation(anyApi.testing!.stop!, {}), { status: 'stoppedByDeveloper' })
  t.match(await admin.mutation(anyApi.testing!.resume!, {}), { status: 'running' })
  t.match(await failureOf(client.action(anyApi.testing!.wipe!, { confirm: true })), { data: /needs the admin key/ }, 'an admin action without the key')
  t.match(await admin.action(anyApi.testing!.wipe!, { confirm: true }), { removed: Object }, 'an action with the key')
})

test('the wire: 560 envelopes, malformed encodings and envelopes, plain 4xx for the transport', async (t) => {
  const { url } = await listeningApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const convex = (path: string, args: unknown): object => ({ path, format: 'convex_encoded_json', args })

  const ok = await rawCall(url, 'query', convex('world:defaultWorldStatus', [{}]))
  t.equal(ok.status, 200)
  t.same(Object.keys(ok.body).sort(), ['logLines', 'status', 'value'])
  t.same(ok.body.logLines, [])

  const failed = await rawCall(url, 'query', convex('nope:nothing', [{}]))
  t.equal(failed.status, 560)
  t.same(failed.body, { status: 'error', errorMessage: 'TOWNHALL_ERR_UNKNOWN_FUNCTION: no function nope:nothing', errorData: 'no function nope:nothing', logLines: [] })

  // A malformed Convex encoding is a function's bad arguments, naming where it is.
  const badBase64 = await rawCall(url, 'query', convex('world:worldState', [{ worldId: { $bytes: '***' } }]))
  t.equal(badBase64.status, 560)
  t.match(badBase64.body, { status: 'error', errorMessage: /^TOWNHALL_ERR_BAD_ARGUMENTS: .*args\.worldId .*not valid base64/, errorData: /args\.worldId/ })
  const shortInt = await rawCall(url, 'query', convex('world:worldState', [{ worldId: { $integer: convexToJson(1n) as never, x: 1 } }]))
  t.match(shortInt, { status: 560, body: { errorData: /args\.worldId .*only field/ } })
  const reserved = await rawCall(url, 'query', convex('world:worldState', [{ worldId: 'w', $where: 1 }]))
  t.match(reserved, { status: 560, body: { errorData: /"\$where"/ } })

  // Envelopes ConvexHttpClient would never send: plain 400s that say what is wrong, in both forms.
  for (const [name, body, message] of [
    ['an unknown format', { path: 'world:defaultWorldStatus', format: 'json', args: [{}] }, /"format" must be "convex_encoded_json"/],
    ['args not in an array', convex('world:defaultWorldStatus', {}), /array of one arguments object/],
    ['two args', convex('world:defaultWorldStatus', [{}, {}]), /array of one arguments object/],
    ['an array of a non-object', convex('world:defaultWorldStatus', ['x']), /array of one arguments object/],
    ['no path', { format: 'convex_encoded_json', args: [{}] }, /"path" must be a function name/],
    ['no path, plain form', { args: {} }, /"path" must be a function name/],
    ['plain args not an object', { path: 'world:defaultWorldStatus', args: [1] }, /"args" must be an object/],
    ['an extra field', { path: 'world:defaultWorldStatus', args: {}, extra: 1 }, /unknown field "extra"/]
  ] as Array<[string, unknown, RegExp]>) {
    const res = await rawCall(url, 'query', body)
    t.equal(res.status, 400, `${name}: 400`)
    t.match(res.body, { statusCode: 400, code: String, message }, `${name}: ${String(res.body.message)}`)
  }
  const anyForm = await rawCall(url, 'function', convex('world:defaultWorldStatus', [{}]))
  t.match(anyForm, { status: 400, body: { message: /"args" must be an arguments object/ } }, '/api/function takes args unwrapped')

  const huge = await rawCall(url, 'mutation', convex('world:heartbeatWorld', [{ worldId: 'x'.repeat(2 << 20) }]))
  t.equal(huge.status, 413, 'an oversize body: 413, not 560')
  const client = convexClient(url)
  const thrown = await failureOf(client.query(anyApi.world!.worldState!, { worldId: 'x'.repeat(2 << 20) }))
  t.notOk(thrown instanceof ConvexError, 'ConvexHttpClient throws the 413 as a plain Error')
  t.match(thrown.message, /413|too large/i)
})

test('over the rate limit: a plain 429 with Retry-After in the Convex form', async (t) => {
  const { url } = await listeningApp(t, embedded, { ENGINE_ENABLED: 'false', RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' })
  const body = { path: 'world:defaultWorldStatus', format: 'convex_encoded_json', args: [{}] }
  const statuses: number[] = []
  let last: Response | null = null
  for (let i = 0; i < 3; i++) {
    last = await fetch(`${url}/api/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    statuses.push(last.status)
  }
  t.same(statuses, [200, 200, 429])
  t.ok(Number(last!.headers.get('retry-after')) > 0, 'Retry-After is set')
  t.match(await last!.json(), { statusCode: 429, code: 'TOWNHALL_ERR_RATE_LIMITED' })
  const thrown = await failureOf(convexClient(url).query(anyApi.world!.defaultWorldStatus!, {}))
  t.notOk(thrown instanceof ConvexError)
  t.match(thrown.message, /TOWNHALL_ERR_RATE_LIMITED/)
})

test('the plain {path, args} form still answers as before, with values in Convex\'s encoding', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false', ADMIN_API_KEY: ADMIN_KEY })
  const ok = await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:defaultWorldStatus', args: {} } })
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { status: 'success', logLines: [] })
  t.ok('value' in ok.json())
  const noArgs = await app.inject({ method: 'POST', url: '/api/function', payload: { path: 'world:defaultWorldStatus' } })
  t.match(noArgs.json(), { status: 'success' }, 'args may be left out')
  const unknown = await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'nope:nothing', args: {} } })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { statusCode: 404, code: 'TOWNHALL_ERR_UNKNOWN_FUNCTION', error: 'Not Found', message: 'no function nope:nothing' })
  const bad = await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:worldState', args: { worldId: 7 } } })
  t.match(bad, { statusCode: 400 })
  t.match(bad.json(), { code: 'TOWNHALL_ERR_BAD_ARGUMENTS', message: /args\.worldId/ })
  // Plain JSON: a "$bytes" object is not decoded, it is just an object that is not a string.
  const plain = await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:worldState', args: { worldId: { $bytes: '***' } } } })
  t.match(plain.json(), { statusCode: 400, message: /args\.worldId must be string/ })
  const admin = await app.inject({ method: 'POST', url: '/api/mutation', payload: { path: 'testing:stop', args: {} }, headers: { authorization: `Convex ${ADMIN_KEY}` } })
  t.not(admin.statusCode, 401, 'Authorization: Convex <key> is a credential in the plain form too')
  t.not(admin.statusCode, 403)

  const docs = await app.inject({ url: '/docs/json' })
  t.equal(docs.statusCode, 200)
  const doc = docs.json()
  for (const endpoint of ['query', 'mutation', 'action', 'function']) {
    const op = doc.paths[`/api/${endpoint}`]?.post
    t.ok(op, `/api/${endpoint} is documented`)
    const forms = op.requestBody.content['application/json'].schema.anyOf ?? op.requestBody.content['application/json'].schema.oneOf
    t.equal(forms?.length, 2, `/api/${endpoint}: both body forms`)
    t.ok(op.responses['560'], `/api/${endpoint}: the 560 envelope`)
    t.ok(op.responses['200'] && op.responses['400'] && op.responses['429'], `/api/${endpoint}: 200, 400, 429`)
  }
})
