// Budgets and the kill switch, against a local OpenAI-wire server charging known token counts, on every store:
// the world stops calling at its budget and shows budgetExceeded; conversations end with a goodbye and
// remembering is skipped; an operator pauses and resumes a world or the deployment through the admin API.
import { test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import app from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { createWorldRecords, summarizeWorld } from '../../src/engine/worlds.ts'
import { runOperation, type OperationContext } from '../../src/engine/operations.ts'
import { HELD_GOODBYES, llmBrain } from '../../src/agents/brain.ts'
import { LlmError } from '../../src/llm/errors.ts'
import type { WorldMap, WorldState } from '../../src/game/index.ts'
import { chatReply, embeddingReply, startFakeProvider, vectorOf, type FakeProvider } from '../helpers/fakeProvider.ts'
import { buildApp } from '../helpers/app.ts'
import { storeTargets, tempDir, type Teardownable } from '../helpers/stores.ts'
import { startServer } from '../helpers/server.ts'

const DIM = 8
const PROMPT = 100
const COMPLETION = 20
const PER_CALL = PROMPT + COMPLETION
const ADMIN = 'admin-key-for-budget-tests-0123456789'
const CHECK_TEXT = 'Reply with the word OK.'

async function fakeProvider (t: Teardownable): Promise<FakeProvider> {
  const fake = await startFakeProvider((req) => {
    // Embeddings are free here, so the budget counts chat calls of exactly 120 tokens each.
    if (req.path.endsWith('/embeddings')) return embeddingReply((req.body.input as string[]).map((_, i) => vectorOf(DIM, i + 1)), 0)
    return chatReply('A line of dialogue.', {}, { prompt: PROMPT, completion: COMPLETION })
  })
  t.teardown(fake.close)
  return fake
}

/** Chat requests agents made (not the start-up provider check). */
const agentChats = (fake: FakeProvider): number =>
  fake.requests.filter((r) => r.path.endsWith('/chat/completions') && !JSON.stringify(r.body.messages).includes(CHECK_TEXT)).length

const say = async (app: FastifyInstance, worldId: string, agentId = 'a:1'): Promise<string> =>
  (await app.llm.chat({ messages: [{ role: 'user', content: 'hi' }], attribution: { worldId, agentId } })).text

async function failure (promise: Promise<unknown>): Promise<LlmError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof LlmError) return err
    throw err
  }
  throw new Error('expected an LlmError')
}

const admin = { authorization: `Bearer ${ADMIN}` }

/** An app on a given store configuration, so two of them are two instances on one deployment. */
async function appWith (t: Teardownable, env: Record<string, string>): Promise<FastifyInstance> {
  const fastify = Fastify({ logger: { level: 'silent' } })
  await fastify.register(fp(app), { config: loadConfig(env) })
  await fastify.ready()
  t.teardown(async () => { await fastify.close() })
  return fastify
}

for (const target of storeTargets()) {
  test(`${target.name}: a world stops calling the LLM at its budget, shows budgetExceeded, and a raised budget lets it go on`, async (t) => {
    const fake = await fakeProvider(t)
    const app = await buildApp(t, target, {
      ENGINE_ENABLED: 'false',
      ENGINE_DEFAULT_WORLD: 'false',
      LLM_API_URL: fake.url,
      LLM_MODEL: 'fake-chat',
      LLM_EMBEDDING_MODEL: 'fake-embed',
      EMBEDDING_DIMENSION: String(DIM),
      LLM_BUDGET_TOKENS_PER_HOUR: '1000',
      ADMIN_API_KEY: ADMIN
    })
    const world = await createWorldRecords(app.store, { now: Date.now(), agents: 0, seed: 1, isDefault: true })
    const other = await createWorldRecords(app.store, { now: Date.now(), agents: 0, seed: 2 })
    const before = agentChats(fake)

    // 8 calls spend 960 tokens, under 1000; the 9th reaches it (1080), and then the world stops.
    let served = 0
    let refused: LlmError | undefined
    for (let i = 0; i < 30 && refused === undefined; i++) {
      try {
        await say(app, world.worldId, `a:${i % 3}`)
        served++
      } catch (err) {
        refused = err as LlmError
      }
    }
    t.equal(served, Math.ceil(1000 / PER_CALL), 'served until the budget was reached')
    t.equal(refused?.code, 'TOWNHALL_ERR_LLM_BUDGET_EXCEEDED')
    t.equal(agentChats(fake) - before, served, 'the refused call never reached the provider')
    t.match(refused?.message, /tokensPerHour 1080 of 1000/)

    const status = (await app.inject('/api/worlds/default')).json()
    t.match(status, { worldId: world.worldId, budgetExceeded: true, llmPaused: false }, 'the world status says budgetExceeded')
    t.equal((await summarizeWorld(app.store, world.worldId)).budgetExceeded, true, 'and so does townhall world status')
    const state = (await app.inject({ url: `/api/admin/llm/worlds/${world.worldId}`, headers: admin })).json()
    t.match(state, { budgetExceeded: true, exceeded: 'tokensPerHour', budget: { tokensPerHour: 1000, usdPerDay: null }, spent: { hour: { tokens: 1080 }, day: { tokens: 1080 } } })

    // Another world has its own budget.
    t.equal(await say(app, other.worldId), 'A line of dialogue.')

    // The operator raises this world's budget: it calls again, and the flag clears.
    const raised = await app.inject({ method: 'PUT', url: `/api/admin/llm/worlds/${world.worldId}/budget`, headers: admin, payload: { tokensPerHour: 5000, usdPerDay: null } })
    t.equal(raised.statusCode, 200)
    t.match(raised.json(), { budgetExceeded: false, override: { tokensPerHour: 5000, usdPerDay: null }, budget: { tokensPerHour: 5000 } })
    t.equal(await say(app, world.worldId), 'A line of dialogue.')
    t.match((await app.inject('/api/worlds/default')).json(), { budgetExceeded: false })

    // The budget is stored: after the override is dropped again, the default applies once more.
    await app.inject({ method: 'PUT', url: `/api/admin/llm/worlds/${world.worldId}/budget`, headers: admin, payload: {} })
    t.equal((await failure(say(app, world.worldId))).code, 'TOWNHALL_ERR_LLM_BUDGET_EXCEEDED')
  })
}

