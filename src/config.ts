import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { llmEnvProperties, resolveProviders, type ResolvedProviders } from './llm/config.ts'
import { isLlmError } from './llm/errors.ts'
import { parsePrices, PRICES_EXPECTED, type PriceTable } from './llm/cost.ts'

// Each variable says what it expects in words, so a bad value is reported in one readable line.
function variable<T extends TSchema> (schema: T, expects: string, description: string): T & { expects?: string } {
  return Object.assign(schema, { expects, description })
}

const LogLevel = Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)))

export const configProperties = {
  HOST: variable(Type.String({ default: '127.0.0.1', minLength: 1 }), 'a host name or IP address to listen on',
    'Address the HTTP server listens on (0.0.0.0 in containers).'),
  PORT: variable(Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }), 'an integer port from 0 to 65535',
    'TCP port of the HTTP and WebSocket server.'),
  LOG_LEVEL: variable(Type.Union(LogLevel.anyOf, { default: 'info' }), 'one of fatal, error, warn, info, debug, trace, silent',
    'pino log level. Logs are JSON unless stdout is a terminal.'),
  STORE: variable(Type.Optional(Type.Union([Type.Literal('embedded'), Type.Literal('mongodb')])), 'embedded or mongodb',
    'Storage backend. Default: mongodb when MONGODB_URL is set, else embedded (SQLite under DATA_DIR).'),
  DATA_DIR: variable(Type.String({ default: './data', minLength: 1 }), 'a directory path',
    'Where the embedded store (SQLite) and the HNSW vector index files live.'),
  MONGODB_URL: variable(Type.Optional(Type.String({ pattern: '^mongodb(\\+srv)?://[^\\s]+$' })),
    'a MongoDB connection string starting with mongodb:// or mongodb+srv://',
    'MongoDB connection string (a replica set or Atlas: change streams are required).'),
  MONGODB_DB: variable(Type.String({ default: 'townhall', pattern: '^[^/\\\\. "$]{1,63}$' }), 'a MongoDB database name (no / \\ . space " $)',
    'Database name used on the MongoDB deployment.'),
  REDIS_URL: variable(Type.Optional(Type.String({ pattern: '^rediss?://[^\\s]+$' })), 'a Redis URL starting with redis:// or rediss://',
    'Optional Redis, for fan-out between several instances and shared rate limits. Without it one instance serves everything.'),
  ENGINE_ENABLED: variable(Type.Boolean({ default: true }), 'true or false',
    'Run world engines in this instance. Turn off for an API-only instance; another instance then runs the worlds.'),
  ENGINE_DEFAULT_WORLD: variable(Type.Boolean({ default: true }), 'true or false',
    'Create the default world (our map and cast) on first start.'),
  ENGINE_MAX_INPUTS_PER_STEP: variable(Type.Integer({ default: 256, minimum: 1, maximum: 100000 }), 'an integer from 1 to 100000',
    'Inputs applied per 1 s step. AI Town used 32 (a Convex transaction limit); a busy town needs more to drain its queue every step.'),
  ENGINE_MAX_WORLDS: variable(Type.Integer({ default: 1000, minimum: 0, maximum: 100000 }), 'an integer from 0 to 100000',
    'Most worlds this instance runs at once; claims also stay within a fair share (+1) of the live instances\' worlds.'),
  ENGINE_CHECK_MS: variable(Type.Integer({ default: 1000, minimum: 100, maximum: 60000 }), 'an integer from 100 to 60000',
    'How often (ms) an instance renews its heartbeat and claims free worlds; a world released on SIGTERM moves within about this long.'),
  ENGINE_LEASE_MS: variable(Type.Integer({ default: 5000, minimum: 1000, maximum: 600000 }), 'an integer from 1000 to 600000',
    'A world\'s engine lease (ms), renewed every step: after a crash (SIGKILL) another instance takes the world within this plus ENGINE_CHECK_MS.'),
  SNAPSHOT_EVERY_STEPS: variable(Type.Integer({ default: 300, minimum: 0, maximum: 1000000 }), 'an integer from 0 to 1000000',
    'Each world\'s game state is snapshotted every this many steps (and on demand: townhall world snapshot), so townhall world replay can rebuild and verify it; 0 turns snapshots and their step records off.'),
  SNAPSHOT_KEEP: variable(Type.Integer({ default: 288, minimum: 1, maximum: 100000 }), 'an integer from 1 to 100000',
    'Snapshots kept per world (the oldest go first); the inputs after the oldest kept one are kept for replay.'),
  VECTOR_INDEX: variable(Type.Union([Type.Literal('auto'), Type.Literal('hnsw'), Type.Literal('atlas'), Type.Literal('exact')], { default: 'auto' }),
    'auto, hnsw, atlas or exact', 'Vector index for memories: auto = atlas on MongoDB Atlas, else hnsw (files under DATA_DIR/vector).'),
  ...llmEnvProperties,
  LLM_PRICES: variable(Type.Optional(Type.String()), PRICES_EXPECTED,
    'Prices per model for the estimated LLM cost, in USD per 1M tokens, over built-in defaults for common models (offline: 0). Example: {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}.'),
  // LLM pool, budgets and the kill switch (docs/LLM.md).
  LLM_MAX_CONCURRENCY: variable(Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })), 'an integer from 1 to 1024',
    'LLM calls in flight at once per instance; the rest wait in a fair queue (worlds, then agents, in turn; conversation replies first). Default: 4 for Ollama or a custom provider on a local address, else 16 (self-hosted Convex\'s action limit).'),
  LLM_QUEUE_TIMEOUT_MS: variable(Type.Integer({ default: 120000, minimum: 1000, maximum: 3600000 }), 'an integer number of milliseconds from 1000 to 3600000',
    'A call that waited this long for a free LLM slot is dropped unrun (the agent\'s operation has timed out in the game by then). LLM_TIMEOUT_MS counts only from the start of a call.'),
  LLM_BUDGET_TOKENS_PER_HOUR: variable(Type.Optional(Type.Number({ minimum: 0 })), 'a non-negative number',
    'Default per-world budget: tokens (prompt + completion + embedding) per UTC clock hour. Unset: no limit. Overridable per world (townhall llm budget, PUT /api/admin/llm/worlds/:worldId/budget).'),
  LLM_BUDGET_TOKENS_PER_DAY: variable(Type.Optional(Type.Number({ minimum: 0 })), 'a non-negative number',
    'Default per-world budget: tokens per UTC day. Unset: no limit.'),
  LLM_BUDGET_USD_PER_HOUR: variable(Type.Optional(Type.Number({ minimum: 0 })), 'a non-negative number',
    'Default per-world budget: estimated USD (LLM_PRICES) per UTC clock hour. Unset: no limit.'),
  LLM_BUDGET_USD_PER_DAY: variable(Type.Optional(Type.Number({ minimum: 0 })), 'a non-negative number',
    'Default per-world budget: estimated USD per UTC day. Unset: no limit.'),
  LLM_CONTROL_CACHE_MS: variable(Type.Integer({ default: 2000, minimum: 0, maximum: 60000 }), 'an integer number of milliseconds from 0 to 60000',
    'How long an instance reuses what it read of LLM pauses, budget overrides and stored spending; a pause made on another instance or by the CLI applies within this time.'),
  ADMIN_API_KEY: variable(Type.Optional(Type.String({ minLength: 16 })), 'a secret of at least 16 characters',
    'Admin key for engine control, wipe and other operator functions (Authorization: Bearer <key>). Unset: those functions are disabled.'),
  METRICS_TOKEN: variable(Type.Optional(Type.String({ minLength: 16 })), 'a secret of at least 16 characters',
    'When set, GET /metrics requires Authorization: Bearer <token>. Unset: /metrics is public (bind HOST accordingly).'),
  RATE_LIMIT_MAX: variable(Type.Integer({ default: 1200, minimum: 1 }), 'a positive integer',
    'Requests allowed per client (player token, or IP address) per RATE_LIMIT_WINDOW_MS; over it: 429 with Retry-After.'),
  RATE_LIMIT_WINDOW_MS: variable(Type.Integer({ default: 60000, minimum: 1000 }), 'an integer number of milliseconds, at least 1000',
    'The rate-limit window.'),
  PUBLIC_URL: variable(Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+(/[^\\s]*)?$' })), 'an http:// or https:// URL',
    'The URL browsers reach this service at, for the asset URLs in maps (the tileset). Default: http://localhost:PORT.'),
  CORS_ORIGINS: variable(Type.String({ default: '*', minLength: 1 }), 'a comma-separated list of origins (https://town.example.com), or *',
    'Origins allowed to call the API from a browser page served elsewhere (AI Town\'s front end on Vite\'s port, say). * allows any.'),
  SHUTDOWN_GRACE_MS: variable(Type.Integer({ default: 4000, minimum: 100, maximum: 60000 }), 'an integer number of milliseconds from 100 to 60000',
    'How long a shutdown may take before the process is ended anyway.')
}

