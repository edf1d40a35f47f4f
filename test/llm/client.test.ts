import { test } from 'tap'
import { getEventListeners } from 'node:events'
import { checkProvider, createLlmClient, createSignalLinker, openAiBaseUrl, ollamaRoot, type LlmClientOptions } from '../../src/llm/client.ts'
import { LlmError } from '../../src/llm/errors.ts'
import type { EmbeddingEndpoint, LlmCallRecord, ProviderEndpoint } from '../../src/llm/types.ts'
import { chatReply, embeddingReply, startFakeProvider, vectorOf, type Handler } from '../helpers/fakeProvider.ts'

const DIM = 8

interface Teardown { teardown: (fn: () => unknown) => void }

/** Resolves with the LlmError a promise rejects with (fails the test if it resolves). */
async function failure (promise: Promise<unknown>): Promise<LlmError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof LlmError) return err
    throw err
  }
  throw new Error('expected an LlmError')
}

async function setup (t: Teardown, handler: Handler, over: Partial<LlmClientOptions> & { kind?: 'custom' | 'ollama', base?: (url: string) => string } = {}) {
  const fake = await startFakeProvider(handler)
  t.teardown(fake.close)
  const kind = over.kind ?? 'custom'
  const baseUrl = over.base?.(fake.url) ?? fake.url
  const chat: ProviderEndpoint = { kind, name: kind === 'ollama' ? 'ollama' : 'acme', baseUrl, model: kind === 'ollama' ? 'llama3' : 'glm-4.6', apiKey: kind === 'ollama' ? undefined : 'sk-test' }
  const embedding: EmbeddingEndpoint = { ...chat, model: kind === 'ollama' ? 'mxbai-embed-large' : 'embed-small', dimension: DIM }
  const records: LlmCallRecord[] = []
  const client = createLlmClient({
    chat,
    embedding,
    timeoutMs: 2000,
    maxRetries: 2,
    backoff: { baseMs: 5, maxMs: 20 },
    onCall: (r) => records.push(r),
    ...over
  })
  return { fake, client, records }
}

test('base URL helpers never double /v1', async (t) => {
  t.equal(openAiBaseUrl('http://h:1'), 'http://h:1/v1')
  t.equal(openAiBaseUrl('http://h:1/'), 'http://h:1/v1')
  t.equal(openAiBaseUrl('https://apis.iflow.cn/v1/'), 'https://apis.iflow.cn/v1')
  t.equal(openAiBaseUrl('https://x.test/v1/chat/completions'), 'https://x.test/v1')
  t.equal(openAiBaseUrl('https://generativelanguage.googleapis.com/v1beta/openai/'), 'https://generativelanguage.googleapis.com/v1beta/openai')
  t.equal(ollamaRoot('http://127.0.0.1:11434/v1/'), 'http://127.0.0.1:11434')
  t.equal(ollamaRoot('http://127.0.0.1:11434'), 'http://127.0.0.1:11434')
})

for (const withV1 of [false, true]) {
  test(`chat posts to /v1/chat/completions when the base URL ${withV1 ? 'ends in' : 'lacks'} /v1`, async (t) => {
    const { fake, client, records } = await setup(t, () => chatReply('Hello there.'), { base: (u) => withV1 ? `${u}/v1/` : u })
    const result = await client.chat({ messages: [{ role: 'user', content: 'hi' }], purpose: 'test' })
    t.equal(result.text, 'Hello there.')
    t.equal(fake.requests.length, 1)
    t.equal(fake.requests[0].method, 'POST')
    t.equal(fake.requests[0].path, '/v1/chat/completions')
    t.equal(fake.requests[0].headers.authorization, 'Bearer sk-test')
    t.equal(fake.requests[0].body.model, 'glm-4.6')
    t.equal(fake.requests[0].body.max_tokens, 300, '300 max tokens by default')
    t.same(result.usage, { promptTokens: 12, completionTokens: 5 })
    t.equal(records.length, 1)
    t.match(records[0], { operation: 'chat', provider: 'acme', model: 'glm-4.6', ok: true, attempts: 1, promptTokens: 12, completionTokens: 5, purpose: 'test' })
    t.ok(records[0].latencyMs >= 0)
  })
}

