// The API over app.inject: Convex-style calls, REST routes, validation, auth and rate limits.
import { test } from 'tap'
import { storeTargets } from '../../helpers/stores.ts'
import { buildApp } from '../../helpers/app.ts'
import { ADMIN_KEY } from '../../helpers/api.ts'

const embedded = storeTargets()[0]!

test('Convex-style calls, REST routes and clear 4xx answers', async (t) => {
  const app = await buildApp(t, embedded, { ADMIN_API_KEY: ADMIN_KEY, ENGINE_ENABLED: 'true' })
  const call = async (kind: string, path: unknown, args?: unknown, headers: Record<string, string> = {}): Promise<{ statusCode: number, body: any }> => {
    const res = await app.inject({ method: 'POST', url: `/api/${kind}`, payload: { path, args }, headers })
    return { statusCode: res.statusCode, body: res.json() }
  }
  const status = await call('query', 'world:defaultWorldStatus', {})
  t.equal(status.statusCode, 200)
  t.match(status.body, { status: 'success', value: { worldId: String, engineId: String, isDefault: true } })
  const { worldId, engineId } = status.body.value

  const state = await app.inject({ url: `/api/worlds/${worldId}/state` })
  t.equal(state.statusCode, 200)
  t.match(state.json(), { world: { _id: worldId, players: Array }, engine: { _id: engineId, running: true } })
  const descriptions = await app.inject({ url: `/api/worlds/${worldId}/descriptions` })
  t.match(descriptions.json(), { worldMap: { width: 64, height: 48, tileDim: 32, tileSetUrl: /\/assets\/townhall\/tileset\.png/, animatedSprites: Array } })

  t.match(await call('query', 'nope:nothing'), { statusCode: 404, body: { code: 'TOWNHALL_ERR_UNKNOWN_FUNCTION', message: 'no function nope:nothing' } })
  t.match(await call('query', 'world:worldState', { worldId: 7 }), { statusCode: 400, body: { code: 'TOWNHALL_ERR_BAD_ARGUMENTS', message: /args\.worldId must be string/ } })
  t.match(await call('mutation', 'world:worldState', { worldId }), { statusCode: 400, body: { code: 'TOWNHALL_ERR_WRONG_KIND' } })
  t.match(await call('query', 'world:worldState', { worldId: 'missing' }), { statusCode: 404, body: { message: 'no world missing' } })
  const bad = await app.inject({ method: 'POST', url: '/api/query', payload: '{"path":', headers: { 'content-type': 'application/json' } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { statusCode: 400, message: /not valid JSON/ })
  const huge = await app.inject({ method: 'POST', url: '/api/mutation', payload: { path: 'world:joinWorld', args: { worldId, name: 'x'.repeat(2 << 20) } } })
  t.equal(huge.statusCode, 413, 'oversize payloads are refused')

  // An identity, then a join as it; a player acts only for itself.
  const identity = await call('mutation', 'auth:newPlayerToken', {})
  t.match(identity, { statusCode: 200, body: { value: { token: /^th_/, tokenIdentifier: /^[0-9a-f]{64}$/ } } })
  const { token, tokenIdentifier } = identity.body.value
  t.match(await call('mutation', 'world:joinWorld', { worldId, name: 'Tess' }), { statusCode: 401, body: { message: /needs an identity/ } }, 'joining without an identity: 401')
  const joined = await call('mutation', 'world:joinWorld', { worldId, name: 'Tess', character: 'f3' }, { authorization: `Bearer ${token as string}` })
  t.match(joined, { statusCode: 200, body: { value: String } }, 'joinWorld answers with the input id')
  const inputId = joined.body.value as string
  t.equal((await app.inject({ url: `/api/worlds/${worldId}/me`, headers: { authorization: `Bearer ${token as string}` } })).json(), tokenIdentifier, 'userStatus is the caller\'s identity')
  let me: string | null = null
  for (let i = 0; i < 100 && me === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const players = (await app.inject({ url: `/api/worlds/${worldId}/state` })).json().world.players as Array<{ id: string, human?: string }>
    me = players.find((p) => p.human === tokenIdentifier)?.id ?? null
  }
  t.match(me, /^p:\d+$/)
  t.match((await app.inject({ url: `/api/inputs/${inputId}` })).json(), { kind: 'ok', value: me })
  const auth = { authorization: `Bearer ${token as string}` }
  const other = await call('mutation', 'world:sendWorldInput', { engineId, name: 'moveTo', args: { playerId: 'p:0', destination: { x: 5, y: 5 } } }, auth)
  t.match(other, { statusCode: 403, body: { code: 'TOWNHALL_ERR_FORBIDDEN', message: /acts only for itself/ } }, 'a player acting for another: 403')
  const own = await app.inject({ method: 'POST', url: `/api/engines/${engineId as string}/inputs`, payload: { name: 'moveTo', args: { playerId: me, destination: { x: 5, y: 5 } } }, headers: auth })
  t.equal(own.statusCode, 200)
  t.match(await call('mutation', 'world:sendWorldInput', { engineId, name: 'moveTo', args: { playerId: me } }), { statusCode: 401 }, 'no token: 401')

  // Admin functions: 401 without the key, 403 with a player's token, 200 with the key.
  t.match(await call('mutation', 'testing:stop', {}), { statusCode: 401, body: { message: /admin key/ } })
  t.match(await call('mutation', 'testing:stop', {}, auth), { statusCode: 403 })
  t.match(await call('mutation', 'testing:stop', {}, { authorization: `Bearer ${ADMIN_KEY}` }), { statusCode: 200, body: { value: { status: 'stoppedByDeveloper' } } })
  const resume = await app.inject({ method: 'POST', url: `/api/admin/worlds/${worldId as string}/resume`, headers: { 'x-admin-key': ADMIN_KEY } })
  t.match(resume.json(), { status: 'running' })

  const docs = await app.inject({ url: '/docs/json' })
  t.equal(docs.statusCode, 200)
  t.ok(docs.json().paths['/api/query'], 'the OpenAPI document lists the routes')
})

test('admin functions are disabled, not open, without ADMIN_API_KEY', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const res = await app.inject({ method: 'POST', url: '/api/mutation', payload: { path: 'testing:stop', args: {} }, headers: { authorization: `Bearer th_${'a'.repeat(32)}` } })
  t.equal(res.statusCode, 403)
  t.match(res.json(), { code: 'TOWNHALL_ERR_ADMIN_DISABLED', message: /set ADMIN_API_KEY/ })
  // Without an admin key configured, a token that is no player's cannot be a key either: refused as a credential.
  const guess = await app.inject({ method: 'POST', url: '/api/mutation', payload: { path: 'testing:stop', args: {} }, headers: { authorization: 'Bearer anything-at-all-here' } })
  t.equal(guess.statusCode, 401)
  t.match(guess.json(), { code: 'TOWNHALL_ERR_UNAUTHORIZED', message: /ADMIN_API_KEY is not set/ })
})

