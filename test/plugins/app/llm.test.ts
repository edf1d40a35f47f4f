// The llm plugin with a real provider configuration pointed at a local OpenAI-wire server.
import { test } from 'tap'
import { storeTargets } from '../../helpers/stores.ts'
import { buildApp } from '../../helpers/app.ts'
import { chatReply, embeddingReply, startFakeProvider, vectorOf } from '../../helpers/fakeProvider.ts'
import { freePort } from '../../helpers/redis.ts'

const embedded = storeTargets()[0]!

async function waitUntil (condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
}

test('a configured provider is used, checked at start and its calls recorded; never offline', async (t) => {
  const provider = await startFakeProvider((req) => req.path.endsWith('/embeddings')
    ? embeddingReply((req.body.input as string[]).map((_, i) => vectorOf(32, i + 1)))
    : chatReply('Hello!', { usage: { prompt_tokens: 12, completion_tokens: 3 } }))
  t.teardown(provider.close)
  const app = await buildApp(t, embedded, {
    ENGINE_ENABLED: 'false', LLM_API_URL: provider.url, LLM_MODEL: 'tiny-chat', LLM_EMBEDDING_MODEL: 'tiny-embed', EMBEDDING_DIMENSION: '32'
  })
  t.equal(app.llm.mode, 'online')
  await waitUntil(() => provider.requests.length >= 2)
  t.match(app.llmHealth(), { mode: 'online', ok: true, chatModel: 'tiny-chat', embeddingModel: 'tiny-embed', dimension: 32 })
  await app.memories.add({ worldId: 'w:1', playerId: 'p:1', description: 'I met the baker', importance: 4, data: { type: 'relationship', playerId: 'p:2' } })
  const usage = app.llmUsage()
  t.ok(usage.some((u) => u.operation === 'chat' && u.model === 'tiny-chat' && u.promptTokens >= 12 && u.completionTokens >= 3), 'tokens recorded per call')
  t.ok(usage.some((u) => u.operation === 'embed' && u.model === 'tiny-embed' && u.calls >= 2))
  t.match((await app.inject({ url: '/ready' })).json(), { status: 'ready', llm: { mode: 'online', ok: true } })
})

test('an unreachable provider is reported in one clear line; the service stays ready and agents wait', async (t) => {
  const port = await freePort()
  const app = await buildApp(t, embedded, { ENGINE_ENABLED: 'false', LLM_API_URL: `http://127.0.0.1:${port}/v1`, LLM_MODEL: 'm', LLM_EMBEDDING_MODEL: 'e', LLM_MAX_RETRIES: '0' })
  await waitUntil(() => !app.llmHealth().ok)
  const health = app.llmHealth()
  t.equal(health.ok, false)
  t.match(health.problem, new RegExp(`127\\.0\\.0\\.1:${port}`))
  t.notMatch(health.problem, /\n/, 'one line')
  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { llm: { mode: 'online', ok: false } })
})