test('over budget, a conversation ends with a goodbye and the agent leaves; remembering is skipped', async (t) => {
  const fake = await fakeProvider(t)
  const app = await buildApp(t, storeTargets()[0]!, {
    ENGINE_ENABLED: 'false',
    ENGINE_DEFAULT_WORLD: 'false',
    LLM_API_URL: fake.url,
    LLM_MODEL: 'fake-chat',
    LLM_EMBEDDING_MODEL: 'fake-embed',
    EMBEDDING_DIMENSION: String(DIM),
    LLM_BUDGET_TOKENS_PER_DAY: '0'
  })
  const world = await createWorldRecords(app.store, { now: Date.now(), agents: 0, seed: 3 })
  const brain = llmBrain({ store: app.store, llm: app.llm, memories: app.memories, now: Date.now })
  const warnings: string[] = []
  const ctx: OperationContext = {
    store: app.store,
    worldId: world.worldId,
    engineId: world.engineId,
    map: undefined as unknown as WorldMap,
    brain,
    now: Date.now,
    world: () => undefined as unknown as WorldState,
    log: { warn: (_obj, msg) => { warnings.push(msg) } }
  }
  const before = fake.requests.length
  await runOperation(ctx, {
    name: 'generateMessage',
    operationId: 'o:1',
    agentId: 'a:1',
    args: { agentId: 'a:1', playerId: 'p:1', otherPlayerId: 'p:2', conversationId: 'c:1', messageUuid: 'm-1', type: 'continue' }
  })
  const messages = await app.store.collection('messages').find({ worldId: world.worldId, conversationId: 'c:1' })
  t.equal(messages.length, 1)
  t.ok(HELD_GOODBYES.includes(messages[0]!.text as string), `a canned goodbye: "${String(messages[0]!.text)}"`)
  const inputs = await app.store.collection('inputs').find({ engineId: world.engineId, name: 'agentFinishSendingMessage' })
  t.match(inputs.map((i) => i.args), [{ agentId: 'a:1', conversationId: 'c:1', operationId: 'o:1', leaveConversation: true }], 'and the agent leaves the conversation')

  await runOperation(ctx, { name: 'rememberConversation', operationId: 'o:2', agentId: 'a:1', args: { agentId: 'a:1', playerId: 'p:1', conversationId: 'c:1' } })
  t.equal(await app.store.collection('memories').count({ playerId: 'p:1' }), 0, 'nothing remembered')
  t.same(await app.store.collection('inputs').count({ engineId: world.engineId, name: 'finishRememberConversation' }), 1, 'the operation still finishes')
  t.same(warnings, [], 'skipping is not a failure')
  t.equal(fake.requests.length - before, 0, 'no LLM call was made')
})