test('text only in reasoning_content is used when content is empty', async (t) => {
  const { client } = await setup(t, (_r, i) => i === 0
    ? chatReply('', { reasoning_content: 'Thinking aloud: hello Bob.' })
    : chatReply(null, { reasoning_content: 'From reasoning.' }))
  t.equal((await client.chat({ messages: [{ role: 'user', content: 'hi' }] })).text, 'Thinking aloud: hello Bob.')
  t.equal((await client.chat({ messages: [{ role: 'user', content: 'hi' }] })).text, 'From reasoning.')
})

test('content wins over reasoning_content, and a reply with no text is a typed error', async (t) => {
  const { client } = await setup(t, (_r, i) => i === 0
    ? chatReply('Answer.', { reasoning_content: 'hidden' })
    : chatReply('', { reasoning_content: '' }))
  t.equal((await client.chat({ messages: [{ role: 'user', content: 'hi' }] })).text, 'Answer.')
  await t.rejects(client.chat({ messages: [{ role: 'user', content: 'hi' }] }), { code: 'TOWNHALL_ERR_LLM_BAD_RESPONSE' })
})

test('stop is never sent empty; non-empty stops are sent', async (t) => {
  const { fake, client } = await setup(t, () => chatReply('ok'))
  await client.chat({ messages: [{ role: 'user', content: 'a' }], stop: [] })
  await client.chat({ messages: [{ role: 'user', content: 'b' }], stop: ['', ''] })
  await client.chat({ messages: [{ role: 'user', content: 'c' }] })
  await client.chat({ messages: [{ role: 'user', content: 'd' }], stop: ['Bob to Alice:', 'bob to alice:'], maxTokens: 50 })
  t.notOk('stop' in fake.requests[0].body, 'stop: [] is omitted')
  t.notOk('stop' in fake.requests[1].body, 'only empty strings are omitted')
  t.notOk('stop' in fake.requests[2].body)
  t.same(fake.requests[3].body.stop, ['Bob to Alice:', 'bob to alice:'])
  t.equal(fake.requests[3].body.max_tokens, 50)
})

test('429 then success: retried, honouring Retry-After', async (t) => {
  const { fake, client, records } = await setup(t, (_r, i) => i === 0
    ? { status: 429, json: { error: { message: 'slow down' } }, headers: { 'retry-after': '0.05' } }
    : chatReply('second time lucky'))
  const started = Date.now()
  const result = await client.chat({ messages: [{ role: 'user', content: 'hi' }] })
  t.equal(result.text, 'second time lucky')
  t.equal(fake.requests.length, 2)
  t.ok(Date.now() - started >= 45, 'waited for Retry-After')
  t.match(records[0], { ok: true, attempts: 2 })
})

test('500 three times: a clear error naming provider, model, status and attempts', async (t) => {
  const { fake, client, records } = await setup(t, () => ({ status: 500, json: { error: { message: 'upstream exploded' } } }))
  const e = await failure(client.chat({ messages: [{ role: 'user', content: 'hi' }] }))
  t.equal(e.code, 'TOWNHALL_ERR_LLM_HTTP')
  t.equal(e.message, 'acme glm-4.6: HTTP 500 after 3 attempts: upstream exploded')
  t.equal(e.provider, 'acme')
  t.equal(e.model, 'glm-4.6')
  t.equal(e.status, 500)
  t.equal(e.attempts, 3)
  t.equal(fake.requests.length, 3)
  t.match(records[0], { ok: false, attempts: 3, status: 500, errorCode: 'TOWNHALL_ERR_LLM_HTTP' })
})

test('4xx other than 429 is not retried', async (t) => {
  const { fake, client } = await setup(t, () => ({ status: 401, json: { error: { message: 'bad key' } } }))
  await t.rejects(client.chat({ messages: [{ role: 'user', content: 'hi' }] }), { code: 'TOWNHALL_ERR_LLM_HTTP', status: 401, message: 'acme glm-4.6: HTTP 401: bad key' })
  t.equal(fake.requests.length, 1)
})

test('a hanging provider times out, retries, then fails with a timeout error', async (t) => {
  const { fake, client } = await setup(t, () => 'hang', { timeoutMs: 100, maxRetries: 1 })
  const started = Date.now()
  const err = await failure(client.chat({ messages: [{ role: 'user', content: 'hi' }] }))
  t.equal(err.code, 'TOWNHALL_ERR_LLM_TIMEOUT')
  t.match(err.message, /^acme glm-4\.6: timeout after 2 attempts: no reply within 100 ms$/)
  t.equal(fake.requests.length, 2)
  t.ok(Date.now() - started < 1500)
})

