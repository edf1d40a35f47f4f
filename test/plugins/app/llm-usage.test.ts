// LLM usage and estimated cost per world, agent and hour: agent operations through the real brain and
// memory service, tokens from a local OpenAI-wire server, prices from LLM_PRICES; kept across a restart.
import { test } from 'tap'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import app from '../../../src/app.ts'
import { ConfigError, loadConfig } from '../../../src/config.ts'
import { llmBrain } from '../../../src/agents/brain.ts'
import { createWorldRecords } from '../../../src/engine/worlds.ts'
import { hourOf } from '../../../src/llm/usage.ts'
import { chatReply, embeddingReply, startFakeProvider, vectorOf, type FakeProvider } from '../../helpers/fakeProvider.ts'
import { tempDir, type Teardownable } from '../../helpers/stores.ts'
import { runServer } from '../../helpers/server.ts'
import { client, nextValue, socket } from '../../helpers/api.ts'

const PROMPT = 100
const COMPLETION = 20
const EMBED_TOKENS = 3
// USD per 1M tokens: a chat call costs (100 * 2 + 20 * 10) / 1e6, an embedding (3 * 1) / 1e6.
const PRICES = '{"tiny-chat": {"input": 2, "output": 10}, "tiny-embed": {"input": 1, "output": 0}}'
const CHAT_COST = (PROMPT * 2 + COMPLETION * 10) / 1e6
const EMBED_COST = EMBED_TOKENS * 1 / 1e6

async function fakeProvider (t: Teardownable): Promise<FakeProvider> {
  const provider = await startFakeProvider((req) => {
    if (req.path.endsWith('/embeddings')) {
      const reply = embeddingReply((req.body.input as string[]).map((_, i) => vectorOf(32, i + 7))) as { json: Record<string, unknown> }
      return { json: { ...reply.json, usage: { prompt_tokens: EMBED_TOKENS, total_tokens: EMBED_TOKENS } } }
    }
    // Importance prompts get a number, everything else a line of dialogue.
    const text = JSON.stringify(req.body.messages).includes('How important is this memory') ? '4' : 'We talked about the mill.'
    const reply = chatReply(text) as { json: Record<string, unknown> }
    return { json: { ...reply.json, usage: { prompt_tokens: PROMPT, completion_tokens: COMPLETION, total_tokens: PROMPT + COMPLETION } } }
  })
  t.teardown(provider.close)
  return provider
}

/** The app on a given data directory, so a second build is a restart on the same data. */
async function appOn (t: Teardownable, dir: string, provider: FakeProvider): Promise<FastifyInstance> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    STORE: 'embedded',
    DATA_DIR: dir,
    ENGINE_ENABLED: 'false',
    LLM_API_URL: provider.url,
    LLM_MODEL: 'tiny-chat',
    LLM_EMBEDDING_MODEL: 'tiny-embed',
    EMBEDDING_DIMENSION: '32',
    LLM_PRICES: PRICES
  })
  const fastify = Fastify({ logger: { level: 'silent' } })
  await fastify.register(fp(app), { config })
  await fastify.ready()
  t.teardown(async () => { await fastify.close() })
  return fastify
}

async function talk (fastify: FastifyInstance, worldId: string, conversationId: string, lines: Array<[string, string]>): Promise<void> {
  for (const [i, [author, text]] of lines.entries()) {
    await fastify.store.collection('messages').insertOne({ worldId, conversationId, messageUuid: `${conversationId}-${i}`, author, text })
  }
}

interface Totals { calls: number, tokens: number, promptTokens: number, completionTokens: number, costUsd: number }
interface Usage { total: Totals, agents: Array<Totals & { agentId: string, playerId: string }>, hours: Array<Totals & { hour: number }>, models: Array<Totals & { model: string }> }