test('an operator pauses and resumes LLM use of a world and of the whole deployment', async (t) => {
  const fake = await fakeProvider(t)
  const app = await buildApp(t, storeTargets()[0]!, {
    ENGINE_ENABLED: 'false',
    ENGINE_DEFAULT_WORLD: 'false',
    LLM_API_URL: fake.url,
    LLM_MODEL: 'fake-chat',
    LLM_EMBEDDING_MODEL: 'fake-embed',
    EMBEDDING_DIMENSION: String(DIM),
    ADMIN_API_KEY: ADMIN
  })
  const world = await createWorldRecords(app.store, { now: Date.now(), agents: 0, seed: 4, isDefault: true })
  const other = await createWorldRecords(app.store, { now: Date.now(), agents: 0, seed: 5 })
  const post = async (url: string, payload?: Record<string, unknown>, headers: Record<string, string> = admin): Promise<{ statusCode: number, json: () => unknown }> =>
    payload === undefined ? await app.inject({ method: 'POST', url, headers }) : await app.inject({ method: 'POST', url, headers, payload })

  t.equal((await post('/api/admin/llm/pause', { worldId: world.worldId }, {})).statusCode, 401, 'no key: 401')
  t.equal((await post('/api/admin/llm/pause', { worldId: world.worldId }, { authorization: 'Bearer not-the-admin-key-at-all' })).statusCode, 401, 'a token that is no one\'s: 401')
  const { token } = (await app.inject({ method: 'POST', url: '/api/mutation', payload: { path: 'auth:newPlayerToken', args: {} } })).json().value as { token: string }
  t.equal((await post('/api/admin/llm/pause', { worldId: world.worldId }, { authorization: `Bearer ${token}` })).statusCode, 403, 'a player\'s token: 403')
  t.equal((await post('/api/admin/llm/pause', { worldId: 'no-such-world' })).statusCode, 404)
  t.equal((await post('/api/admin/llm/pause', { worldId: world.worldId, extra: 1 })).statusCode, 400)
  t.equal((await app.inject({ method: 'PUT', url: `/api/admin/llm/worlds/${world.worldId}/budget`, headers: admin, payload: { tokensPerHour: -1 } })).statusCode, 400)

  const paused = await post('/api/admin/llm/pause', { worldId: world.worldId })
  t.equal(paused.statusCode, 200)
  t.same(paused.json(), { worldId: world.worldId, paused: true })
  t.equal((await failure(say(app, world.worldId))).code, 'TOWNHALL_ERR_LLM_PAUSED')
  t.equal(await say(app, other.worldId), 'A line of dialogue.', 'the other world goes on')
  t.match((await app.inject('/api/worlds/default')).json(), { llmPaused: true, budgetExceeded: false })
  t.equal((await summarizeWorld(app.store, world.worldId)).llmPaused, true)

  t.equal((await post('/api/admin/llm/pause')).statusCode, 200, 'pause the deployment (no body)')
  t.equal((await failure(say(app, other.worldId))).code, 'TOWNHALL_ERR_LLM_PAUSED')
  t.match((await app.inject({ url: '/api/admin/llm', headers: admin })).json(), { paused: true, pool: { limit: 4, inFlight: 0 } }, 'a provider on 127.0.0.1 gets the local default of 4')

  t.equal((await post('/api/admin/llm/resume')).statusCode, 200, 'resume the deployment')
  t.equal(await say(app, other.worldId), 'A line of dialogue.')
  t.equal((await failure(say(app, world.worldId))).code, 'TOWNHALL_ERR_LLM_PAUSED', 'a world paused on its own stays paused')
  t.equal((await post('/api/admin/llm/resume', { worldId: world.worldId })).statusCode, 200)
  t.equal(await say(app, world.worldId), 'A line of dialogue.')
  t.match((await app.inject('/api/worlds/default')).json(), { llmPaused: false })
})

test('a pause stops the calls in flight at once', async (t) => {
  const hanging = await startFakeProvider((req) => req.path.endsWith('/embeddings')
    ? embeddingReply((req.body.input as string[]).map((_, i) => vectorOf(DIM, i + 1)))
    : JSON.stringify(req.body.messages).includes(CHECK_TEXT) ? chatReply('OK') : 'hang')
  t.teardown(hanging.close)
  const app = await buildApp(t, storeTargets()[0]!, {
    ENGINE_ENABLED: 'false',
    ENGINE_DEFAULT_WORLD: 'false',
    LLM_API_URL: hanging.url,
    LLM_MODEL: 'fake-chat',
    LLM_EMBEDDING_MODEL: 'fake-embed',
    EMBEDDING_DIMENSION: String(DIM),
    ADMIN_API_KEY: ADMIN
  })
  const world = await createWorldRecords(app.store, { now: Date.now(), agents: 0, seed: 6 })
  const inFlight = failure(say(app, world.worldId))
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(app.llmPool.inFlight, 1)
  const started = Date.now()
  await app.inject({ method: 'POST', url: '/api/admin/llm/pause', headers: admin, payload: { worldId: world.worldId } })
  t.equal((await inFlight).code, 'TOWNHALL_ERR_LLM_PAUSED')
  t.ok(Date.now() - started < 1000, 'stopped within a second')
  t.equal(app.llmPool.inFlight, 0)
})

