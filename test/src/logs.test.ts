// The real server's logs at LOG_LEVEL=trace: JSON lines, a request id on every request's lines, and no secret
// (API keys, the admin key, a player token, passwords in connection strings) anywhere in stdout or stderr.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { test } from 'tap'
import WebSocket from 'ws'
import { scrubber, secretValues, urlSecrets } from '../../src/logger.ts'
import { startFakeProvider, chatReply, embeddingReply, vectorOf } from '../helpers/fakeProvider.ts'
import { freePort, hasRedisServer } from '../helpers/redis.ts'
import { runServer, startServer } from '../helpers/server.ts'
import { storeTargets, type Teardownable } from '../helpers/stores.ts'

const secret = (prefix: string): string => `${prefix}${randomBytes(12).toString('hex')}`

/** A redis-server that wants a password, on a port that survives a restart. */
async function startRedisWithPassword (t: Teardownable, password: string): Promise<{ url: string, stop: () => void, start: () => Promise<void> }> {
  const port = await freePort()
  let child: ChildProcess | undefined
  t.teardown(() => { child?.kill('SIGKILL') })
  const start = async (): Promise<void> => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => { reject(new Error(`redis-server did not start: ${out}`)) }, 10_000)
      started.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve() }
      })
      started.on('exit', () => { clearTimeout(timer); reject(new Error(`redis-server exited: ${out}`)) })
    })
  }
  await start()
  return { url: `redis://:${password}@127.0.0.1:${port}`, stop: () => { child?.kill('SIGKILL') }, start }
}

interface LogLine { reqId?: unknown, msg?: string, req?: { url?: string }, res?: { statusCode?: number }, [key: string]: unknown }

const requestMessages = new Set(['incoming request', 'request completed', 'request rejected', 'request failed'])

