import { LlmError, type LlmErrorCode } from './errors.ts'
import { createOfflineClient } from './offline.ts'
import type {
  CallOptions, ChatRequest, ChatResult, EmbeddingEndpoint, LlmCallRecord, LlmClient, LlmClientInfo, ProviderEndpoint
} from './types.ts'

export const DEFAULT_MAX_TOKENS = 300
const MAX_STOP_SEQUENCES = 4 // OpenAI accepts at most four
const ERROR_SNIPPET_CHARS = 300

export interface LlmClientOptions {
  chat: ProviderEndpoint
  embedding: EmbeddingEndpoint
  /** Timeout of one HTTP attempt. Default 60 s. */
  timeoutMs?: number
  /** Retries after the first attempt. Default 3. */
  maxRetries?: number
  /** Exponential backoff with full jitter: delay = random(0, min(maxMs, baseMs * 2^retry)). */
  backoff?: { baseMs?: number, maxMs?: number }
  /** Longest Retry-After honoured, in ms; a longer one fails the call instead. Default 60 s. */
  maxRetryAfterMs?: number
  /** Timeout of an Ollama model pull. Default 30 min. */
  pullTimeoutMs?: number
  /** Aborts every call in flight and every backoff wait (shutdown). */
  signal?: AbortSignal
  /** Called once per logical call with latency, tokens and the outcome; must not throw. */
  onCall?: (record: LlmCallRecord) => void
  /** Jitter source, for tests. */
  random?: () => number
  /** Texts per embedding request. Default 64. */
  embedBatchSize?: number
}

/** Returns the base for OpenAI-compatible paths: keeps an existing /v1 (or other API path), adds /v1 to a bare host. */
export function openAiBaseUrl (url: string): string {
  const parsed = new URL(url.trim())
  let path = parsed.pathname.replace(/\/+$/, '')
  path = path.replace(/\/(chat\/completions|embeddings)$/, '')
  if (path === '') path = '/v1'
  return `${parsed.origin}${path}`
}

/** Ollama's host root, whatever API path the setting carries. */
export function ollamaRoot (host: string): string {
  const parsed = new URL(host.trim())
  const path = parsed.pathname.replace(/\/+$/, '').replace(/\/(v1|api)$/, '')
  return `${parsed.origin}${path}`
}

interface HttpCall {
  operation: 'chat' | 'embed' | 'pull'
  endpoint: ProviderEndpoint
  url: string
  body: unknown
  timeoutMs: number
  signal?: AbortSignal
}

interface HttpReply {
  status: number
  json: any
}