export const ConfigSchema = Type.Object(configProperties)
export type RawConfig = Static<typeof ConfigSchema>
export type StoreKind = 'embedded' | 'mongodb'
export type Config = Omit<RawConfig, 'STORE'> & {
  STORE: StoreKind
  /** The LLM providers chosen from the LLM variables (including the numbered CUSTOM_PROVIDER_N_* ones). */
  llm: ResolvedProviders
  /** USD per 1M tokens per model: the defaults with LLM_PRICES over them. */
  llmPrices: PriceTable
}

/** What a variable expects, in words: its own `expects`, else its allowed values or type. */
function expectation (schema: TSchema & { expects?: string }): string {
  if (schema.expects !== undefined) return schema.expects
  const anyOf = (schema as { anyOf?: Array<{ const?: unknown }> }).anyOf
  if (anyOf !== undefined) return `one of ${anyOf.map((s) => String(s.const)).join(', ')}`
  const { type, minimum, maximum } = schema as { type?: string, minimum?: number, maximum?: number }
  if (type === 'integer') return `an integer${minimum !== undefined ? ` from ${minimum}` : ''}${maximum !== undefined ? ` to ${maximum}` : ''}`
  return `a ${type ?? 'valid'} value`
}

export class ConfigError extends Error {
  readonly problems: string[]
  constructor (problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/** Reads, defaults, converts and validates the environment; throws ConfigError with one line per bad variable. */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(configProperties)) {
    const value = env[key]
    // An empty value counts as unset, as in most .env conventions.
    if (value !== undefined && value !== '') input[key] = value
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, { ...input })) as Record<string, unknown>
  const problems = new Map<string, string>()
  // Checked one variable at a time so that every bad variable is reported, each once.
  for (const [key, schema] of Object.entries(configProperties)) {
    const value = converted[key]
    // Unset optional variables are fine; the rest have defaults.
    if (value !== undefined && !Value.Check(schema, value)) {
      problems.set(key, `${key}: expected ${expectation(schema)}, got ${JSON.stringify(input[key])}`)
    }
  }
  if (converted.STORE === 'mongodb' && converted.MONGODB_URL === undefined) {
    problems.set('MONGODB_URL', 'MONGODB_URL: expected a MongoDB connection string because STORE=mongodb, got nothing')
  }
  let llmPrices: PriceTable = {}
  try {
    llmPrices = parsePrices(converted.LLM_PRICES as string | undefined)
  } catch (err) {
    problems.set('LLM_PRICES', `LLM_PRICES: ${(err as Error).message}`)
  }
  if (problems.size > 0) throw new ConfigError([...problems.values()])
  const raw = converted as RawConfig
  let llm: ResolvedProviders
  try {
    llm = resolveProviders(env, raw)
  } catch (err) {
    if (!isLlmError(err)) throw err
    throw new ConfigError([`LLM: ${err.message}`])
  }
  return { ...raw, STORE: raw.STORE ?? (raw.MONGODB_URL !== undefined ? 'mongodb' : 'embedded'), llm, llmPrices }
}

/** The connection string with its password replaced, for logs and error messages. */
export function redactUrl (url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@')
}