test('tokens from the provider become estimated cost per agent and per hour, and survive a restart', async (t) => {
  const provider = await fakeProvider(t)
  const dir = await tempDir(t)
  const first = await appOn(t, dir, provider)
  const { worldId } = await createWorldRecords(first.store, { now: Date.now(), agents: 0, seed: 1 })
  const hour = hourOf(Date.now())

  // Agent a:1 remembers a conversation: a summary and an importance chat, and one embedding.
  await talk(first, worldId, 'c:1', [['p:1', 'Hello Bob, how is the mill?'], ['p:2', 'Busy, the river is high.']])
  await first.memories.rememberConversation({ worldId, agentId: 'a:1', playerId: 'p:1', conversationId: 'c:1' })
  // Agent a:2 starts a conversation through the brain: a memory search (one embedding) and one chat.
  const brain = llmBrain({ store: first.store, llm: first.llm, memories: first.memories, now: Date.now })
  await brain.generateMessage({ worldId, agentId: 'a:2', playerId: 'p:2', otherPlayerId: 'p:1', conversationId: 'c:2', type: 'start' })
  await first.llmLedger.flush()

  const before = (await first.inject(`/api/worlds/${worldId}/usage`))
  t.equal(before.statusCode, 200)
  const usage = before.json() as Usage
  const a1 = usage.agents.find((a) => a.agentId === 'a:1')
  const a2 = usage.agents.find((a) => a.agentId === 'a:2')
  t.match(a1, { playerId: 'p:1', calls: 3, promptTokens: 2 * PROMPT + EMBED_TOKENS, completionTokens: 2 * COMPLETION, tokens: 2 * (PROMPT + COMPLETION) + EMBED_TOKENS })
  t.match(a2, { playerId: 'p:2', calls: 2, promptTokens: PROMPT + EMBED_TOKENS, completionTokens: COMPLETION })
  t.ok(Math.abs(a1!.costUsd - (2 * CHAT_COST + EMBED_COST)) < 1e-12, `a:1 cost ${a1!.costUsd}`)
  t.ok(Math.abs(a2!.costUsd - (CHAT_COST + EMBED_COST)) < 1e-12, `a:2 cost ${a2!.costUsd}`)
  t.equal(usage.agents.length, 2, 'only attributed calls are counted (not the start-up check)')
  t.ok(Math.abs(usage.total.costUsd - (3 * CHAT_COST + 2 * EMBED_COST)) < 1e-12)
  t.equal(usage.total.calls, 5)
  // All in this hour (unless the test straddled an hour boundary, when the two hours must still add up).
  const hours = usage.hours
  t.ok(hours.every((h) => h.hour % 3_600_000 === 0 && h.hour >= hour))
  t.equal(hours.reduce((sum, h) => sum + h.tokens, 0), usage.total.tokens)
  if (hours.length === 1) t.ok(Math.abs(hours[0]!.costUsd - usage.total.costUsd) < 1e-12, 'the hour carries the whole cost')
  t.same(usage.models.map((m) => m.model).sort(), ['tiny-chat', 'tiny-embed'])

  // The same function over the Convex-style endpoint.
  const viaQuery = await first.inject({ method: 'POST', url: '/api/query', payload: { path: 'world:usage', args: { worldId } } })
  t.same(viaQuery.json().value, usage)
  t.equal((await first.inject('/api/worlds/no-such-world/usage')).statusCode, 404)

  await first.close()
  const second = await appOn(t, dir, provider)
  const after = (await second.inject(`/api/worlds/${worldId}/usage`)).json() as Usage
  t.same(after.total, usage.total, 'the totals survived the restart')
  await second.memories.rememberConversation({ worldId, agentId: 'a:1', playerId: 'p:1', conversationId: 'c:1' })
  await second.llmLedger.flush()
  const more = (await second.inject(`/api/worlds/${worldId}/usage`)).json() as Usage
  // The memory's text repeats, so its embedding now comes from the cache: two more chats only.
  t.equal(more.agents.find((a) => a.agentId === 'a:1')!.calls, 5, 'new calls add to the stored hour')
  t.ok(Math.abs(more.total.costUsd - (5 * CHAT_COST + 2 * EMBED_COST)) < 1e-12)
})

test('a world:usage subscription over the WebSocket follows new usage', async (t) => {
  const provider = await fakeProvider(t)
  const fastify = await appOn(t, await tempDir(t), provider)
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const { worldId } = await createWorldRecords(fastify.store, { now: Date.now(), agents: 0, seed: 2 })
  const ws = await socket(t, client(`http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`))
  const subscribe = (on: (value: Usage) => void): () => void => ws.subscribe('world:usage', { worldId }, on)
  await nextValue(subscribe, (v) => v.total.calls === 0)
  const next = nextValue(subscribe, (v) => v.total.calls === 1)
  await fastify.llm.chat({ messages: [{ role: 'user', content: 'Hi' }], attribution: { worldId, agentId: 'a:9', playerId: 'p:9' } })
  const value = await next
  t.match(value.agents, [{ agentId: 'a:9', playerId: 'p:9', calls: 1, tokens: PROMPT + COMPLETION }])
  t.ok(Math.abs(value.total.costUsd - CHAT_COST) < 1e-12)
})

test('LLM_PRICES: defaults, overrides, and one clear line for a bad value', async (t) => {
  t.match(loadConfig({}).llmPrices, { 'gpt-4o-mini': { input: 0.15, output: 0.6 }, offline: { input: 0, output: 0 } })
  t.match(loadConfig({ LLM_PRICES: '{"my-model": {"input": 0.5, "output": 1.5}}' }).llmPrices, { 'my-model': { input: 0.5, output: 1.5 }, 'gpt-4o-mini': {} })
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env)
      return []
    } catch (err) {
      if (err instanceof ConfigError) return err.problems
      throw err
    }
  }
  const bad = problems({ LLM_PRICES: '{"gpt-4o": {"input": 2.5,' })
  t.equal(bad.length, 1)
  t.match(bad[0], /^LLM_PRICES: expected a JSON object \{"<model>": \{"input": <USD per 1M prompt tokens>, "output": <USD per 1M completion tokens>\}\}, got invalid JSON/)
  t.notMatch(bad[0], /\n/)
  t.match(problems({ LLM_PRICES: '{"gpt-4o": {"input": "cheap"}}' }), [/^LLM_PRICES: expected .*got \{"input":"cheap"\} for "gpt-4o"/])
  t.match(problems({ LLM_PRICES: '[1, 2]' }), [/^LLM_PRICES: expected a JSON object/])
  t.match(problems({ LLM_PRICES: '{"m": {"input": -1, "output": 1}}', PORT: 'x' }), [/^PORT: /, /^LLM_PRICES: /], 'reported with the other bad variables')
})

test('the server refuses to start with a bad LLM_PRICES, naming it', async (t) => {
  const dir = await tempDir(t)
  const { exited, output } = runServer({ DATA_DIR: dir, LLM_PRICES: 'not json' })
  const { code } = await exited
  t.not(code, 0)
  t.match(output.err + output.out, /LLM_PRICES: expected a JSON object/)
})
