// The LLM pool against a local OpenAI-wire server that serves 4 calls at a time: the bound on calls in
// flight, fair turns across worlds and agents, conversation replies first, timeouts from the start of a
// call, cancellation and dropping while queued, and the queue in /metrics.
import { test } from 'tap'
import { createLlmClient } from '../../src/llm/client.ts'
import { LlmError } from '../../src/llm/errors.ts'
import { createGovernedClient } from '../../src/llm/governed.ts'
import { defaultConcurrency, LlmPool, type PoolOptions } from '../../src/llm/pool.ts'
import type { EmbeddingEndpoint, LlmClient, LlmPriority, ProviderEndpoint } from '../../src/llm/types.ts'
import { chatReply, embeddingReply, startFakeProvider, vectorOf, type FakeProviderOptions } from '../helpers/fakeProvider.ts'
import { buildApp } from '../helpers/app.ts'
import { storeTargets, type Teardownable } from '../helpers/stores.ts'

const DIM = 8

async function setup (t: Teardownable, provider: FakeProviderOptions, pool: Partial<PoolOptions> & { timeoutMs?: number } = {}) {
  const fake = await startFakeProvider((req) => {
    if (req.path.endsWith('/embeddings')) return embeddingReply((req.body.input as string[]).map((_, i) => vectorOf(DIM, i + 1)))
    // The reply names the caller, so the test sees whose call was served.
    return chatReply(String(req.body.messages[0].content))
  }, provider)
  t.teardown(fake.close)
  const chat: ProviderEndpoint = { kind: 'custom', name: 'fake', baseUrl: fake.url, model: 'fake-chat' }
  const embedding: EmbeddingEndpoint = { ...chat, model: 'fake-embed', dimension: DIM }
  const raw = createLlmClient({ chat, embedding, timeoutMs: pool.timeoutMs ?? 5000, maxRetries: 0 })
  const llmPool = new LlmPool({ maxConcurrency: 4, ...pool })
  let maxInFlight = 0
  const client: LlmClient = createGovernedClient({ client: raw, pool: llmPool })
  const watch = setInterval(() => { maxInFlight = Math.max(maxInFlight, llmPool.inFlight) }, 1)
  t.teardown(() => { clearInterval(watch) })
  const say = async (worldId: string, agentId: string, priority: LlmPriority = 'conversation', signal?: AbortSignal): Promise<string> =>
    (await client.chat({ messages: [{ role: 'user', content: `${worldId}/${agentId}` }], attribution: { worldId, agentId }, priority, signal })).text
  return { fake, pool: llmPool, client, say, maxInFlight: () => maxInFlight }
}

test('200 agents in 10 worlds: never more than LLM_MAX_CONCURRENCY calls in flight, and no world starves', async (t) => {
  const { fake, say, maxInFlight } = await setup(t, { concurrency: 4, serveMs: 4 })
  // One crowded world of 110 agents, asking first, and nine small ones of 10 agents each: 200 agents.
  const worlds = [{ id: 'crowded', agents: 110 }, ...Array.from({ length: 9 }, (_, i) => ({ id: `small-${i}`, agents: 10 }))]
  const served: string[] = []
  const agents: Array<Promise<void>> = []
  for (const world of worlds) {
    for (let a = 0; a < world.agents; a++) {
      agents.push((async () => {
        for (let call = 0; call < 2; call++) served.push((await say(world.id, `a:${a}`)).split('/')[0]!)
      })())
    }
  }
  await Promise.all(agents)
  t.equal(served.length, 400, 'every call was served')
  t.ok(fake.maxOpen <= 4, `at most 4 requests reached the provider at once (saw ${fake.maxOpen})`)
  t.ok(maxInFlight() <= 4, `at most 4 calls in flight in the pool (saw ${maxInFlight()})`)
  t.equal(maxInFlight(), 4, 'and the pool used all 4')
  // Round-robin across worlds: every small world is served within the first turns, although the crowded
  // world queued 110 calls before any of them (first come, first served would make them wait 110 calls).
  for (const world of worlds) {
    const first = served.indexOf(world.id)
    t.ok(first < 4 + 2 * worlds.length, `${world.id}: first served as call ${first + 1}`)
  }
  // While all are busy, each world gets about a tenth of the calls.
  const firstHundred = served.slice(0, 100)
  for (const world of worlds) {
    const n = firstHundred.filter((w) => w === world.id).length
    t.ok(n >= 7, `${world.id}: ${n} of the first 100 calls`)
  }
})

test('agents of one world take turns too', async (t) => {
  const { say } = await setup(t, { concurrency: 1, serveMs: 2 }, { maxConcurrency: 1 })
  const served: string[] = []
  const calls: Array<Promise<void>> = []
  // Agent a:0 queues 20 calls at once, then agents a:1 and a:2 one each.
  for (let i = 0; i < 20; i++) calls.push(say('w', 'a:0').then((s) => { served.push(s) }))
  calls.push(say('w', 'a:1').then((s) => { served.push(s) }), say('w', 'a:2').then((s) => { served.push(s) }))
  await Promise.all(calls)
  t.ok(served.indexOf('w/a:1') <= 3, `a:1 served as call ${served.indexOf('w/a:1') + 1}, not after a:0's 20`)
  t.ok(served.indexOf('w/a:2') <= 4, `a:2 served as call ${served.indexOf('w/a:2') + 1}`)
})

