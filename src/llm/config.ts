import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { LlmError } from './errors.ts'
import type { EmbeddingEndpoint, ProviderEndpoint, ProviderKind } from './types.ts'

/** Environment properties of the LLM layer; the app config schema merges these in. */
export const llmEnvProperties = {
  LLM_PROVIDER: Type.Union([
    Type.Literal('auto'), Type.Literal('openai'), Type.Literal('ollama'), Type.Literal('together'),
    Type.Literal('gemini'), Type.Literal('custom'), Type.Literal('offline')
  ], {
    default: 'auto',
    description: 'Chat provider: auto picks the first configured one (custom URL, numbered custom provider, OpenAI, Together, Gemini, Ollama); offline only when nothing is configured'
  }),
  LLM_EMBEDDING_PROVIDER: Type.Optional(Type.Union([
    Type.Literal('openai'), Type.Literal('ollama'), Type.Literal('together'), Type.Literal('custom'), Type.Literal('offline')
  ], {
    description: 'Embedding provider when it should differ from the chat provider (required with Gemini unless another provider is configured)'
  })),
  LLM_CUSTOM_PROVIDER: Type.Optional(Type.String({
    description: 'Which numbered custom provider to use, by its CUSTOM_PROVIDER_N_NAME or its number N; defaults to the lowest-numbered one'
  })),
  OPENAI_API_KEY: Type.Optional(Type.String({ description: 'OpenAI API key; setting it selects OpenAI under LLM_PROVIDER=auto' })),
  OPENAI_CHAT_MODEL: Type.String({ default: 'gpt-4o-mini', description: 'OpenAI chat model' }),
  OPENAI_EMBEDDING_MODEL: Type.String({
    default: 'text-embedding-3-small',
    description: 'OpenAI embedding model; text-embedding-3 models are asked for EMBEDDING_DIMENSION dimensions'
  }),
  OLLAMA_HOST: Type.String({
    default: 'http://127.0.0.1:11434',
    description: 'Ollama host root; setting it (or an Ollama model) selects Ollama under LLM_PROVIDER=auto'
  }),
  OLLAMA_MODEL: Type.String({ default: 'llama3', description: 'Ollama chat model, pulled on first use when missing' }),
  OLLAMA_EMBEDDING_MODEL: Type.String({
    default: 'mxbai-embed-large',
    description: 'Ollama embedding model (mxbai-embed-large gives 1024 dimensions), pulled on first use when missing'
  }),
  TOGETHER_API_KEY: Type.Optional(Type.String({ description: 'Together AI API key; setting it selects Together under LLM_PROVIDER=auto' })),
  TOGETHER_CHAT_MODEL: Type.String({ default: 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo', description: 'Together chat model' }),
  TOGETHER_EMBEDDING_MODEL: Type.String({
    default: 'togethercomputer/m2-bert-80M-8k-retrieval',
    description: 'Together embedding model (the default gives 768 dimensions)'
  }),
  GEMINI_API_KEY: Type.Optional(Type.String({
    description: 'Google Gemini API key (OpenAI-compatible endpoint, chat only: embeddings come from another provider)'
  })),
  GEMINI_CHAT_MODEL: Type.String({ default: 'gemini-2.0-flash', description: 'Gemini chat model' }),
  LLM_API_URL: Type.Optional(Type.String({
    description: 'Base URL of any OpenAI-compatible API, with or without a trailing /v1; setting it selects it under LLM_PROVIDER=auto'
  })),
  LLM_API_KEY: Type.Optional(Type.String({ description: 'API key for LLM_API_URL (optional; sent as a Bearer token)' })),
  LLM_MODEL: Type.Optional(Type.String({ description: 'Chat model at LLM_API_URL' })),
  LLM_EMBEDDING_MODEL: Type.Optional(Type.String({ description: 'Embedding model at LLM_API_URL' })),
  EMBEDDING_DIMENSION: Type.Integer({
    default: 1024,
    minimum: 1,
    maximum: 8192,
    description: 'Dimension of every stored embedding; when unset, a known embedding model\'s own dimension is used'
  }),
  LLM_TIMEOUT_MS: Type.Integer({ default: 60_000, minimum: 100, description: 'Timeout of one LLM HTTP attempt, in ms' }),
  LLM_MAX_RETRIES: Type.Integer({
    default: 3,
    minimum: 0,
    maximum: 10,
    description: 'Retries after the first attempt on HTTP 429, 5xx, timeouts and network errors (exponential backoff with jitter)'
  })
}

export const LlmEnvSchema = Type.Object(llmEnvProperties)
export type LlmEnv = Static<typeof LlmEnvSchema>

/** Applies defaults, converts strings to numbers and validates; throws an LlmError listing every bad variable. */
export function parseLlmEnv (env: Record<string, string | undefined>): LlmEnv {
  const picked: Record<string, unknown> = {}
  for (const key of Object.keys(llmEnvProperties)) {
    const value = env[key]
    if (value !== undefined && value !== '') picked[key] = value
  }
  const value = Value.Convert(LlmEnvSchema, Value.Default(LlmEnvSchema, { ...picked })) as Record<string, unknown>
  if (!Value.Check(LlmEnvSchema, value)) {
    // checked per property so one message names every bad variable
    const problems: string[] = []
    for (const [key, schema] of Object.entries(llmEnvProperties)) {
      if (value[key] === undefined || Value.Check(schema, value[key])) continue
      const allowed = 'anyOf' in schema ? ` (one of ${schema.anyOf.map((s: { const?: unknown }) => String(s.const)).join(', ')})` : ''
      const [first] = Value.Errors(schema, value[key])
      problems.push(`${key}=${JSON.stringify(picked[key])} ${allowed === '' ? first?.message ?? 'is invalid' : `is not allowed${allowed}`}`)
    }
    throw new LlmError('TOWNHALL_ERR_LLM_CONFIG', `invalid LLM configuration: ${problems.join('; ')}`)
  }
  return value as LlmEnv
}

export interface CustomProvider {
  /** N in CUSTOM_PROVIDER_N_*. */
  index: number
  name: string
  url: string
  apiKey?: string
  chatModel?: string
  embeddingModel?: string
  embeddingDimension?: number
}

const customVar = /^CUSTOM_PROVIDER_(\d+)_(NAME|URL|API_KEY|CHAT_MODEL|EMBEDDING_MODEL|EMBEDDING_DIMENSION)$/

/** Reads the numbered CUSTOM_PROVIDER_N_* variables (seed 000's form), lowest N first. */
export function readCustomProviders (env: Record<string, string | undefined>): CustomProvider[] {
  const byIndex = new Map<number, Record<string, string>>()
  for (const [key, raw] of Object.entries(env)) {
    const match = customVar.exec(key)
    const value = raw?.trim()
    if (match === null || value === undefined || value === '') continue
    const index = Number(match[1])
    const fields = byIndex.get(index) ?? {}
    fields[match[2]] = value
    byIndex.set(index, fields)
  }
  const providers: CustomProvider[] = []
  for (const index of [...byIndex.keys()].sort((a, b) => a - b)) {
    const fields = byIndex.get(index)!
    const prefix = `CUSTOM_PROVIDER_${index}`
    if (fields.URL === undefined) {
      throw new LlmError('TOWNHALL_ERR_LLM_CONFIG', `${prefix}_URL is required when other ${prefix}_* variables are set`)
    }
    let embeddingDimension: number | undefined
    if (fields.EMBEDDING_DIMENSION !== undefined) {
      embeddingDimension = Number(fields.EMBEDDING_DIMENSION)
      if (!Number.isInteger(embeddingDimension) || embeddingDimension < 1) {
        throw new LlmError('TOWNHALL_ERR_LLM_CONFIG', `${prefix}_EMBEDDING_DIMENSION must be a positive integer, got "${fields.EMBEDDING_DIMENSION}"`)
      }
    }
    providers.push({
      index,
      name: fields.NAME ?? `custom-${index}`,
      url: fields.URL,
      apiKey: fields.API_KEY,
      chatModel: fields.CHAT_MODEL,
      embeddingModel: fields.EMBEDDING_MODEL,
      embeddingDimension
    })
  }
  return providers
}

/** Embedding dimensions of common fixed-size models, used when EMBEDDING_DIMENSION is not set. */
const knownDimensions: Record<string, number> = {
  'mxbai-embed-large': 1024,
  'nomic-embed-text': 768,
  'all-minilm': 384,
  'snowflake-arctic-embed': 1024,
  'bge-m3': 1024,
  'text-embedding-ada-002': 1536,
  'togethercomputer/m2-bert-80M-8k-retrieval': 768,
  'togethercomputer/m2-bert-80M-32k-retrieval': 768,
  'BAAI/bge-large-en-v1.5': 1024,
  'BAAI/bge-base-en-v1.5': 768
}

export function knownEmbeddingDimension (model: string): number | undefined {
  return knownDimensions[model] ?? knownDimensions[model.replace(/:latest$/, '')]
}

export interface ResolvedProviders {
  chat: ProviderEndpoint
  embedding: EmbeddingEndpoint
  timeoutMs: number
  maxRetries: number
  /** Human-readable notes about the choice (for one info log line at start). */
  notes: string[]
}

const OPENAI_BASE = 'https://api.openai.com/v1'
const TOGETHER_BASE = 'https://api.together.xyz/v1'
const GEMINI_BASE = 'https://generativelanguage.googleapis.com/v1beta/openai'

function isSet (env: Record<string, string | undefined>, key: string): boolean {
  const value = env[key]
  return value !== undefined && value.trim() !== ''
}

function configError (message: string): LlmError {
  return new LlmError('TOWNHALL_ERR_LLM_CONFIG', message)
}

/**
 * Chooses the chat and embedding providers. `env` is the raw environment (to tell explicit
 * settings from defaults and to read CUSTOM_PROVIDER_N_*); `parsed` is the validated config.
 * The offline provider is chosen only when nothing at all is configured, or when asked for by name.
 */
export function resolveProviders (env: Record<string, string | undefined>, parsed: LlmEnv): ResolvedProviders {
  const customs = readCustomProviders(env)
  const notes: string[] = []
  const ollamaExplicit = isSet(env, 'OLLAMA_HOST') || isSet(env, 'OLLAMA_MODEL') || isSet(env, 'OLLAMA_EMBEDDING_MODEL')
  const urlCustom = parsed.LLM_API_URL !== undefined && parsed.LLM_API_URL.trim() !== ''

  const pickCustom = (): CustomProvider | undefined => {
    const wanted = parsed.LLM_CUSTOM_PROVIDER?.trim()
    if (wanted === undefined || wanted === '') return customs[0]
    const found = customs.find((c) => c.name === wanted || String(c.index) === wanted)
    if (found === undefined) {
      throw configError(`LLM_CUSTOM_PROVIDER="${wanted}" matches no CUSTOM_PROVIDER_N_NAME or number (have: ${customs.map((c) => `${c.index}=${c.name}`).join(', ') || 'none'})`)
    }
    return found
  }

  let kind: ProviderKind
  if (parsed.LLM_PROVIDER !== 'auto') {
    kind = parsed.LLM_PROVIDER
  } else if (urlCustom || customs.length > 0) {
    kind = 'custom'
  } else if (isSet(env, 'OPENAI_API_KEY')) {
    kind = 'openai'
  } else if (isSet(env, 'TOGETHER_API_KEY')) {
    kind = 'together'
  } else if (isSet(env, 'GEMINI_API_KEY')) {
    kind = 'gemini'
  } else if (ollamaExplicit) {
    kind = 'ollama'
  } else {
    kind = 'offline'
    notes.push('no LLM provider is configured: using the offline provider (deterministic dialogue, hashed embeddings)')
  }

  const chat = chatEndpoint(kind, parsed, kind === 'custom' && !urlCustom ? pickCustom() : undefined)

  // Embeddings: an explicit choice wins, then the chat provider when it can embed, then another configured one.
  let embedKind: ProviderKind | undefined = parsed.LLM_EMBEDDING_PROVIDER
  let embedCustom: CustomProvider | undefined
  if (embedKind === 'custom') {
    embedCustom = urlCustom ? undefined : customs.find((c) => c.embeddingModel !== undefined) ?? pickCustom()
  } else if (embedKind === undefined) {
    if (kind === 'custom') {
      const custom = urlCustom ? undefined : pickCustom()
      const hasModel = custom === undefined ? parsed.LLM_EMBEDDING_MODEL !== undefined : custom.embeddingModel !== undefined
      if (hasModel) {
        embedKind = 'custom'
        embedCustom = custom
      }
    } else if (kind !== 'gemini') {
      embedKind = kind
    }
    if (embedKind === undefined) {
      const other = customs.find((c) => c.embeddingModel !== undefined)
      if (other !== undefined) {
        embedKind = 'custom'
        embedCustom = other
      } else if (isSet(env, 'OPENAI_API_KEY')) embedKind = 'openai'
      else if (isSet(env, 'TOGETHER_API_KEY')) embedKind = 'together'
      else if (ollamaExplicit) embedKind = 'ollama'
      else {
        throw configError(`${chat.name} ${chat.model}: ${kind === 'gemini' ? 'Gemini\'s OpenAI-compatible endpoint serves chat only' : 'the custom provider has no embedding model'}; ` +
          'set an embedding model for it, or configure OPENAI_API_KEY, TOGETHER_API_KEY or OLLAMA_HOST, or LLM_EMBEDDING_PROVIDER')
      }
      notes.push(`embeddings from ${embedKind === 'custom' ? embedCustom!.name : embedKind}`)
    }
  }
  const embeddingBase = embeddingEndpoint(embedKind, parsed, embedCustom, urlCustom)

  // Dimension: explicit EMBEDDING_DIMENSION, else the custom provider's declared one, else the model's known one.
  const declared = embedKind === 'custom' ? embedCustom?.embeddingDimension : undefined
  let dimension = parsed.EMBEDDING_DIMENSION
  if (isSet(env, 'EMBEDDING_DIMENSION')) {
    if (declared !== undefined && declared !== dimension) {
      throw configError(`EMBEDDING_DIMENSION=${dimension} disagrees with CUSTOM_PROVIDER_${embedCustom!.index}_EMBEDDING_DIMENSION=${declared}`)
    }
  } else if (declared !== undefined) {
    dimension = declared
  } else if (embeddingBase.kind !== 'offline') {
    dimension = knownEmbeddingDimension(embeddingBase.model) ?? dimension
  }
  const embedding: EmbeddingEndpoint = {
    ...embeddingBase,
    dimension,
    requestDimensions: embeddingBase.kind === 'openai' && embeddingBase.model.startsWith('text-embedding-3')
  }
  return { chat, embedding, timeoutMs: parsed.LLM_TIMEOUT_MS, maxRetries: parsed.LLM_MAX_RETRIES, notes }
}

function chatEndpoint (kind: ProviderKind, parsed: LlmEnv, custom: CustomProvider | undefined): ProviderEndpoint {
  switch (kind) {
    case 'openai':
      if (parsed.OPENAI_API_KEY === undefined) throw configError('LLM_PROVIDER=openai needs OPENAI_API_KEY')
      return { kind, name: 'openai', baseUrl: OPENAI_BASE, apiKey: parsed.OPENAI_API_KEY, model: parsed.OPENAI_CHAT_MODEL, vars: { model: 'OPENAI_CHAT_MODEL', key: 'OPENAI_API_KEY' } }
    case 'together':
      if (parsed.TOGETHER_API_KEY === undefined) throw configError('LLM_PROVIDER=together needs TOGETHER_API_KEY')
      return { kind, name: 'together', baseUrl: TOGETHER_BASE, apiKey: parsed.TOGETHER_API_KEY, model: parsed.TOGETHER_CHAT_MODEL, vars: { model: 'TOGETHER_CHAT_MODEL', key: 'TOGETHER_API_KEY' } }
    case 'gemini':
      if (parsed.GEMINI_API_KEY === undefined) throw configError('LLM_PROVIDER=gemini needs GEMINI_API_KEY')
      return { kind, name: 'gemini', baseUrl: GEMINI_BASE, apiKey: parsed.GEMINI_API_KEY, model: parsed.GEMINI_CHAT_MODEL, vars: { model: 'GEMINI_CHAT_MODEL', key: 'GEMINI_API_KEY' } }
    case 'ollama':
      return { kind, name: 'ollama', baseUrl: parsed.OLLAMA_HOST, model: parsed.OLLAMA_MODEL, vars: { url: 'OLLAMA_HOST', model: 'OLLAMA_MODEL' } }
    case 'custom':
      return customChat(parsed, custom)
    case 'offline':
      return { kind, name: 'offline', baseUrl: '', model: 'offline' }
  }
}

function customChat (parsed: LlmEnv, custom: CustomProvider | undefined): ProviderEndpoint {
  if (parsed.LLM_API_URL !== undefined && parsed.LLM_API_URL.trim() !== '') {
    if (parsed.LLM_MODEL === undefined) throw configError('LLM_API_URL is set but LLM_MODEL is not')
    return { kind: 'custom', name: 'custom', baseUrl: parsed.LLM_API_URL, apiKey: parsed.LLM_API_KEY, model: parsed.LLM_MODEL, vars: { url: 'LLM_API_URL', model: 'LLM_MODEL', key: 'LLM_API_KEY' } }
  }
  if (custom === undefined) throw configError('LLM_PROVIDER=custom needs LLM_API_URL or CUSTOM_PROVIDER_N_URL')
  const prefix = `CUSTOM_PROVIDER_${custom.index}`
  if (custom.chatModel === undefined) throw configError(`${prefix}_CHAT_MODEL is required for custom provider ${custom.name}`)
  return { kind: 'custom', name: custom.name, baseUrl: custom.url, apiKey: custom.apiKey, model: custom.chatModel, vars: { url: `${prefix}_URL`, model: `${prefix}_CHAT_MODEL`, key: `${prefix}_API_KEY` } }
}

function embeddingEndpoint (kind: ProviderKind, parsed: LlmEnv, custom: CustomProvider | undefined, urlCustom: boolean): ProviderEndpoint {
  switch (kind) {
    case 'openai':
      if (parsed.OPENAI_API_KEY === undefined) throw configError('OpenAI embeddings need OPENAI_API_KEY')
      return { kind, name: 'openai', baseUrl: OPENAI_BASE, apiKey: parsed.OPENAI_API_KEY, model: parsed.OPENAI_EMBEDDING_MODEL, vars: { model: 'OPENAI_EMBEDDING_MODEL', key: 'OPENAI_API_KEY' } }
    case 'together':
      if (parsed.TOGETHER_API_KEY === undefined) throw configError('Together embeddings need TOGETHER_API_KEY')
      return { kind, name: 'together', baseUrl: TOGETHER_BASE, apiKey: parsed.TOGETHER_API_KEY, model: parsed.TOGETHER_EMBEDDING_MODEL, vars: { model: 'TOGETHER_EMBEDDING_MODEL', key: 'TOGETHER_API_KEY' } }
    case 'gemini':
      throw configError('Gemini\'s OpenAI-compatible endpoint serves chat only; choose another LLM_EMBEDDING_PROVIDER')
    case 'ollama':
      return { kind, name: 'ollama', baseUrl: parsed.OLLAMA_HOST, model: parsed.OLLAMA_EMBEDDING_MODEL, vars: { url: 'OLLAMA_HOST', model: 'OLLAMA_EMBEDDING_MODEL' } }
    case 'custom':
      if (urlCustom && custom === undefined) {
        if (parsed.LLM_EMBEDDING_MODEL === undefined) throw configError('custom embeddings at LLM_API_URL need LLM_EMBEDDING_MODEL')
        return { kind, name: 'custom', baseUrl: parsed.LLM_API_URL!, apiKey: parsed.LLM_API_KEY, model: parsed.LLM_EMBEDDING_MODEL, vars: { url: 'LLM_API_URL', model: 'LLM_EMBEDDING_MODEL', key: 'LLM_API_KEY' } }
      }
      if (custom === undefined) throw configError('LLM_EMBEDDING_PROVIDER=custom needs LLM_API_URL or CUSTOM_PROVIDER_N_URL')
      if (custom.embeddingModel === undefined) {
        throw configError(`CUSTOM_PROVIDER_${custom.index}_EMBEDDING_MODEL is required to embed with custom provider ${custom.name}`)
      }
      return { kind, name: custom.name, baseUrl: custom.url, apiKey: custom.apiKey, model: custom.embeddingModel, vars: { url: `CUSTOM_PROVIDER_${custom.index}_URL`, model: `CUSTOM_PROVIDER_${custom.index}_EMBEDDING_MODEL`, key: `CUSTOM_PROVIDER_${custom.index}_API_KEY` } }
    case 'offline':
      return { kind, name: 'offline', baseUrl: '', model: 'offline-hash-v1' }
  }
}