test('a network error is retried and reported as unreachable', async (t) => {
  const fake = await startFakeProvider(() => chatReply('x'))
  const url = fake.url
  await fake.close()
  const endpoint: ProviderEndpoint = { kind: 'custom', name: 'acme', baseUrl: url, model: 'm' }
  const client = createLlmClient({ chat: endpoint, embedding: { ...endpoint, dimension: DIM }, maxRetries: 1, backoff: { baseMs: 1, maxMs: 2 } })
  const err = await failure(client.chat({ messages: [{ role: 'user', content: 'hi' }] }))
  t.equal(err.code, 'TOWNHALL_ERR_LLM_NETWORK')
  t.equal(err.attempts, 2)
  t.match(err.message, /network error after 2 attempts: cannot reach http:\/\/127\.0\.0\.1:\d+/)
})

test('the construction signal cancels a call in flight and its retries', async (t) => {
  const controller = new AbortController()
  const { client } = await setup(t, () => 'hang', { signal: controller.signal, timeoutMs: 5000 })
  setTimeout(() => controller.abort(), 50)
  const started = Date.now()
  await t.rejects(client.chat({ messages: [{ role: 'user', content: 'hi' }] }), { code: 'TOWNHALL_ERR_LLM_ABORTED' })
  t.ok(Date.now() - started < 1000)
})

test('embeddings: POST /v1/embeddings, ordered by index, right dimension', async (t) => {
  const { fake, client, records } = await setup(t, () => ({
    json: { data: [{ index: 1, embedding: vectorOf(DIM, 2) }, { index: 0, embedding: vectorOf(DIM, 1) }], usage: { prompt_tokens: 4 } }
  }))
  const vectors = await client.embed(['one', 'two'])
  t.equal(fake.requests[0].path, '/v1/embeddings')
  t.same(fake.requests[0].body, { model: 'embed-small', input: ['one', 'two'] })
  t.equal(vectors.length, 2)
  t.ok(vectors[0] instanceof Float32Array)
  t.equal(vectors[0][0], Math.fround(Math.sin(1)))
  t.equal(vectors[1][0], Math.fround(Math.sin(2)))
  t.match(records[0], { operation: 'embed', ok: true, promptTokens: 4, inputs: 2 })
})

test('an embedding of the wrong dimension is rejected at the boundary', async (t) => {
  const { fake, client } = await setup(t, () => embeddingReply([vectorOf(DIM + 4)]))
  const err = await failure(client.embed(['text']))
  t.equal(err.code, 'TOWNHALL_ERR_LLM_DIMENSION')
  t.match(err.message, /acme embed-small: returned a 12-dimensional embedding but EMBEDDING_DIMENSION is 8/)
  t.equal(fake.requests.length, 1, 'not retried')
})

test('OpenAI text-embedding-3 endpoints are asked for the configured dimension', async (t) => {
  const fake = await startFakeProvider(() => embeddingReply([vectorOf(DIM)]))
  t.teardown(fake.close)
  const chat: ProviderEndpoint = { kind: 'openai', name: 'openai', baseUrl: `${fake.url}/v1`, model: 'gpt-4o-mini', apiKey: 'k' }
  const client = createLlmClient({ chat, embedding: { ...chat, model: 'text-embedding-3-small', dimension: DIM, requestDimensions: true } })
  await client.embed(['x'])
  t.same(fake.requests[0].body, { model: 'text-embedding-3-small', input: ['x'], dimensions: DIM })
})

test('Ollama: native /api/embed, chat through /v1/chat/completions', async (t) => {
  const { fake, client } = await setup(t, (r) => r.path === '/api/embed'
    ? { json: { model: 'mxbai-embed-large', embeddings: (r.body.input as string[]).map((_, i) => vectorOf(DIM, i + 1)), prompt_eval_count: 6 } }
    : chatReply('hi from llama'), { kind: 'ollama', base: (u) => `${u}/` })
  const vectors = await client.embed(['a', 'b'])
  t.equal(vectors.length, 2)
  t.same(fake.requests[0].body, { model: 'mxbai-embed-large', input: ['a', 'b'] })
  t.equal((await client.chat({ messages: [{ role: 'user', content: 'hi' }] })).text, 'hi from llama')
  t.equal(fake.requests[1].path, '/v1/chat/completions')
  t.equal(fake.requests[1].headers.authorization, undefined, 'no key, no header')
})