/** Creates the client for resolved providers: HTTP for real ones, the offline provider for 'offline'. */
export function createLlmClient (options: LlmClientOptions): LlmClient {
  const { chat: chatEndpoint, embedding: embeddingEndpoint } = options
  const offline = chatEndpoint.kind === 'offline' || embeddingEndpoint.kind === 'offline'
    ? createOfflineClient({ dimension: embeddingEndpoint.dimension, onCall: options.onCall })
    : undefined
  if (chatEndpoint.kind === 'offline' && embeddingEndpoint.kind === 'offline') return offline!

  const timeoutMs = options.timeoutMs ?? 60_000
  const defaultRetries = options.maxRetries ?? 3
  const baseMs = options.backoff?.baseMs ?? 1000
  const maxMs = options.backoff?.maxMs ?? 20_000
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000
  const pullTimeoutMs = options.pullTimeoutMs ?? 30 * 60_000
  const random = options.random ?? Math.random
  const batchSize = Math.max(1, options.embedBatchSize ?? 64)
  const shutdown = options.signal
  const linkSignals = createSignalLinker()
  const pulled = new Set<string>()

  const report = (record: LlmCallRecord): void => {
    try {
      options.onCall?.(record)
    } catch {
      // metrics must never break a call
    }
  }

  const label = (endpoint: ProviderEndpoint): string => `${endpoint.name} ${endpoint.model}`

  async function attempt (call: HttpCall): Promise<HttpReply> {
    const timeout = AbortSignal.timeout(call.timeoutMs)
    const linked = linkSignals(timeout, shutdown, call.signal)
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
    if (call.endpoint.apiKey !== undefined && call.endpoint.apiKey !== '') headers.authorization = `Bearer ${call.endpoint.apiKey}`
    const details = { provider: call.endpoint.name, model: call.endpoint.model }
    try {
      const response = await fetch(call.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(call.body),
        signal: linked.signal
      })
      const text = await response.text()
      if (!response.ok) {
        const status = response.status
        const retryable = status === 408 || status === 429 || status >= 500
        const code: LlmErrorCode = status === 404 ? 'TOWNHALL_ERR_LLM_NOT_FOUND' : 'TOWNHALL_ERR_LLM_HTTP'
        throw new LlmError(code, `HTTP ${status}: ${errorSnippet(text)}`, {
          ...details, status, retryable, retryAfterMs: retryAfter(response.headers)
        })
      }
      try {
        return { status: response.status, json: JSON.parse(text) }
      } catch {
        throw new LlmError('TOWNHALL_ERR_LLM_BAD_RESPONSE', `bad response: not JSON: ${errorSnippet(text)}`, { ...details, status: response.status })
      }
    } catch (err) {
      if (err instanceof LlmError) throw err
      if (shutdown?.aborted === true || call.signal?.aborted === true) {
        throw new LlmError('TOWNHALL_ERR_LLM_ABORTED', 'cancelled', details, { cause: err })
      }
      if (timeout.aborted) {
        throw new LlmError('TOWNHALL_ERR_LLM_TIMEOUT', `timeout: no reply within ${call.timeoutMs} ms`, { ...details, retryable: true }, { cause: err })
      }
      throw new LlmError('TOWNHALL_ERR_LLM_NETWORK', `network error: cannot reach ${new URL(call.url).origin} (${networkReason(err)})`, { ...details, retryable: true }, { cause: err })
    } finally {
      linked.release()
    }
  }

  async function withRetries (call: HttpCall, maxRetries: number): Promise<HttpReply & { attempts: number }> {
    let attempts = 0
    for (;;) {
      attempts += 1
      try {
        return { ...(await attempt(call)), attempts }
      } catch (err) {
        const e = err as LlmError
        const tooLong = e.retryAfterMs !== undefined && e.retryAfterMs > maxRetryAfterMs
        if (!e.retryable || attempts > maxRetries || tooLong) throw finalError(e, call.endpoint, attempts)
        const delay = e.retryAfterMs ?? random() * Math.min(maxMs, baseMs * 2 ** (attempts - 1))
        const linkedWait = linkSignals(shutdown, call.signal)
        try {
          await sleep(delay, linkedWait.signal)
        } catch (abortErr) {
          throw new LlmError('TOWNHALL_ERR_LLM_ABORTED', `${label(call.endpoint)}: cancelled while waiting to retry`, {
            provider: call.endpoint.name, model: call.endpoint.model, attempts
          }, { cause: abortErr })
        } finally {
          linkedWait.release()
        }
      }
    }
  }

  function finalError (e: LlmError, endpoint: ProviderEndpoint, attempts: number): LlmError {
    const what = e.message
    const colon = what.indexOf(': ')
    const head = colon === -1 ? what : what.slice(0, colon)
    const rest = colon === -1 ? '' : what.slice(colon)
    const tries = attempts > 1 ? ` after ${attempts} attempts` : ''
    return new LlmError(e.code, `${label(endpoint)}: ${head}${tries}${rest}`, {
      provider: endpoint.name, model: endpoint.model, status: e.status, attempts, retryable: e.retryable
    }, { cause: e })
  }

  /** Sends a call; on Ollama's 404 pulls the model once and tries again. */
  async function send (call: HttpCall, maxRetries: number): Promise<HttpReply & { attempts: number }> {
    try {
      return await withRetries(call, maxRetries)
    } catch (err) {
      const e = err as LlmError
      if (call.endpoint.kind !== 'ollama' || e.code !== 'TOWNHALL_ERR_LLM_NOT_FOUND') throw e
      const key = `${call.endpoint.baseUrl}|${call.endpoint.model}`
      if (pulled.has(key)) throw e
      pulled.add(key)
      await pull(call.endpoint, call.signal)
      const again = await withRetries(call, maxRetries)
      return { ...again, attempts: again.attempts + e.attempts }
    }
  }

  async function pull (endpoint: ProviderEndpoint, signal?: AbortSignal): Promise<void> {
    const started = performance.now()
    const call: HttpCall = {
      operation: 'pull',
      endpoint,
      url: `${ollamaRoot(endpoint.baseUrl)}/api/pull`,
      body: { model: endpoint.model, stream: false },
      timeoutMs: pullTimeoutMs,
      signal
    }
    try {
      const reply = await withRetries(call, 0)
      const status = reply.json?.status
      if (typeof status === 'string' && status !== 'success') {
        throw new LlmError('TOWNHALL_ERR_LLM_NOT_FOUND', `${label(endpoint)}: model not found and pull ended with "${status}"`, { provider: endpoint.name, model: endpoint.model })
      }
      report({ operation: 'pull', provider: endpoint.name, model: endpoint.model, ok: true, latencyMs: performance.now() - started, attempts: 1 })
    } catch (err) {
      const e = err as LlmError
      report({ operation: 'pull', provider: endpoint.name, model: endpoint.model, ok: false, latencyMs: performance.now() - started, attempts: 1, errorCode: e.code, status: e.status })
      throw new LlmError(e.code === 'TOWNHALL_ERR_LLM_ABORTED' ? e.code : 'TOWNHALL_ERR_LLM_NOT_FOUND',
        `${label(endpoint)}: model not found and pulling it failed (${e.message})`,
        { provider: endpoint.name, model: endpoint.model, status: e.status }, { cause: e })
    }
  }

  /** Runs one logical call, completing its record (error code, status, attempts, latency) and reporting it. */
  async function recordCall<T> (record: LlmCallRecord, started: number, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (err) {
      const e = err as LlmError
      record.errorCode = e.code
      record.status ??= e.status
      record.attempts = Math.max(record.attempts, e.attempts)
      throw e
    } finally {
      record.latencyMs = performance.now() - started
      report(record)
    }
  }

  async function chat (request: ChatRequest): Promise<ChatResult> {
    if (chatEndpoint.kind === 'offline') return await offline!.chat(request)
    const started = performance.now()
    const endpoint = chatEndpoint
    const body: Record<string, unknown> = {
      model: endpoint.model,
      messages: request.messages,
      max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS
    }
    if (request.temperature !== undefined) body.temperature = request.temperature
    const stop = (request.stop ?? []).filter((s) => s !== '').slice(0, MAX_STOP_SEQUENCES)
    if (stop.length > 0) body.stop = stop
    const base = endpoint.kind === 'ollama' ? `${ollamaRoot(endpoint.baseUrl)}/v1` : openAiBaseUrl(endpoint.baseUrl)
    const record: LlmCallRecord = { operation: 'chat', provider: endpoint.name, model: endpoint.model, purpose: request.purpose, attribution: request.attribution, ok: false, latencyMs: 0, attempts: 0 }
    return await recordCall(record, started, async () => {
      const reply = await send({ operation: 'chat', endpoint, url: `${base}/chat/completions`, body, timeoutMs, signal: request.signal }, request.maxRetries ?? defaultRetries)
      record.attempts = reply.attempts
      record.status = reply.status
      const usage = reply.json?.usage
      record.promptTokens = numberOrUndefined(usage?.prompt_tokens)
      record.completionTokens = numberOrUndefined(usage?.completion_tokens)
      const text = chatText(reply.json)
      if (text === undefined) {
        throw new LlmError('TOWNHALL_ERR_LLM_BAD_RESPONSE', `${label(endpoint)}: the reply has no text (neither content nor reasoning_content)`, {
          provider: endpoint.name, model: endpoint.model, status: reply.status, attempts: reply.attempts
        })
      }
      record.ok = true
      record.latencyMs = performance.now() - started
      return {
        text,
        provider: endpoint.name,
        model: endpoint.model,
        usage: { promptTokens: record.promptTokens, completionTokens: record.completionTokens },
        latencyMs: record.latencyMs
      }
    })
  }

  async function embed (texts: string[], callOptions: CallOptions = {}): Promise<Float32Array[]> {
    if (embeddingEndpoint.kind === 'offline') return await offline!.embed(texts, callOptions)
    if (texts.length === 0) return []
    const started = performance.now()
    const endpoint = embeddingEndpoint
    const record: LlmCallRecord = { operation: 'embed', provider: endpoint.name, model: endpoint.model, purpose: callOptions.purpose, attribution: callOptions.attribution, ok: false, latencyMs: 0, attempts: 0, inputs: texts.length }
    const out: Float32Array[] = []
    return await recordCall(record, started, async () => {
      for (let i = 0; i < texts.length; i += batchSize) {
        const batch = texts.slice(i, i + batchSize)
        const call: HttpCall = endpoint.kind === 'ollama'
          ? { operation: 'embed', endpoint, url: `${ollamaRoot(endpoint.baseUrl)}/api/embed`, body: { model: endpoint.model, input: batch }, timeoutMs, signal: callOptions.signal }
          : {
              operation: 'embed',
              endpoint,
              url: `${openAiBaseUrl(endpoint.baseUrl)}/embeddings`,
              body: endpoint.requestDimensions === true
                ? { model: endpoint.model, input: batch, dimensions: endpoint.dimension }
                : { model: endpoint.model, input: batch },
              timeoutMs,
              signal: callOptions.signal
            }
        const reply = await send(call, callOptions.maxRetries ?? defaultRetries)
        record.attempts += reply.attempts
        record.status = reply.status
        const tokens = endpoint.kind === 'ollama' ? reply.json?.prompt_eval_count : reply.json?.usage?.prompt_tokens
        if (typeof tokens === 'number') record.promptTokens = (record.promptTokens ?? 0) + tokens
        out.push(...embeddingsFrom(reply.json, endpoint, batch.length))
      }
      record.ok = true
      return out
    })
  }

  const info: LlmClientInfo = {
    mode: 'online',
    chat: { kind: chatEndpoint.kind, provider: chatEndpoint.name, model: chatEndpoint.model, baseUrl: chatEndpoint.baseUrl, vars: chatEndpoint.vars },
    embedding: {
      kind: embeddingEndpoint.kind,
      provider: embeddingEndpoint.name,
      model: embeddingEndpoint.model,
      baseUrl: embeddingEndpoint.baseUrl,
      dimension: embeddingEndpoint.dimension,
      vars: embeddingEndpoint.vars
    }
  }
  return { name: chatEndpoint.name, mode: 'online', dimension: embeddingEndpoint.dimension, info, chat, embed }
}