test('logs are JSON lines with a request id on every request line, and hold no secret', async (t) => {
  const llmKey = secret('sk-llm-')
  const dimension = 16
  // A provider that rejects the first call and quotes the key back, as some providers do in their error bodies.
  const provider = await startFakeProvider((request, index) => {
    if (index === 0) return { status: 500, json: { error: { message: `upstream refused key ${llmKey} (${String(request.headers.authorization)})` } } }
    if (request.path.endsWith('/embeddings')) return embeddingReply((request.body.input as string[]).map((_, i) => vectorOf(dimension, i + 1)))
    return chatReply('OK')
  })
  t.teardown(() => provider.close())

  // The Mongo side only when the deployment under test has a password to hide (the Mongo-wire stand-in has none).
  const mongoTarget = storeTargets().find((target) => target.name === 'mongodb')
  const mongoHasPassword = mongoTarget !== undefined && urlSecrets(process.env.MONGODB_URL ?? '').length > 0
  const target = mongoHasPassword ? mongoTarget : storeTargets()[0]!
  const { config: storeConfig, store } = await target.fresh(t)
  await store.close()

  const secrets: Record<string, string> = {
    LLM_API_KEY: llmKey,
    OPENAI_API_KEY: secret('sk-openai-'),
    TOGETHER_API_KEY: secret('together-'),
    CUSTOM_PROVIDER_1_API_KEY: secret('custom-'),
    ADMIN_API_KEY: secret('admin-'),
    OLLAMA_HOST_PASSWORD: secret('ollama-')
  }
  const env: Record<string, string> = {
    ...storeConfig,
    LOG_LEVEL: 'trace',
    LLM_API_URL: `${provider.url}/v1`,
    LLM_API_KEY: secrets.LLM_API_KEY!,
    LLM_MODEL: 'fake-chat',
    LLM_EMBEDDING_MODEL: 'fake-embed',
    EMBEDDING_DIMENSION: String(dimension),
    LLM_MAX_RETRIES: '0',
    OPENAI_API_KEY: secrets.OPENAI_API_KEY!,
    TOGETHER_API_KEY: secrets.TOGETHER_API_KEY!,
    CUSTOM_PROVIDER_1_URL: 'http://127.0.0.1:9/v1',
    CUSTOM_PROVIDER_1_API_KEY: secrets.CUSTOM_PROVIDER_1_API_KEY!,
    OLLAMA_HOST: `http://townhall:${secrets.OLLAMA_HOST_PASSWORD!}@127.0.0.1:9`,
    ADMIN_API_KEY: secrets.ADMIN_API_KEY!
  }
  if (mongoHasPassword) {
    for (const [i, value] of urlSecrets(process.env.MONGODB_URL!).entries()) secrets[`MONGODB_URL password ${i}`] = value
  } else {
    t.comment('MONGODB_URL has no password (or is unset): the connection-string password is checked on Redis only')
  }
  let redis: Awaited<ReturnType<typeof startRedisWithPassword>> | undefined
  if (hasRedisServer()) {
    secrets.REDIS_PASSWORD = secret('redis-')
    redis = await startRedisWithPassword(t, secrets.REDIS_PASSWORD)
    env.REDIS_URL = redis.url
  } else {
    t.comment('redis-server is not installed: no REDIS_URL password to check')
  }

  const server = await startServer(t, env)
  const { url } = server
  const call = async (path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> =>
    await fetch(`${url}${path}`, { ...init, headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers } })

  t.equal((await call('/health')).status, 200)
  const def = await (await call('/api/worlds/default')).json() as { worldId: string, engineId: string }
  const identity = await call('/api/mutation', { method: 'POST', body: JSON.stringify({ path: 'auth:newPlayerToken', args: {} }) })
  const token = (await identity.json() as { value: { token: string } }).value.token
  t.match(token, /^th_/)
  secrets.playerToken = token
  const asPlayer = { authorization: `Bearer ${token}` }
  const joined = await call(`/api/worlds/${def.worldId}/join`, { method: 'POST', body: JSON.stringify({ name: 'Tess' }), headers: asPlayer })
  t.equal(joined.status, 200, 'joined the world')
  const asAdmin = { authorization: `Bearer ${secrets.ADMIN_API_KEY!}` }
  const mutation = (path: string, args: unknown): string => JSON.stringify({ path, args })

  t.equal((await call(`/api/worlds/${def.worldId}/me`, { headers: asPlayer })).status, 200, 'the token is accepted')
  t.equal((await call('/api/mutation', { method: 'POST', body: mutation('testing:stop', {}) })).status, 401, 'no admin key: 401')
  t.equal((await call('/api/mutation', { method: 'POST', body: mutation('testing:stop', {}), headers: asPlayer })).status, 403, 'a player token: 403')
  const traced = await call('/api/mutation', { method: 'POST', body: mutation('testing:stop', {}), headers: { ...asAdmin, 'x-request-id': 'trace-admin-stop' } })
  t.equal(traced.status, 200)
  t.equal(traced.headers.get('x-request-id'), 'trace-admin-stop', 'the response echoes the client\'s x-request-id')
  t.equal((await call(`/api/admin/worlds/${def.worldId}/resume`, { method: 'POST', headers: { 'x-admin-key': secrets.ADMIN_API_KEY! } })).status, 200)
  t.equal((await call('/api/query', { method: 'POST', body: '{"path":', headers: asPlayer })).status, 400, 'malformed JSON: 400')
  const replaced = await call('/api/query', { method: 'POST', body: mutation('world:worldState', { worldId: 7 }), headers: { 'x-request-id': 'not a plain id; DROP' } })
  t.equal(replaced.status, 400)
  t.match(replaced.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, 'an id that is not a plain token is replaced by a fresh one, and that one is echoed')
  // Tokens in URLs: the WebSocket's ?token= and a stray one on a 404.
  t.equal((await call(`/api/worlds/${def.worldId}/state?token=${token}`)).status, 200)
  t.equal((await call(`/nowhere?token=${token}&key=${secrets.ADMIN_API_KEY!}`)).status, 404)
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/ws?token=${token}`)
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  ws.close()
  await new Promise((resolve) => ws.once('close', resolve))

  let failedStatus: number | undefined
  if (redis !== undefined) {
    // Redis gone: the shared rate limiter fails, which is a 5xx with the error in the log.
    redis.stop()
    failedStatus = (await call('/api/query', { method: 'POST', body: mutation('world:defaultWorldStatus', {}), headers: asPlayer })).status
    t.ok(failedStatus >= 500, `a request with Redis gone fails with a 5xx (${failedStatus})`)
    t.equal((await call('/ready')).status, 503, '/ready says Redis is unavailable')
    await redis.start()
    let ready = 503
    for (let i = 0; i < 100 && ready !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      ready = (await call('/ready')).status
    }
    t.equal(ready, 200, 'ready again once Redis is back')
  }

  // The check at start met the failing provider, so the quoted key went through the logger.
  t.ok(provider.requests.length > 0, 'the provider was called')
  t.equal(provider.requests[0]!.headers.authorization, `Bearer ${llmKey}`, 'the provider got the key')
  const stopped = await server.stop('SIGINT')
  t.equal(stopped.code, 0, 'clean exit')

  const out = server.stdout()
  const err = server.stderr()
  for (const [name, value] of Object.entries(secrets)) {
    t.notOk(out.includes(value), `${name} is not in stdout`)
    t.notOk(err.includes(value), `${name} is not in stderr`)
  }
  t.match(out, /upstream refused key \[redacted\]/, 'the provider\'s error is logged with the key blanked')

  const lines: LogLine[] = []
  const notJson: string[] = []
  for (const line of out.split('\n').filter((l) => l.trim() !== '')) {
    try {
      lines.push(JSON.parse(line) as LogLine)
    } catch {
      notJson.push(line)
    }
  }
  t.same(notJson, [], 'every stdout line is JSON')
  const stderrLines = err.split('\n').filter((l) => l.trim() !== '')
  t.same(stderrLines.filter((l) => !/^\[ioredis\] Unhandled error event|^\s+at /.test(l)), [], 'nothing but ioredis\'s complaints on stderr')
  t.same(stderrLines, [], 'nothing on stderr, not even while Redis was down')

  const requestLines = lines.filter((l) => l.req !== undefined || l.res !== undefined || requestMessages.has(l.msg ?? ''))
  const withoutId = requestLines.filter((l) => typeof l.reqId !== 'string' || l.reqId === '')
  t.same(withoutId, [], 'every request line carries a reqId')
  const incoming = requestLines.filter((l) => l.msg === 'incoming request')
  t.ok(incoming.length >= 12, `every request was logged (${incoming.length} incoming request lines)`)
  const ids = incoming.map((l) => l.reqId as string)
  t.equal(new Set(ids).size, ids.length, 'request ids are unique')
  const completed = new Set(requestLines.filter((l) => l.msg === 'request completed').map((l) => l.reqId))
  t.same(incoming.filter((l) => !(l.req?.url ?? '').startsWith('/api/ws') && !completed.has(l.reqId)), [], 'each request\'s lines share its id')
  t.ok(ids.includes('trace-admin-stop'), 'a client\'s plain x-request-id is kept')
  t.notOk(out.includes('DROP'), 'a client\'s x-request-id that is not a plain token is replaced')
  const rejected = requestLines.filter((l) => l.msg === 'request rejected')
  t.ok(rejected.length >= 4, 'rejected requests (401, 403, 400) are logged with their id')
  if (failedStatus !== undefined) t.ok(requestLines.some((l) => l.msg === 'request failed' && l.reqId !== undefined), 'the 5xx is logged with its id')
})

test('a rejected credential is not echoed by the configuration error', async (t) => {
  const short = 'shortadmin1'
  const { exited, output } = runServer({ ADMIN_API_KEY: short, REDIS_URL: 'redis://:redis-pass-1@127.0.0.1:1 bad' })
  t.equal((await exited).code, 1)
  t.match(output.err, /ADMIN_API_KEY: expected a secret of at least 16 characters, got "\[redacted\]"/)
  t.match(output.err, /REDIS_URL: expected a Redis URL/)
  t.notOk(output.err.includes(short), 'the short admin key is not printed')
  t.notOk(output.err.includes('redis-pass-1'), 'the Redis password is not printed')
})

test('the scrubber blanks known secrets, credential-shaped strings, and nothing else', async (t) => {
  t.same(urlSecrets('mongodb+srv://app:p%40ss%2Fword@cluster0.abcde.mongodb.net/?retryWrites=true'), ['p%40ss%2Fword', 'p@ss/word'])
  t.same(urlSecrets('redis://:hunter22@redis:6379'), ['hunter22', 'hunter22'])
  t.same(urlSecrets('https://host/v1?api-key=abc123&model=x'), ['abc123', 'abc123'])
  t.same(urlSecrets('http://ollama:11434'), [])
  const secrets = secretValues(
    { ADMIN_API_KEY: 'admin-key-0123456789', MONGODB_URL: 'mongodb://u:mongo"pw@h/' },
    { FLAG_TOKEN: 'true', SHORT_KEY: 'abc', PATH: '/usr/bin', CUSTOM_PROVIDER_3_API_KEY: 'custom-key-3' }
  )
  t.ok(secrets.includes('mongo\\"pw'), 'a secret as it appears inside a JSON string')
  t.notOk(secrets.includes('true'), 'JSON words are never secrets')
  t.notOk(secrets.includes('abc'), 'nor are very short values')
  t.notOk(secrets.includes('/usr/bin'), 'nor other variables')
  const scrub = scrubber(secrets)
  const line = JSON.stringify({
    ok: true,
    msg: 'failed with admin-key-0123456789 and custom-key-3',
    url: 'mongodb://u:mongo"pw@h/',
    req: { url: '/api/ws?token=th_abcdefghijklmnopqrstuvwxyz012345&x=1' },
    header: 'Bearer sk-whatever'
  })
  const scrubbed = scrub(line)
  t.same(JSON.parse(scrubbed), {
    ok: true,
    msg: 'failed with [redacted] and [redacted]',
    url: 'mongodb://u:[redacted]@h/',
    req: { url: '/api/ws?token=[redacted]&x=1' },
    header: 'Bearer [redacted]'
  })
  t.equal(scrub('{"level":30,"msg":"plain"}'), '{"level":30,"msg":"plain"}', 'lines without secrets are unchanged')
})
