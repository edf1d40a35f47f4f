// GET /api/admin/import/report: the validate-import report over HTTP, for the admin only.
import { test } from 'tap'
import { join } from 'node:path'
import { buildApp } from '../../helpers/app.ts'
import { storeTargets, tempDir } from '../../helpers/stores.ts'
import { writeConvexExport } from '../../fixtures/convexExport.ts'
import { importConvexExport } from '../../../src/transfer/importConvex.ts'

const embedded = storeTargets()[0]!
const ADMIN_KEY = 'admin-key-0123456789'

test('the import report: counts and checksums equal the import\'s; admin only', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false', ADMIN_API_KEY: ADMIN_KEY, EMBEDDING_DIMENSION: '1024' })
  const dir = await tempDir(t)
  await writeConvexExport({ out: join(dir, 'snapshot.zip'), memoriesPerAgent: 2 })
  const imported = await importConvexExport(join(dir, 'snapshot.zip'), { store: app.store, dimension: 1024, embeddingModel: 'm#1024' })

  const anonymous = await app.inject({ method: 'GET', url: '/api/admin/import/report' })
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.json(), { code: 'TOWNHALL_ERR_UNAUTHORIZED', message: /admin key/ })
  const wrong = await app.inject({ method: 'GET', url: '/api/admin/import/report', headers: { authorization: 'Bearer th_not-a-player-token' } })
  t.ok(wrong.statusCode === 401 || wrong.statusCode === 403, 'a token that is not the admin key is refused')

  const res = await app.inject({ method: 'GET', url: '/api/admin/import/report', headers: { authorization: `Bearer ${ADMIN_KEY}` } })
  t.equal(res.statusCode, 200)
  const report = res.json() as { ok: boolean, collections: Record<string, { documents: number, checksum: string }> }
  t.ok(report.ok, 'references hold')
  for (const [name, sum] of Object.entries(imported.collections)) t.same(report.collections[name], sum, `${name} as imported`)
})

test('the import report is refused when admin functions are disabled', async (t) => {
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false' })
  const res = await app.inject({ method: 'GET', url: '/api/admin/import/report' })
  t.equal(res.statusCode, 403)
  t.match(res.json(), { code: 'TOWNHALL_ERR_ADMIN_DISABLED' })
})