test('replies in a conversation go before remembering and reflection', async (t) => {
  const { say } = await setup(t, { concurrency: 2, serveMs: 10 }, { maxConcurrency: 2 })
  const served: string[] = []
  const calls: Array<Promise<void>> = []
  for (let i = 0; i < 12; i++) calls.push(say('w', `bg:${i}`, 'background').then((s) => { served.push(s) }))
  await new Promise((resolve) => setTimeout(resolve, 5))
  calls.push(say('w', 'talker', 'conversation').then((s) => { served.push(s) }))
  await Promise.all(calls)
  // Two background calls were already running; the reply goes next, before the ten still queued.
  t.ok(served.indexOf('w/talker') <= 3, `the reply was served as call ${served.indexOf('w/talker') + 1} of 13`)
})

test('the timeout counts from the start of a call, not from when it was queued', async (t) => {
  const { say, fake } = await setup(t, { concurrency: 1, serveMs: 150 }, { maxConcurrency: 1, timeoutMs: 400 })
  const started = Date.now()
  const replies = await Promise.all(Array.from({ length: 6 }, async (_, i) => await say('w', `a:${i}`)))
  t.equal(replies.length, 6, 'every call succeeded')
  t.ok(Date.now() - started >= 6 * 150, 'the last ones waited longer than the 400 ms timeout in the queue')
  t.equal(fake.requests.length, 6, 'no call was retried or timed out')
})

test('a queued call cancelled by its signal never reaches the provider; one waiting too long is dropped', async (t) => {
  const { say, fake, pool } = await setup(t, { concurrency: 1, serveMs: 200 }, { maxConcurrency: 1, maxWaitMs: 100 })
  const first = say('w', 'a:0')
  const controller = new AbortController()
  const cancelled = say('w', 'a:1', 'conversation', controller.signal).catch((err: unknown) => err)
  const late = say('w', 'a:2').catch((err: unknown) => err)
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.same(pool.stats().queued, { conversation: 2, background: 0 })
  controller.abort()
  const err = await cancelled
  t.ok(err instanceof LlmError && err.code === 'TOWNHALL_ERR_LLM_ABORTED', 'the cancelled call fails at once')
  t.equal(pool.stats().queued.conversation, 1)
  await first
  const dropped = await late
  t.ok(dropped instanceof LlmError && dropped.code === 'TOWNHALL_ERR_LLM_QUEUE_TIMEOUT', 'the call that waited 200 ms (over 100) is dropped')
  t.equal(fake.requests.length, 1, 'only the first call reached the provider')
  t.same(pool.stats(), { limit: 1, inFlight: 0, queued: { conversation: 0, background: 0 }, queuedWorlds: 0 })
})

test('the default concurrency: 4 for Ollama and local servers, 16 for hosted providers', async (t) => {
  t.equal(defaultConcurrency({ kind: 'ollama', baseUrl: 'http://ollama.example.com:11434' }), 4)
  t.equal(defaultConcurrency({ kind: 'custom', baseUrl: 'http://127.0.0.1:8000/v1' }), 4)
  t.equal(defaultConcurrency({ kind: 'custom', baseUrl: 'http://llama:8080/v1' }), 4)
  t.equal(defaultConcurrency({ kind: 'custom', baseUrl: 'https://api.acme.ai/v1' }), 16)
  t.equal(defaultConcurrency({ kind: 'openai', baseUrl: 'https://api.openai.com/v1' }), 16)
  t.equal(defaultConcurrency({ kind: 'offline', baseUrl: '' }), 16)
})

test('queue depth, calls in flight and queue wait are in /metrics', async (t) => {
  const fake = await startFakeProvider((req) => {
    if (req.path.endsWith('/embeddings')) return embeddingReply((req.body.input as string[]).map((_, i) => vectorOf(DIM, i + 1)))
    return chatReply('hi')
  }, { concurrency: 2, serveMs: 300 })
  t.teardown(fake.close)
  const app = await buildApp(t, storeTargets()[0]!, {
    ENGINE_ENABLED: 'false', LLM_API_URL: fake.url, LLM_MODEL: 'fake-chat', LLM_EMBEDDING_MODEL: 'fake-embed', EMBEDDING_DIMENSION: String(DIM), LLM_MAX_CONCURRENCY: '2'
  })
  const calls = Array.from({ length: 6 }, async (_, i) => await app.llm.chat({
    messages: [{ role: 'user', content: 'x' }], attribution: { worldId: `w${i % 3}`, agentId: 'a' }, priority: i < 4 ? 'conversation' : 'background'
  }))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const during = (await app.inject('/metrics')).body
  t.match(during, /townhall_llm_max_concurrency 2/)
  t.match(during, /townhall_llm_in_flight 2/)
  t.match(during, /townhall_llm_queue_depth\{priority="conversation"\} 2/)
  t.match(during, /townhall_llm_queue_depth\{priority="background"\} 2/)
  await Promise.all(calls)
  const after = (await app.inject('/metrics')).body
  t.match(after, /townhall_llm_queue_depth\{priority="conversation"\} 0/)
  t.match(after, /townhall_llm_queue_wait_seconds_count\{priority="conversation"\} 2/)
  t.match(after, /townhall_llm_queue_wait_seconds_count\{priority="background"\} 2/)
  const sum = Number(/townhall_llm_queue_wait_seconds_sum\{priority="background"\} ([\d.]+)/.exec(after)?.[1])
  t.ok(sum >= 0.5, `the background calls waited two rounds of 300 ms (${sum} s in all)`)
})
