// The kill switch holds across a restart: the real server (a child process) runs the default world against
// a local OpenAI-wire server; once its agents are calling the LLM the operator pauses the world, the server
// is stopped and started again on the same data, and the agents make no call until the world is resumed.
import { test } from 'tap'
import { chatReply, embeddingReply, startFakeProvider, vectorOf, type FakeProvider } from '../helpers/fakeProvider.ts'
import { startServer } from '../helpers/server.ts'
import { tempDir } from '../helpers/stores.ts'

const DIM = 8
const ADMIN = 'admin-key-for-restart-tests-0123456789'
const CHECK_TEXTS = ['Reply with the word OK.', 'townhall provider check']

/** Requests agents made (not the start-up provider checks). */
const agentCalls = (fake: FakeProvider): number =>
  fake.requests.filter((r) => !CHECK_TEXTS.some((text) => JSON.stringify(r.body).includes(text))).length

async function until<T> (what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

test('a paused world stays paused across a restart, and calls again once resumed', async (t) => {
  const fake = await startFakeProvider((req) => {
    if (req.path.endsWith('/embeddings')) return embeddingReply((req.body.input as string[]).map((_, i) => vectorOf(DIM, i + 1)))
    const prompt = JSON.stringify(req.body.messages)
    return chatReply(prompt.includes('important') ? '5' : 'Nice to see you here.')
  })
  t.teardown(fake.close)
  const dir = await tempDir(t)
  const env = {
    STORE: 'embedded',
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
    ADMIN_API_KEY: ADMIN,
    LLM_API_URL: fake.url,
    LLM_MODEL: 'fake-chat',
    LLM_EMBEDDING_MODEL: 'fake-embed',
    EMBEDDING_DIMENSION: String(DIM),
    LLM_MAX_RETRIES: '0',
    SHUTDOWN_GRACE_MS: '3000'
  }
  const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }

  const first = await startServer(t, { ...env, LOG_LEVEL: 'info' })
  const world = await until('the default world', async () => {
    const res = await fetch(`${first.url}/api/worlds/default`)
    const body = res.ok ? await res.json() as { worldId?: string } | null : null
    return body?.worldId === undefined ? undefined : body as { worldId: string }
  }, 30_000)
  await until('the agents calling the LLM', async () => agentCalls(fake) > 0 ? true : undefined, 90_000)

  const paused = await fetch(`${first.url}/api/admin/llm/pause`, { method: 'POST', headers, body: JSON.stringify({ worldId: world.worldId }) })
  t.equal(paused.status, 200)
  const stopped = await first.stop('SIGTERM')
  t.equal(stopped.code, 0, 'the first server stopped cleanly')

  const second = await startServer(t, { ...env, LOG_LEVEL: 'info' })
  const afterRestart = agentCalls(fake)
  const status = await (await fetch(`${second.url}/api/worlds/default`)).json() as { llmPaused: boolean, worldId: string }
  t.match(status, { worldId: world.worldId, llmPaused: true }, 'the world status still says llmPaused after the restart')
  const state = await (await fetch(`${second.url}/api/admin/llm/worlds/${world.worldId}`, { headers })).json()
  t.match(state, { paused: true, deploymentPaused: false })

  // The world runs (its clock moves) while its agents stay off the LLM.
  const clock = async (): Promise<number> => ((await (await fetch(`${second.url}/api/worlds/${world.worldId}/state`)).json()) as { engine: { currentTime: number } }).engine.currentTime
  const heartbeat = async (): Promise<void> => { await fetch(`${second.url}/api/worlds/${world.worldId}/heartbeat`, { method: 'POST' }) }
  const before = await clock()
  // The second server takes the world over once the first one's lease is given up or runs out.
  await until('the world running on the second server', async () => { await heartbeat(); return await clock() > before ? true : undefined }, 60_000)
  const running = await clock()
  await new Promise((resolve) => setTimeout(resolve, 6000))
  await heartbeat()
  t.ok(await clock() >= running + 4000, 'the world kept running for 6 s')
  t.equal(agentCalls(fake) - afterRestart, 0, 'no agent called the LLM while the world was paused')

  const resumed = await fetch(`${second.url}/api/admin/llm/resume`, { method: 'POST', headers, body: JSON.stringify({ worldId: world.worldId }) })
  t.equal(resumed.status, 200)
  await until('the agents calling the LLM again', async () => agentCalls(fake) > afterRestart ? true : undefined, 90_000)
  t.pass('the agents call the LLM again once resumed')
  t.match(await (await fetch(`${second.url}/api/worlds/default`)).json(), { llmPaused: false })
})