test('over the rate limit: 429 with Retry-After, keyed per client', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false', RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' })
  const codes: number[] = []
  for (let i = 0; i < 7; i++) codes.push((await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:defaultWorldStatus', args: {} } })).statusCode)
  t.same(codes, [200, 200, 200, 200, 200, 429, 429])
  const limited = await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:defaultWorldStatus', args: {} } })
  t.equal(limited.statusCode, 429)
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After is set')
  t.match(limited.json(), { statusCode: 429, message: /Rate limit exceeded/i })
  const withToken = await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:defaultWorldStatus', args: {} }, headers: { authorization: `Bearer th_${'b'.repeat(32)}` } })
  t.equal(withToken.statusCode, 200, 'another token has its own budget')
  t.equal((await app.inject({ url: '/health' })).statusCode, 200, 'probes are never limited')
})

test('world:previousConversation is the latest ended conversation that had messages, as AI Town keeps it', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const worldId = 'w-previous'
  const conversation = (id: string, ended: number, numMessages: number): Record<string, unknown> =>
    ({ worldId, id, creator: 'p:1', created: ended - 1000, ended, numMessages, participants: ['p:1', 'p:2'] })
  await app.store.collection('archivedConversations').insertMany([conversation('c:1', 1000, 3), conversation('c:2', 2000, 0)])
  await app.store.collection('participatedTogether').insertMany([
    { worldId, conversationId: 'c:1', player1: 'p:1', player2: 'p:2', ended: 1000 },
    { worldId, conversationId: 'c:2', player1: 'p:1', player2: 'p:2', ended: 2000 }
  ])
  const ask = async (playerId: string): Promise<unknown> => (await app.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:previousConversation', args: { worldId, playerId } } })).json().value
  t.match(await ask('p:1'), { id: 'c:1', numMessages: 3, participants: ['p:1', 'p:2'] }, 'the newer conversation without messages is skipped')
  t.equal(await ask('p:3'), null, 'a player who never talked has none')
})