/** Extracts and checks the vectors of one embedding reply (OpenAI `data[]` or Ollama `embeddings`). */
function embeddingsFrom (json: any, endpoint: EmbeddingEndpoint, expected: number): Float32Array[] {
  const details = { provider: endpoint.name, model: endpoint.model }
  let vectors: unknown[]
  if (endpoint.kind === 'ollama') {
    vectors = Array.isArray(json?.embeddings) ? json.embeddings : []
  } else {
    const data: any[] = Array.isArray(json?.data) ? [...json.data] : []
    data.sort((a, b) => (a?.index ?? 0) - (b?.index ?? 0))
    vectors = data.map((d) => d?.embedding)
  }
  if (vectors.length !== expected) {
    throw new LlmError('TOWNHALL_ERR_LLM_BAD_RESPONSE', `${endpoint.name} ${endpoint.model}: expected ${expected} embeddings, got ${vectors.length}`, details)
  }
  return vectors.map((v) => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new LlmError('TOWNHALL_ERR_LLM_BAD_RESPONSE', `${endpoint.name} ${endpoint.model}: an embedding is not a list of numbers`, details)
    }
    return checkDimension(Float32Array.from(v), endpoint.dimension, endpoint)
  })
}

/** Rejects a vector whose length is not the configured dimension, before it reaches a store or index. */
export function checkDimension (vector: Float32Array, dimension: number, source: { name: string, model: string }): Float32Array {
  if (vector.length !== dimension) {
    throw new LlmError('TOWNHALL_ERR_LLM_DIMENSION',
      `${source.name} ${source.model}: returned a ${vector.length}-dimensional embedding but EMBEDDING_DIMENSION is ${dimension}`,
      { provider: source.name, model: source.model })
  }
  return vector
}

