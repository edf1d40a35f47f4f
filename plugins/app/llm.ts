// The LLM client: the configured provider, or the offline provider when none is configured, behind the
// instance's pool (LLM_MAX_CONCURRENCY) and the worlds' pauses and budgets (docs/LLM.md).
// A misconfigured provider is reported in one line at start and re-checked; agents wait meanwhile.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { checkProvider, createLlmClient } from '../../src/llm/client.ts'
import { createOfflineClient } from '../../src/llm/offline.ts'
import type { LlmCallRecord, LlmClient, LlmPriority } from '../../src/llm/types.ts'
import { defaultConcurrency, LlmPool } from '../../src/llm/pool.ts'
import { LlmControls } from '../../src/llm/controls.ts'
import { createGovernedClient } from '../../src/llm/governed.ts'

export interface LlmHealth {
  mode: 'online' | 'offline'
  provider: string
  chatModel: string
  embeddingModel: string
  dimension: number
  ok: boolean
  problem?: string
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The client agents use: pooled, and held while the world is paused or over its budget. */
    llm: LlmClient
    /** The instance's LLM pool: concurrency bound and fair queue. */
    llmPool: LlmPool
    /** Pauses and budgets of LLM use, per world and for the deployment. */
    llmControls: LlmControls
    /** Each queued call as it leaves the queue, with its wait, for metrics. */
    llmWaits: { on: (listener: (waitMs: number, priority: LlmPriority) => void) => void }
    llmHealth: () => LlmHealth
    /** Every LLM call, for metrics and cost reporting. */
    llmCalls: { on: (listener: (record: LlmCallRecord) => void) => void }
    /** Calls, errors, tokens and latency so far, per provider and model. */
    llmUsage: () => LlmUsage[]
  }
}

export interface LlmUsage {
  provider: string
  model: string
  operation: LlmCallRecord['operation']
  calls: number
  errors: number
  promptTokens: number
  completionTokens: number
  latencyMs: number
}

const RECHECK_MS = 60_000

async function llmPlugin (fastify: FastifyInstance): Promise<void> {
  const { llm: resolved } = fastify.config
  const log = fastify.log.child({ plugin: 'llm' })
  const abort = new AbortController()
  const listeners: Array<(record: LlmCallRecord) => void> = []
  const usage = new Map<string, LlmUsage>()
  const onCall = (record: LlmCallRecord): void => {
    const key = `${record.operation}|${record.provider}|${record.model}`
    let u = usage.get(key)
    if (u === undefined) {
      u = { provider: record.provider, model: record.model, operation: record.operation, calls: 0, errors: 0, promptTokens: 0, completionTokens: 0, latencyMs: 0 }
      usage.set(key, u)
    }
    u.calls++
    if (!record.ok) u.errors++
    u.promptTokens += record.promptTokens ?? 0
    u.completionTokens += record.completionTokens ?? 0
    u.latencyMs += record.latencyMs
    if (!record.ok) log.warn({ provider: record.provider, model: record.model, operation: record.operation, code: record.errorCode, attempts: record.attempts }, 'LLM call failed')
    for (const l of listeners) l(record)
  }
  const offline = resolved.chat.kind === 'offline' && resolved.embedding.kind === 'offline'
  const client = offline
    ? createOfflineClient({ dimension: resolved.embedding.dimension, onCall })
    : createLlmClient({ ...resolved, signal: abort.signal, onCall })
  for (const note of resolved.notes) log.info({ llm: client.mode }, note)

  const config = fastify.config
  const waitListeners: Array<(waitMs: number, priority: LlmPriority) => void> = []
  const pool = new LlmPool({
    maxConcurrency: config.LLM_MAX_CONCURRENCY ?? defaultConcurrency(resolved.chat),
    maxWaitMs: config.LLM_QUEUE_TIMEOUT_MS,
    onWait: (waitMs, priority) => { for (const l of waitListeners) l(waitMs, priority) }
  })
  const controls = new LlmControls({
    store: fastify.store,
    defaults: {
      tokensPerHour: config.LLM_BUDGET_TOKENS_PER_HOUR,
      tokensPerDay: config.LLM_BUDGET_TOKENS_PER_DAY,
      usdPerHour: config.LLM_BUDGET_USD_PER_HOUR,
      usdPerDay: config.LLM_BUDGET_USD_PER_DAY
    },
    prices: config.llmPrices,
    now: Date.now,
    cacheMs: config.LLM_CONTROL_CACHE_MS,
    log
  })
  // Another instance's (or the CLI's) pause applies here as soon as the change feed brings it.
  const unsubscribe = fastify.changeFeed.subscribe(['llmControls'], () => { controls.invalidate() })
  log.info({ maxConcurrency: pool.limit }, 'LLM pool ready')

  const health: LlmHealth = {
    mode: client.mode,
    provider: client.info.chat.provider,
    chatModel: client.info.chat.model,
    embeddingModel: client.info.embedding.model,
    dimension: client.dimension,
    ok: true
  }
  let timer: NodeJS.Timeout | null = null
  const check = async (): Promise<void> => {
    const result = await checkProvider(client, { signal: abort.signal })
    if (abort.signal.aborted) return
    if (result.ok !== health.ok) {
      if (result.ok) log.info({ provider: health.provider }, `LLM provider is reachable again: ${result.line}`)
      else log.error({ provider: health.provider, code: result.code }, `LLM provider check failed: ${result.line}`)
    }
    health.ok = result.ok
    if (result.ok) delete health.problem
    else health.problem = result.line
  }
  fastify.decorate('llm', createGovernedClient({ client, pool, controls }))
  fastify.decorate('llmPool', pool)
  fastify.decorate('llmControls', controls)
  fastify.decorate('llmWaits', { on: (listener: (waitMs: number, priority: LlmPriority) => void) => { waitListeners.push(listener) } })
  fastify.decorate('llmHealth', () => ({ ...health }))
  fastify.decorate('llmUsage', () => [...usage.values()].map((u) => ({ ...u })))
  fastify.decorate('llmCalls', { on: (listener: (record: LlmCallRecord) => void) => { listeners.push(listener) } })
  if (!offline) {
    fastify.addHook('onReady', async () => {
      // Checked in the background: a slow provider must not hold up the start.
      check().catch((err: unknown) => { log.warn({ err }, 'LLM provider check failed to run') })
      timer = setInterval(() => { check().catch(() => {}) }, RECHECK_MS)
      timer.unref()
    })
  }
  fastify.addHook('preClose', async () => { unsubscribe() })
  fastify.addHook('onClose', async () => {
    if (timer !== null) clearInterval(timer)
    abort.abort()
  })
}

export default fp(llmPlugin, { name: 'llm', dependencies: ['store', 'change-feed'], fastify: '5.x' })