test('the real server: agents stop calling the LLM at the world\'s budget and the world shows budgetExceeded', { timeout: 180_000 }, async (t) => {
  const fake = await fakeProvider(t)
  const dir = await tempDir(t)
  const BUDGET = 1500
  const server = await startServer(t, {
    STORE: 'embedded',
    DATA_DIR: dir,
    LOG_LEVEL: 'info',
    LLM_API_URL: fake.url,
    LLM_MODEL: 'fake-chat',
    LLM_EMBEDDING_MODEL: 'fake-embed',
    EMBEDDING_DIMENSION: String(DIM),
    LLM_MAX_RETRIES: '0',
    LLM_BUDGET_TOKENS_PER_HOUR: String(BUDGET)
  })
  const status = async (): Promise<{ worldId: string, budgetExceeded: boolean } | null> =>
    await (await fetch(`${server.url}/api/worlds/default`)).json() as { worldId: string, budgetExceeded: boolean } | null
  const deadline = Date.now() + 150_000
  let current = await status()
  while (current?.budgetExceeded !== true && Date.now() < deadline) {
    if (current !== null) await fetch(`${server.url}/api/worlds/${current.worldId}/heartbeat`, { method: 'POST' })
    await new Promise((resolve) => setTimeout(resolve, 250))
    current = await status()
  }
  t.equal(current?.budgetExceeded, true, 'the world status says budgetExceeded')
  const atBudget = agentChats(fake)
  // Each chat is charged 120 tokens: the budget allows 13 (1560 >= 1500 stops the 14th), plus those already in flight (at most 4).
  t.ok(atBudget >= Math.ceil(BUDGET / PER_CALL), `${atBudget} chats were served before the budget was spent`)
  t.ok(atBudget <= Math.ceil(BUDGET / PER_CALL) + 4, `${atBudget} chats: at most the in-flight ones past the budget`)
  const requests = fake.requests.length
  await new Promise((resolve) => setTimeout(resolve, 6000))
  await fetch(`${server.url}/api/worlds/${current!.worldId}/heartbeat`, { method: 'POST' })
  t.equal(fake.requests.filter((r, i) => i >= requests && !JSON.stringify(r.body).includes(CHECK_TEXT) && !JSON.stringify(r.body).includes('townhall provider check')).length, 0,
    'no LLM call for 6 s after the budget was spent')
  t.match(await status(), { budgetExceeded: true })
})

const mongo = storeTargets().find((target) => target.name === 'mongodb')
test('a pause taken on one instance applies on another at once, through the change feed', { skip: mongo === undefined ? 'needs MONGODB_URL' : false }, async (t) => {
  const fake = await fakeProvider(t)
  const { store, config } = await mongo!.fresh(t)
  const world = await createWorldRecords(store, { now: Date.now(), agents: 0, seed: 7 })
  // A minute-long cache: only the change feed can bring the pause over in time.
  const env = {
    ...config,
    LOG_LEVEL: 'silent',
    ENGINE_ENABLED: 'false',
    ENGINE_DEFAULT_WORLD: 'false',
    LLM_API_URL: fake.url,
    LLM_MODEL: 'fake-chat',
    LLM_EMBEDDING_MODEL: 'fake-embed',
    EMBEDDING_DIMENSION: String(DIM),
    ADMIN_API_KEY: ADMIN,
    LLM_CONTROL_CACHE_MS: '60000'
  }
  const a = await appWith(t, env)
  const b = await appWith(t, env)
  t.equal(await say(b, world.worldId), 'A line of dialogue.', 'instance b calls (and caches that the world is not paused)')
  await a.inject({ method: 'POST', url: '/api/admin/llm/pause', headers: admin, payload: { worldId: world.worldId } })
  const started = Date.now()
  let code: string | undefined
  while (code === undefined && Date.now() - started < 5000) {
    try {
      await say(b, world.worldId)
      await new Promise((resolve) => setTimeout(resolve, 50))
    } catch (err) {
      code = (err as LlmError).code
    }
  }
  t.equal(code, 'TOWNHALL_ERR_LLM_PAUSED', `instance b refuses the world's calls ${Date.now() - started} ms after the pause on a`)
  t.ok(Date.now() - started < 5000, 'well before its cache would have expired')
})