/** The reply text: `content`, or `reasoning_content` when a reasoning model leaves content empty. */
export function chatText (json: any): string | undefined {
  const message = json?.choices?.[0]?.message
  const pick = (value: unknown): string => {
    if (typeof value === 'string') return value
    if (Array.isArray(value)) return value.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('')
    return ''
  }
  const content = stripThinking(pick(message?.content)).trim()
  if (content !== '') return content
  const reasoning = pick(message?.reasoning_content).trim()
  if (reasoning !== '') return reasoning
  const legacy = pick(json?.choices?.[0]?.text).trim()
  return legacy === '' ? undefined : legacy
}

function stripThinking (text: string): string {
  return text.replace(/^\s*<think>[\s\S]*?<\/think>/, '')
}

function numberOrUndefined (value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

function errorSnippet (body: string): string {
  let message = body
  try {
    const json = JSON.parse(body)
    const candidate = typeof json?.error === 'string' ? json.error : json?.error?.message ?? json?.message
    if (typeof candidate === 'string') message = candidate
  } catch {
    // not JSON: keep the raw text
  }
  message = message.replace(/\s+/g, ' ').trim()
  if (message === '') return 'empty body'
  return message.length > ERROR_SNIPPET_CHARS ? `${message.slice(0, ERROR_SNIPPET_CHARS)}…` : message
}

function retryAfter (headers: Headers): number | undefined {
  const ms = headers.get('retry-after-ms')
  if (ms !== null && Number.isFinite(Number(ms))) return Math.max(0, Number(ms))
  const value = headers.get('retry-after')
  if (value === null) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

function networkReason (err: unknown): string {
  const cause = (err as { cause?: { code?: string, message?: string } })?.cause
  return cause?.code ?? cause?.message ?? (err as Error)?.message ?? 'network error'
}

/**
 * Links signals: `link(a, b, …)` gives one signal that aborts when any of them does, and a release for when the
 * call is over. A source gets one listener however many calls link it, so the long-lived shutdown and runner
 * signals, shared by hundreds of calls at once, never pile up listeners (AbortSignal.any adds one per call and
 * keeps it until its result is collected: Node's MaxListenersExceededWarning with 100 agents).
 */
export function createSignalLinker (): (...signals: Array<AbortSignal | undefined>) => { signal: AbortSignal, release: () => void } {
  const linked = new WeakMap<AbortSignal, Set<AbortController>>()
  return (...signals) => {
    const controller = new AbortController()
    const sources = signals.filter((s): s is AbortSignal => s !== undefined)
    const already = sources.find((s) => s.aborted)
    if (already !== undefined) {
      controller.abort(already.reason)
      return { signal: controller.signal, release: () => {} }
    }
    for (const source of sources) {
      let dependents = linked.get(source)
      if (dependents === undefined) {
        const created = new Set<AbortController>()
        linked.set(source, created)
        source.addEventListener('abort', () => {
          for (const c of created) c.abort(source.reason)
          created.clear()
        }, { once: true })
        dependents = created
      }
      dependents.add(controller)
    }
    return { signal: controller.signal, release: () => { for (const source of sources) linked.get(source)?.delete(controller) } }
  }
}

function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason)
      return
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export interface ProviderCheck {
  ok: boolean
  /** One line for the start-up log. */
  line: string
  code?: LlmErrorCode
}

/**
 * Start-up check: one chat and one embedding call, no retries. Returns one clear line for an
 * unreachable host, an unknown model, a wrong embedding dimension or any other failure.
 */
export async function checkProvider (client: LlmClient, options: { signal?: AbortSignal } = {}): Promise<ProviderCheck> {
  const { info } = client
  const summary = `chat ${info.chat.provider} ${info.chat.model}, embeddings ${info.embedding.provider} ${info.embedding.model} (${info.embedding.dimension} dimensions)`
  if (client.mode === 'offline') {
    return { ok: true, line: `LLM offline: no provider configured; deterministic dialogue and local hashed embeddings (${client.dimension} dimensions)` }
  }
  let stage: 'chat' | 'embedding' = 'chat'
  try {
    try {
      await client.chat({ messages: [{ role: 'user', content: 'Reply with the word OK.' }], maxTokens: 16, maxRetries: 0, signal: options.signal, purpose: 'check' })
    } catch (err) {
      // A reasoning model may spend 16 tokens thinking; the provider answered, which is what we check.
      if (!(err instanceof LlmError && err.code === 'TOWNHALL_ERR_LLM_BAD_RESPONSE')) throw err
    }
    stage = 'embedding'
    await client.embed(['townhall provider check'], { maxRetries: 0, signal: options.signal, purpose: 'check' })
    return { ok: true, line: `LLM ok: ${summary}` }
  } catch (err) {
    const e = err instanceof LlmError ? err : new LlmError('TOWNHALL_ERR_LLM_NETWORK', String(err))
    const side = stage === 'chat' ? info.chat : info.embedding
    return { ok: false, code: e.code, line: checkLine(e, stage, side) }
  }
}

function checkLine (e: LlmError, stage: 'chat' | 'embedding', side: LlmClientInfo['chat']): string {
  switch (e.code) {
    case 'TOWNHALL_ERR_LLM_NETWORK':
    case 'TOWNHALL_ERR_LLM_TIMEOUT': {
      const hint = side.vars?.url === undefined ? 'is it running and reachable?' : `is it running, and is ${side.vars.url} right?`
      return `LLM ${stage} host unreachable: ${side.provider} at ${side.baseUrl} (${e.message}); ${hint}`
    }
    case 'TOWNHALL_ERR_LLM_NOT_FOUND': {
      const hint = side.vars?.model === undefined ? '' : `; check ${side.vars.model}`
      return `LLM ${stage} model unknown: ${side.provider} has no model "${side.model}" (${e.message})${hint}`
    }
    case 'TOWNHALL_ERR_LLM_DIMENSION':
      return `LLM embedding dimension wrong: ${e.message}; set EMBEDDING_DIMENSION to match the model (and rebuild the vector index) or choose another embedding model`
    default:
      return `LLM ${stage} check failed: ${e.message}`
  }
}
