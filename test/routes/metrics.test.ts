// GET /metrics end to end: real HTTP, a real WebSocket, running engines, LLM calls through a local
// OpenAI-wire server and a memory search; the Prometheus text is parsed, not grepped.
import { test } from 'tap'
import { buildApp } from '../helpers/app.ts'
import { storeTargets } from '../helpers/stores.ts'
import { client, listeningApp, nextValue, socket } from '../helpers/api.ts'
import { chatReply, embeddingReply, startFakeProvider, vectorOf } from '../helpers/fakeProvider.ts'
import { waitFor } from '../helpers/engine.ts'

const embedded = storeTargets()[0]!

interface Sample { name: string, labels: Record<string, string>, value: number }
interface Family { name: string, type: string, help: string, samples: Sample[] }

/** Parses the Prometheus text format (0.0.4): HELP and TYPE lines, then samples grouped under their family. */
function parsePrometheus (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const family = (name: string): Family => {
    let f = families.get(name)
    if (f === undefined) families.set(name, f = { name, type: 'untyped', help: '', samples: [] })
    return f
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta !== null) {
      if (meta[1] === 'HELP') family(meta[2]!).help = meta[3]!
      else family(meta[2]!).type = meta[3]!
      continue
    }
    if (line.startsWith('#')) continue
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line)
    if (sample === null) throw new Error(`not a Prometheus sample line: ${line}`)
    const [, name, rawLabels, rawValue] = sample
    const labels: Record<string, string> = {}
    for (const m of (rawLabels ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    }
    // Go's float syntax, as Prometheus reads it: NaN and Inf in any case.
    const special: Record<string, number> = { nan: NaN, '+inf': Infinity, inf: Infinity, '-inf': -Infinity }
    const value = special[rawValue!.toLowerCase()] ?? Number(rawValue)
    if (Number.isNaN(value) && rawValue!.toLowerCase() !== 'nan') throw new Error(`bad sample value in: ${line}`)
    // A histogram's _bucket, _sum and _count samples belong to the family declared by its TYPE line.
    const owner = families.has(name!) ? name! : name!.replace(/_(bucket|sum|count)$/, '')
    family(owner).samples.push({ name: name!, labels, value })
  }
  return families
}

const expected: Record<string, { type: string, labels: string[] }> = {
  townhall_http_request_duration_seconds: { type: 'histogram', labels: ['method', 'route', 'status_code'] },
  townhall_websocket_clients: { type: 'gauge', labels: [] },
  townhall_websocket_messages_total: { type: 'counter', labels: ['direction'] },
  townhall_engine_step_duration_seconds: { type: 'histogram', labels: ['world'] },
  townhall_engine_lag_seconds: { type: 'gauge', labels: ['world'] },
  townhall_engine_input_queue_depth: { type: 'gauge', labels: ['world'] },
  townhall_llm_calls_total: { type: 'counter', labels: ['provider', 'model', 'kind', 'outcome'] },
  townhall_llm_call_duration_seconds: { type: 'histogram', labels: ['provider', 'model', 'kind'] },
  townhall_llm_tokens_total: { type: 'counter', labels: ['provider', 'model', 'type'] },
  townhall_llm_errors_total: { type: 'counter', labels: ['provider', 'model', 'kind', 'code'] },
  townhall_llm_cost_usd_total: { type: 'counter', labels: ['provider', 'model'] },
  townhall_vector_search_duration_seconds: { type: 'histogram', labels: ['index', 'outcome'] },
  townhall_change_feed_lag_seconds: { type: 'histogram', labels: ['collection'] }
}

