import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { buildApp } from '../helpers/app.ts'
import { TILESET_URL } from '../../src/game/data/map.ts'
import { TILESET_DIM_X, TILESET_DIM_Y } from '../../src/game/data/tileset.ts'

test('GET the tileset: a PNG any origin may load, cached and revalidated by ETag', async (t) => {
  const app = await buildApp(t, storeTargets()[0], { ENGINE_ENABLED: 'false' })
  const res = await app.inject({ url: TILESET_URL, headers: { origin: 'http://localhost:5173' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'image/png')
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.match(res.headers['cache-control'], /public, max-age=\d+/)
  const etag = String(res.headers.etag)
  t.match(etag, /^"[\w-]{22}"$/)
  const body = res.rawPayload
  t.same([...body.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature')
  t.same([body.readUInt32BE(16), body.readUInt32BE(20)], [TILESET_DIM_X, TILESET_DIM_Y], 'IHDR size = tileSetDimX × tileSetDimY')

  const again = await app.inject({ url: TILESET_URL, headers: { 'if-none-match': etag } })
  t.equal(again.statusCode, 304)
  t.equal(again.rawPayload.length, 0)
  t.equal(again.headers.etag, etag)
  t.equal(again.headers['access-control-allow-origin'], '*')
  t.equal((await app.inject({ url: TILESET_URL, headers: { 'if-none-match': `"other", W/${etag}` } })).statusCode, 304, 'a list with a weak match')
  t.equal((await app.inject({ url: TILESET_URL, headers: { 'if-none-match': '"stale"' } })).statusCode, 200)

  const unversioned = await app.inject('/assets/townhall/tileset.png')
  t.equal(unversioned.statusCode, 200, 'the version is optional')
  t.equal(unversioned.headers.etag, etag, 'the same sheet')
  const head = await app.inject({ method: 'HEAD', url: TILESET_URL })
  t.equal(head.statusCode, 200)
  t.equal(head.headers['content-type'], 'image/png')
  t.equal((await app.inject('/assets/townhall/nope.png')).statusCode, 404)
})