test('Ollama: a missing model is pulled once on 404, then the call succeeds', async (t) => {
  const pulledModels = new Set<string>()
  const { fake, client, records } = await setup(t, (r) => {
    if (r.path === '/api/pull') {
      pulledModels.add(r.body.model)
      return { json: { status: 'success' } }
    }
    const model = r.body.model as string
    if (!pulledModels.has(model)) return { status: 404, json: { error: `model "${model}" not found, try pulling it first` } }
    return r.path === '/api/embed' ? { json: { embeddings: [vectorOf(DIM)] } } : chatReply('pulled and ready')
  }, { kind: 'ollama' })
  t.equal((await client.embed(['x'])).length, 1)
  t.same(fake.requests.map((r) => r.path), ['/api/embed', '/api/pull', '/api/embed'])
  t.same(fake.requests[1].body, { model: 'mxbai-embed-large', stream: false })
  t.equal((await client.chat({ messages: [{ role: 'user', content: 'hi' }] })).text, 'pulled and ready')
  t.same(fake.requests.slice(3).map((r) => r.path), ['/v1/chat/completions', '/api/pull', '/v1/chat/completions'])
  t.ok(records.some((r) => r.operation === 'pull' && r.ok))
})

test('Ollama: a model still missing after one pull fails without pulling again', async (t) => {
  const { fake, client } = await setup(t, (r) => r.path === '/api/pull'
    ? { json: { status: 'success' } }
    : { status: 404, json: { error: 'model "llama3" not found' } }, { kind: 'ollama' })
  await t.rejects(client.chat({ messages: [{ role: 'user', content: 'hi' }] }), { code: 'TOWNHALL_ERR_LLM_NOT_FOUND', message: /ollama llama3: HTTP 404: model "llama3" not found/ })
  await t.rejects(client.chat({ messages: [{ role: 'user', content: 'hi' }] }), { code: 'TOWNHALL_ERR_LLM_NOT_FOUND' })
  t.equal(fake.requests.filter((r) => r.path === '/api/pull').length, 1)
})

test('checkProvider: one clear line for ok, unreachable host, unknown model and wrong dimension', async (t) => {
  const ok = await setup(t, (r) => r.path.endsWith('/embeddings') ? embeddingReply([vectorOf(DIM)]) : chatReply('OK'))
  const good = await checkProvider(ok.client)
  t.equal(good.ok, true)
  t.equal(good.line, 'LLM ok: chat acme glm-4.6, embeddings acme embed-small (8 dimensions)')

  const unknown = await setup(t, () => ({ status: 404, json: { error: { message: 'The model `glm-4.6` does not exist' } } }))
  const missing = await checkProvider(unknown.client)
  t.equal(missing.ok, false)
  t.equal(missing.code, 'TOWNHALL_ERR_LLM_NOT_FOUND')
  t.match(missing.line, /^LLM chat model unknown: acme has no model "glm-4\.6"/)
  t.equal(unknown.fake.requests.length, 1, 'no retries at start')

  const wrongDim = await setup(t, (r) => r.path.endsWith('/embeddings') ? embeddingReply([vectorOf(3)]) : chatReply('OK'))
  const dim = await checkProvider(wrongDim.client)
  t.equal(dim.code, 'TOWNHALL_ERR_LLM_DIMENSION')
  t.match(dim.line, /^LLM embedding dimension wrong: acme embed-small: returned a 3-dimensional embedding but EMBEDDING_DIMENSION is 8/)

  const gone = await startFakeProvider(() => chatReply('x'))
  await gone.close()
  const endpoint: ProviderEndpoint = { kind: 'ollama', name: 'ollama', baseUrl: gone.url, model: 'llama3', vars: { url: 'OLLAMA_HOST' } }
  const unreachable = await checkProvider(createLlmClient({ chat: endpoint, embedding: { ...endpoint, dimension: DIM } }))
  t.equal(unreachable.ok, false)
  t.match(unreachable.line, /^LLM chat host unreachable: ollama at http:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED.*is OLLAMA_HOST right\?$/)
})

