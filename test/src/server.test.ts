// The real server process: start, serve the probes, shut down on SIGINT, refuse bad configuration.
import { test } from 'tap'
import { runServer, startServer } from '../helpers/server.ts'
import { storeTargets, tempDir } from '../helpers/stores.ts'

for (const target of storeTargets()) {
  test(`the server starts on the ${target.name} store, serves the probes and stops cleanly on SIGINT`, async (t) => {
    const { config, store } = await target.fresh(t)
    await store.close()
    const server = await startServer(t, { ...config, LOG_LEVEL: 'info' })
    const health = await fetch(`${server.url}/health`)
    t.equal(health.status, 200)
    const ready = await fetch(`${server.url}/ready`)
    t.equal(ready.status, 200)
    t.match(await ready.json(), { status: 'ready', store: { kind: target.name } })
    const stopped = await server.stop('SIGINT')
    t.equal(stopped.code, 0, 'exit code 0')
    t.ok(stopped.ms < 5000, `stopped within 5 s (${stopped.ms} ms)`)
    t.match(server.stdout(), /"msg":"shutting down"/)
  })
}

test('bad configuration exits non-zero with one clear line per problem', async (t) => {
  const dir = await tempDir(t)
  const { exited, output } = runServer({ PORT: 'abc', MONGODB_URL: 'not-a-url', STORE: 'nosql', DATA_DIR: dir })
  const { code } = await exited
  t.equal(code, 1)
  const lines = output.err.trim().split('\n')
  t.same(lines, [
    'townhall: config: PORT: expected an integer port from 0 to 65535, got "abc"',
    'townhall: config: STORE: expected embedded or mongodb, got "nosql"',
    'townhall: config: MONGODB_URL: expected a MongoDB connection string starting with mongodb:// or mongodb+srv://, got "not-a-url"'
  ])
})

test('an unreachable MongoDB stops the start with a clear message', async (t) => {
  const { exited, output } = runServer({ MONGODB_URL: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500', LOG_LEVEL: 'info' })
  const { code } = await exited
  t.equal(code, 1)
  t.match(output.out, /cannot connect to MongoDB at mongodb:\/\/127\.0\.0\.1:1/)
})