for (const target of storeTargets()) {
  test(`${target.name}: GET /metrics reports every family after real activity`, async (t) => {
    const provider = await startFakeProvider((req) => {
      if (req.path.endsWith('/embeddings')) return embeddingReply((req.body.input as string[]).map((_, i) => vectorOf(32, i + 1)))
      // One chosen prompt fails (a 400 is not retried), for the error counter.
      if (JSON.stringify(req.body.messages).includes('PLEASE FAIL')) return { status: 400, json: { error: { message: 'bad request' } } }
      const reply = chatReply('Hello there!') as { json: { usage: unknown } }
      return { json: { ...reply.json, usage: { prompt_tokens: 40, completion_tokens: 8, total_tokens: 48 } } }
    })
    t.teardown(provider.close)
    const { app, url } = await listeningApp(t, target, {
      LLM_API_URL: provider.url,
      LLM_MODEL: 'tiny-chat',
      LLM_EMBEDDING_MODEL: 'tiny-embed',
      EMBEDDING_DIMENSION: '32',
      LLM_PRICES: '{"tiny-chat": {"input": 1, "output": 2}}'
    })

    // HTTP, including a route that does not exist.
    t.equal((await app.inject('/health')).statusCode, 200)
    t.equal((await app.inject('/no/such/route/123')).statusCode, 404)
    const status = await waitFor('the default world', async () => {
      const r = await app.inject('/api/worlds/default')
      return r.statusCode === 200 && r.json() !== null ? r.json() as { worldId: string } : null
    })

    // A WebSocket subscription that receives values.
    const ws = await socket(t, client(url))
    await nextValue<{ engine: { currentTime: number } }>((on) => ws.subscribe('world:worldState', { worldId: status.worldId }, on), (v) => v.engine.currentTime > 0)
    // A live query of an input: the inputs stream is open (the agents' inputs that follow are measured on it).
    const input = await waitFor('an input', async () => await app.store.collection('inputs').findOne({}))
    await nextValue((on) => ws.subscribe('main:inputStatus', { inputId: input._id }, on), () => true)

    // LLM calls (one failing), and a memory search through the vector index.
    await app.llm.chat({ messages: [{ role: 'user', content: 'Say hello.' }], attribution: { worldId: status.worldId } })
    await t.rejects(app.llm.chat({ messages: [{ role: 'user', content: 'PLEASE FAIL' }], maxRetries: 0 }))
    await app.memories.add({ worldId: status.worldId, playerId: 'p:metrics', description: 'I saw the miller at the pond', importance: 3, data: { type: 'relationship', playerId: 'p:2' } })
    t.ok((await app.memories.search(status.worldId, 'p:metrics', 'the pond', 3)).length > 0, 'the search found the memory')

    let families = new Map<string, Family>()
    await waitFor('every metric family to have samples', async () => {
      const response = await app.inject('/metrics')
      t.equal(response.statusCode, 200, 'scrape answers 200')
      families = parsePrometheus(response.body)
      return Object.keys(expected).every((name) => (families.get(name)?.samples.length ?? 0) > 0)
    }, 30_000).catch(() => {})

    const response = await app.inject('/metrics')
    t.equal(response.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8', 'Prometheus text content type')
    families = parsePrometheus(response.body)
    for (const [name, spec] of Object.entries(expected)) {
      const family = families.get(name)
      t.ok(family !== undefined && family.samples.length > 0, `${name} has samples`)
      if (family === undefined) continue
      t.equal(family.type, spec.type, `${name} is a ${spec.type}`)
      t.ok(family.help.length > 10, `${name} has a help string`)
      for (const sample of family.samples) {
        t.same(Object.keys(sample.labels).filter((l) => l !== 'le').sort(), [...spec.labels].sort(), `${sample.name} labels`)
        if (Number.isNaN(sample.value)) t.fail(`${sample.name} is a number`)
      }
    }

    const sample = (name: string, labels: Record<string, string>): Sample | undefined =>
      (families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, '')))?.samples
        .find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    t.ok(sample('townhall_http_request_duration_seconds_count', { route: '/health', method: 'GET', status_code: '200' }), 'routes are labelled by pattern')
    t.ok(sample('townhall_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }), 'unknown routes are "unmatched"')
    t.notOk(families.get('townhall_http_request_duration_seconds')!.samples.some((s) => s.labels.route?.includes('123')), 'never the raw URL')
    t.ok(sample('townhall_http_request_duration_seconds_count', { route: '/api/worlds/default' }))
    t.equal(sample('townhall_websocket_clients', {})?.value, 1, 'one open socket')
    t.ok((sample('townhall_websocket_messages_total', { direction: 'in' })?.value ?? 0) >= 1)
    t.ok((sample('townhall_websocket_messages_total', { direction: 'out' })?.value ?? 0) >= 1)
    t.ok((sample('townhall_engine_step_duration_seconds_count', { world: status.worldId })?.value ?? 0) >= 1, 'engine steps by world')
    const lag = sample('townhall_engine_lag_seconds', { world: status.worldId })?.value ?? -1
    t.ok(lag >= 0 && lag < 30, `engine lag is small (${lag} s)`)
    t.ok(sample('townhall_engine_input_queue_depth', { world: status.worldId }))
    t.ok((sample('townhall_llm_calls_total', { model: 'tiny-chat', kind: 'chat', outcome: 'ok' })?.value ?? 0) >= 1)
    t.ok((sample('townhall_llm_calls_total', { model: 'tiny-chat', kind: 'chat', outcome: 'error' })?.value ?? 0) >= 1)
    t.ok((sample('townhall_llm_calls_total', { model: 'tiny-embed', kind: 'embed', outcome: 'ok' })?.value ?? 0) >= 1)
    t.ok((sample('townhall_llm_errors_total', { model: 'tiny-chat', code: 'TOWNHALL_ERR_LLM_HTTP' })?.value ?? 0) >= 1, 'errors by code')
    t.ok((sample('townhall_llm_tokens_total', { model: 'tiny-chat', type: 'prompt' })?.value ?? 0) >= 40)
    t.ok((sample('townhall_llm_tokens_total', { model: 'tiny-chat', type: 'completion' })?.value ?? 0) >= 8)
    t.ok((sample('townhall_llm_cost_usd_total', { model: 'tiny-chat' })?.value ?? 0) > 0, 'estimated cost from LLM_PRICES')
    t.ok((sample('townhall_vector_search_duration_seconds_count', { index: 'hnsw', outcome: 'ok' })?.value ?? 0) >= 1)
    t.ok((sample('townhall_change_feed_lag_seconds_count', { collection: 'inputs' })?.value ?? 0) >= 1, 'change-feed lag of inserts')
    t.ok(families.has('townhall_process_cpu_user_seconds_total'), 'default process metrics, prefixed')
  })
}

test('GET /metrics is never rate limited, and needs METRICS_TOKEN only when it is set', async (t) => {
  const open = await buildApp(t, embedded, { ENGINE_ENABLED: 'false', RATE_LIMIT_MAX: '2', ADMIN_API_KEY: 'admin-key-0123456789' })
  for (let i = 0; i < 5; i++) t.equal((await open.inject('/metrics')).statusCode, 200, `scrape ${i + 1}`)
  // Each app has its own registry: another app in this process does not see these requests.
  const token = 'metrics-token-0123456789'
  const closed = await buildApp(t, embedded, { ENGINE_ENABLED: 'false', METRICS_TOKEN: token, ADMIN_API_KEY: 'admin-key-0123456789' })
  const refused = await closed.inject('/metrics')
  t.equal(refused.statusCode, 401)
  t.equal(refused.json().code, 'TOWNHALL_ERR_UNAUTHORIZED')
  t.equal((await closed.inject({ url: '/metrics', headers: { authorization: 'Bearer admin-key-0123456789' } })).statusCode, 401, 'the admin key is not a metrics token')
  const scraped = await closed.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })
  t.equal(scraped.statusCode, 200)
  const families = parsePrometheus(scraped.body)
  t.notOk(families.get('townhall_http_request_duration_seconds')?.samples.some((s) => s.labels.route === '/metrics' && s.labels.status_code === '200' && s.name.endsWith('_count') && s.value >= 5),
    'the other app\'s scrapes are not in this registry')
})