test('a reasoning model that spends the check tokens thinking still passes the check', async (t) => {
  const { client } = await setup(t, (r) => r.path.endsWith('/embeddings') ? embeddingReply([vectorOf(DIM)]) : chatReply(''))
  t.equal((await checkProvider(client)).ok, true)
})

test('an onCall hook that throws never breaks the call', async (t) => {
  const { client } = await setup(t, () => chatReply('fine'), { onCall: () => { throw new Error('metrics down') } })
  t.equal((await client.chat({ messages: [{ role: 'user', content: 'x' }] })).text, 'fine')
})

test('embeddings are sent in batches and come back in order', async (t) => {
  const { fake, client } = await setup(t, (r) => embeddingReply((r.body.input as string[]).map((text) => vectorOf(DIM, text.length))), { embedBatchSize: 2 })
  const vectors = await client.embed(['a', 'bb', 'ccc', 'dddd', 'eeeee'])
  t.equal(fake.requests.length, 3)
  t.same(fake.requests.map((r) => r.body.input.length), [2, 2, 1])
  t.same(vectors.map((v) => v[0]), [1, 2, 3, 4, 5].map((n) => Math.fround(Math.sin(n))))
})

test('a Retry-After longer than the limit fails at once instead of stalling', async (t) => {
  const { fake, client } = await setup(t, () => ({ status: 429, json: { error: { message: 'quota' } }, headers: { 'retry-after': '120' } }), { maxRetryAfterMs: 1000 })
  await t.rejects(client.chat({ messages: [{ role: 'user', content: 'hi' }] }), { code: 'TOWNHALL_ERR_LLM_HTTP', status: 429, message: 'acme glm-4.6: HTTP 429: quota' })
  t.equal(fake.requests.length, 1)
})

test('chat from a provider with offline embeddings when asked for explicitly', async (t) => {
  const fake = await startFakeProvider(() => chatReply('real chat'))
  t.teardown(fake.close)
  const client = createLlmClient({
    chat: { kind: 'custom', name: 'acme', baseUrl: fake.url, model: 'm' },
    embedding: { kind: 'offline', name: 'offline', baseUrl: '', model: 'offline-hash-v1', dimension: DIM }
  })
  t.equal(client.mode, 'online')
  t.equal((await client.chat({ messages: [{ role: 'user', content: 'x' }] })).text, 'real chat')
  t.equal((await client.embed(['x']))[0].length, DIM)
  t.equal(fake.requests.length, 1)
})

test('many calls at once never pile up listeners on the long-lived shutdown and runner signals (no MaxListenersExceededWarning)', async (t) => {
  const shutdown = new AbortController()
  const runner = new AbortController()
  const { client } = await setup(t, async () => { await new Promise((resolve) => setTimeout(resolve, 30)); return chatReply('hello') }, { signal: shutdown.signal })
  const warnings: string[] = []
  const onWarning = (w: Error): void => { warnings.push(`${w.name}: ${w.message}`) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const listeners = (s: AbortSignal): number => getEventListeners(s, 'abort').length
  const calls = Array.from({ length: 50 }, async () => await client.chat({ messages: [{ role: 'user', content: 'hi' }], signal: runner.signal }))
  await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(listeners(shutdown.signal), 1, 'while 50 calls are in flight, the shutdown signal has one listener')
  t.equal(listeners(runner.signal), 1, 'and so has the caller\'s')
  await Promise.all(calls)
  t.equal(listeners(shutdown.signal), 1, 'no listener piles up after the calls')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')), [], 'no MaxListenersExceededWarning')
})

test('linked signals abort with their source\'s reason; a released one is not aborted any more', async (t) => {
  const link = createSignalLinker()
  const a = new AbortController()
  const b = new AbortController()
  const first = link(a.signal, undefined, b.signal)
  const released = link(b.signal)
  released.release()
  b.abort(new Error('because'))
  t.ok(first.signal.aborted)
  t.match(first.signal.reason, { message: 'because' })
  t.notOk(released.signal.aborted, 'a call that is over is not aborted')
  t.ok(link(a.signal, b.signal).signal.aborted, 'an already aborted source aborts at once')
})
