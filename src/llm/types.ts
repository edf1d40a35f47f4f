// Shared shapes of the LLM layer: provider endpoints, requests, results and the client port.

export type ProviderKind = 'openai' | 'together' | 'gemini' | 'ollama' | 'custom' | 'offline'

export interface ProviderEndpoint {
  kind: ProviderKind
  /** Label used in logs, metrics and error messages: 'openai', 'ollama', a custom provider's name, 'offline'. */
  name: string
  /** OpenAI-compatible base (…/v1) or, for Ollama, the host root. Empty for offline. */
  baseUrl: string
  apiKey?: string
  model: string
  /** The environment variables behind this endpoint, so start-up checks can name what to change. */
  vars?: { url?: string, model?: string, key?: string }
}

export interface EmbeddingEndpoint extends ProviderEndpoint {
  dimension: number
  /** Ask the provider for `dimension` (OpenAI text-embedding-3 models shorten on request). */
  requestDimensions?: boolean
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

/** Who is talking in a conversation task, as the offline provider and the prompts see them. */
export interface TaskSpeaker {
  name: string
  identity?: string
  plan?: string
  description?: string
}

export interface TaskLine {
  author: string
  text: string
}

/**
 * The structured request behind a prompt. Real providers only read the messages; the offline
 * provider answers from this instead, so its output follows the same inputs a model would see.
 */
export type LlmTask =
  | {
    kind: 'conversation'
    phase: 'start' | 'continue' | 'leave'
    self: TaskSpeaker
    other: TaskSpeaker
    memories: string[]
    history: TaskLine[]
    lastTalkedAt?: number
    now: number
  }
  | { kind: 'summary', self: TaskSpeaker, other: TaskSpeaker, history: TaskLine[] }
  | { kind: 'importance', memory: string }
  | { kind: 'reflection', name: string, statements: string[] }

/** Who a call is made for, so usage and cost can be reported per world and agent. */
export interface LlmAttribution {
  worldId: string
  agentId?: string
  playerId?: string
}

export interface CallOptions {
  /** Cancels this call only; the client's own signal (shutdown) always applies too. */
  signal?: AbortSignal
  /** Overrides the client's retry count for this call (start-up checks use 0). */
  maxRetries?: number
  /** What the call is for, carried into the call record ('conversation', 'importance', …). */
  purpose?: string
  /** The world and agent the call is made for, carried into the call record. */
  attribution?: LlmAttribution
  /**
   * Its place in the instance's LLM pool: 'conversation' (a reply in an ongoing conversation, and the memory
   * search for it) goes before 'background' (remembering, reflection and their embeddings). Default 'conversation'.
   */
  priority?: LlmPriority
}

export type LlmPriority = 'conversation' | 'background'

export interface ChatRequest extends CallOptions {
  messages: ChatMessage[]
  /** Defaults to 300. */
  maxTokens?: number
  temperature?: number
  /** Empty entries are dropped and an empty list is never sent. */
  stop?: string[]
  task?: LlmTask
}

export interface TokenUsage {
  promptTokens?: number
  completionTokens?: number
}

export interface ChatResult {
  text: string
  provider: string
  model: string
  usage: TokenUsage
  latencyMs: number
}

/** One record per logical call (all attempts together), for metrics. */
export interface LlmCallRecord {
  operation: 'chat' | 'embed' | 'pull'
  provider: string
  model: string
  purpose?: string
  attribution?: LlmAttribution
  ok: boolean
  latencyMs: number
  attempts: number
  status?: number
  promptTokens?: number
  completionTokens?: number
  errorCode?: string
  inputs?: number
}

export interface LlmClientInfo {
  mode: 'online' | 'offline'
  chat: { kind: ProviderKind, provider: string, model: string, baseUrl: string, vars?: ProviderEndpoint['vars'] }
  embedding: { kind: ProviderKind, provider: string, model: string, baseUrl: string, dimension: number, vars?: ProviderEndpoint['vars'] }
}

/** The port agent code talks to; the HTTP client and the offline provider both implement it. */
export interface LlmClient {
  /** 'offline' for the offline provider, otherwise the chat provider's label. */
  readonly name: string
  readonly mode: 'online' | 'offline'
  readonly dimension: number
  readonly info: LlmClientInfo
  chat(request: ChatRequest): Promise<ChatResult>
  embed(texts: string[], options?: CallOptions): Promise<Float32Array[]>
}
