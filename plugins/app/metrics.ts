// Prometheus metrics: one registry per app instance (never prom-client's global one: tests build several
// apps in one process), fed by HTTP hooks and by the events of the llm, engine, vector-index, change-feed
// and realtime resources. Served at GET /metrics. Labels stay bounded: route patterns, never raw URLs.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { callCost } from '../../src/llm/cost.ts'
import type { CollectionName } from '../../src/store/collections.ts'
import { PRIORITIES, type PoolStats } from '../../src/llm/pool.ts'

/** Inserts older than this when delivered are imports or backdated documents, not change-feed lag. */
const FEED_LAG_CEILING_MS = 5 * 60_000

/** What the gauges read at scrape time, so their values are current without any timer. */
interface GaugeSources {
  websocketClients: () => number
  subscriptions: () => number
  feedLive: () => boolean
  /** The engine clock of each world's last committed step; worlds this instance no longer runs are dropped. */
  engineClocks: Map<string, number>
  runsWorld: (worldId: string) => boolean
  llmPool: () => PoolStats
}

function createMetrics (registry: Registry, sources: GaugeSources) {
  const registers = [registry]
  const metrics = {
    registry,
    httpRequestDuration: new Histogram({
      name: 'townhall_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern ("unmatched" for unknown routes) and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    }),
    websocketClients: new Gauge({
      name: 'townhall_websocket_clients',
      help: 'Open WebSocket connections on /api/ws.',
      registers,
      collect () { this.set(sources.websocketClients()) }
    }),
    websocketSubscriptions: new Gauge({
      name: 'townhall_websocket_subscriptions',
      help: 'Live subscriptions held by the realtime hub.',
      registers,
      collect () { this.set(sources.subscriptions()) }
    }),
    websocketMessages: new Counter({
      name: 'townhall_websocket_messages_total',
      help: 'WebSocket frames received from clients (direction="in") and sent to them (direction="out").',
      labelNames: ['direction'] as const,
      registers
    }),
    engineStepDuration: new Histogram({
      name: 'townhall_engine_step_duration_seconds',
      help: 'Wall time of one committed engine step (inputs, game step, commit, outbox) by world.',
      labelNames: ['world'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers
    }),
    engineLag: new Gauge({
      name: 'townhall_engine_lag_seconds',
      help: 'Wall time minus the engine clock of the world\'s last committed step, for worlds this instance runs (about one step period when healthy).',
      labelNames: ['world'] as const,
      registers,
      collect () {
        const now = Date.now()
        for (const [worldId, clock] of sources.engineClocks) {
          // A world this instance no longer runs leaves the gauges instead of lagging forever.
          if (!sources.runsWorld(worldId)) {
            sources.engineClocks.delete(worldId)
            this.remove({ world: worldId })
            metrics.engineInputQueue.remove({ world: worldId })
          } else {
            this.set({ world: worldId }, Math.max(0, now - clock) / 1000)
          }
        }
      }
    }),
    engineInputQueue: new Gauge({
      name: 'townhall_engine_input_queue_depth',
      help: 'Inputs received but not yet processed, per world, as its last committed step read them.',
      labelNames: ['world'] as const,
      registers
    }),
    llmCalls: new Counter({
      name: 'townhall_llm_calls_total',
      help: 'LLM calls (all attempts of one call count once) by provider, model, kind (chat, embed, pull) and outcome (ok, error).',
      labelNames: ['provider', 'model', 'kind', 'outcome'] as const,
      registers
    }),
    llmCallDuration: new Histogram({
      name: 'townhall_llm_call_duration_seconds',
      help: 'LLM call latency, retries included, by provider, model and kind.',
      labelNames: ['provider', 'model', 'kind'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
      registers
    }),
    llmTokens: new Counter({
      name: 'townhall_llm_tokens_total',
      help: 'Tokens the providers reported, by provider, model and type (prompt, completion).',
      labelNames: ['provider', 'model', 'type'] as const,
      registers
    }),
    llmErrors: new Counter({
      name: 'townhall_llm_errors_total',
      help: 'Failed LLM calls by provider, model, kind and error code.',
      labelNames: ['provider', 'model', 'kind', 'code'] as const,
      registers
    }),
    llmCost: new Counter({
      name: 'townhall_llm_cost_usd_total',
      help: 'Estimated LLM cost in USD from the reported tokens and the configured prices per model (LLM_PRICES).',
      labelNames: ['provider', 'model'] as const,
      registers
    }),
    llmQueueDepth: new Gauge({
      name: 'townhall_llm_queue_depth',
      help: 'LLM calls waiting for a free slot in this instance\'s pool, by priority (conversation, background).',
      labelNames: ['priority'] as const,
      registers,
      collect () {
        const stats = sources.llmPool()
        for (const priority of PRIORITIES) this.set({ priority }, stats.queued[priority])
      }
    }),
    llmQueueWorlds: new Gauge({
      name: 'townhall_llm_queue_worlds',
      help: 'Worlds with at least one LLM call waiting in this instance\'s pool.',
      registers,
      collect () { this.set(sources.llmPool().queuedWorlds) }
    }),
    llmInFlight: new Gauge({
      name: 'townhall_llm_in_flight',
      help: 'LLM calls running now in this instance\'s pool (at most townhall_llm_max_concurrency).',
      registers,
      collect () { this.set(sources.llmPool().inFlight) }
    }),
    llmMaxConcurrency: new Gauge({
      name: 'townhall_llm_max_concurrency',
      help: 'The pool\'s bound on LLM calls in flight (LLM_MAX_CONCURRENCY or its default).',
      registers,
      collect () { this.set(sources.llmPool().limit) }
    }),
    llmQueueWait: new Histogram({
      name: 'townhall_llm_queue_wait_seconds',
      help: 'How long LLM calls waited in the pool\'s queue before they ran (or were dropped or cancelled), by priority. Calls that found a free slot do not wait and are not counted.',
      labelNames: ['priority'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers
    }),
    vectorSearchDuration: new Histogram({
      name: 'townhall_vector_search_duration_seconds',
      help: 'Memory vector search latency by index kind (hnsw, exact, atlas) and outcome.',
      labelNames: ['index', 'outcome'] as const,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers
    }),
    changeFeedLag: new Histogram({
      name: 'townhall_change_feed_lag_seconds',
      help: 'Change-feed lag: time from an insert\'s _creationTime (set by the writer when it commits) to its delivery to this instance\'s listener, by collection. Inserts only; documents older than 5 minutes on delivery (imports) are not counted.',
      labelNames: ['collection'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    }),
    changeFeedLive: new Gauge({
      name: 'townhall_change_feed_live',
      help: '1 while the change feed is delivering, 0 while it is being reopened.',
      registers,
      collect () { this.set(sources.feedLive() ? 1 : 0) }
    })
  }
  return metrics
}

export type Metrics = ReturnType<typeof createMetrics> & {
  /** The registry in the Prometheus text format. */
  render: () => Promise<string>
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

async function metricsPlugin (fastify: FastifyInstance): Promise<void> {
  const registry = new Registry()
  const engineClocks = new Map<string, number>()
  const wss = fastify.websocketServer
  const metrics = createMetrics(registry, {
    websocketClients: () => wss.clients.size,
    subscriptions: () => fastify.realtime.stats.subscriptions,
    feedLive: () => fastify.changeFeed.live,
    engineClocks,
    runsWorld: (worldId) => fastify.engine.runner(worldId) !== undefined,
    llmPool: () => fastify.llmPool.stats()
  })
  let defaults = false
  fastify.decorate('metrics', {
    ...metrics,
    render: async () => {
      // Process metrics start with the first scrape: their event-loop monitor and GC observer cannot be
      // stopped, so an app that is never scraped (most tests build many) never starts them.
      if (!defaults) collectDefaultMetrics({ register: registry, prefix: 'townhall_' })
      defaults = true
      return await registry.metrics()
    }
  })

  fastify.addHook('onResponse', async (request, reply) => {
    metrics.httpRequestDuration.observe({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode)
    }, reply.elapsedTime / 1000)
  })

  fastify.engineSteps.on((report) => {
    metrics.engineStepDuration.observe({ world: report.worldId }, report.durationMs / 1000)
    metrics.engineInputQueue.set({ world: report.worldId }, report.queued)
    engineClocks.set(report.worldId, report.currentTime)
  })
  const prices = fastify.config.llmPrices
  fastify.llmCalls.on((record) => {
    const { provider, model, operation: kind } = record
    metrics.llmCalls.inc({ provider, model, kind, outcome: record.ok ? 'ok' : 'error' })
    metrics.llmCallDuration.observe({ provider, model, kind }, record.latencyMs / 1000)
    metrics.llmTokens.inc({ provider, model, type: 'prompt' }, record.promptTokens ?? 0)
    if (kind === 'chat') metrics.llmTokens.inc({ provider, model, type: 'completion' }, record.completionTokens ?? 0)
    if (!record.ok) metrics.llmErrors.inc({ provider, model, kind, code: record.errorCode ?? 'unknown' })
    metrics.llmCost.inc({ provider, model }, callCost(prices, record))
  })

  fastify.llmWaits.on((waitMs, priority) => { metrics.llmQueueWait.observe({ priority }, waitMs / 1000) })

  fastify.vectorSearches.on((report) => {
    metrics.vectorSearchDuration.observe({ index: report.kind, outcome: report.ok ? 'ok' : 'error' }, report.ms / 1000)
  })

  // Passive: the lag is measured on the streams the realtime hub has open for its subscribers; metrics never
  // open one of their own.
  const watched = new Set<CollectionName>()
  for (const def of fastify.api.list()) for (const table of def.tables ?? []) watched.add(table)
  const unsubscribe = fastify.changeFeed.subscribe([...watched], (event) => {
    if (event.op !== 'insert') return
    const created = event.doc?._creationTime
    if (typeof created !== 'number') return
    const lag = Date.now() - created
    if (lag > FEED_LAG_CEILING_MS) return
    metrics.changeFeedLag.observe({ collection: event.collection }, Math.max(0, lag) / 1000)
  }, { passive: true })
  fastify.addHook('preClose', async () => { unsubscribe() })
}

export default fp(metricsPlugin, {
  name: 'metrics',
  dependencies: ['@fastify/websocket', 'llm', 'engine', 'vector-index', 'change-feed', 'api', 'realtime'],
  fastify: '5.x'
})
