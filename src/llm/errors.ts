export type LlmErrorCode =
  | 'TOWNHALL_ERR_LLM_CONFIG'
  | 'TOWNHALL_ERR_LLM_HTTP'
  | 'TOWNHALL_ERR_LLM_NOT_FOUND'
  | 'TOWNHALL_ERR_LLM_TIMEOUT'
  | 'TOWNHALL_ERR_LLM_NETWORK'
  | 'TOWNHALL_ERR_LLM_ABORTED'
  | 'TOWNHALL_ERR_LLM_BAD_RESPONSE'
  | 'TOWNHALL_ERR_LLM_DIMENSION'
  | 'TOWNHALL_ERR_LLM_UNSUPPORTED'
  | 'TOWNHALL_ERR_LLM_PAUSED'
  | 'TOWNHALL_ERR_LLM_BUDGET_EXCEEDED'
  | 'TOWNHALL_ERR_LLM_QUEUE_TIMEOUT'

export interface LlmErrorDetails {
  provider?: string
  model?: string
  status?: number
  attempts?: number
  retryable?: boolean
  /** Delay the provider asked for (Retry-After), in ms. */
  retryAfterMs?: number
}

export class LlmError extends Error {
  override name = 'LlmError'
  readonly code: LlmErrorCode
  readonly provider?: string
  readonly model?: string
  readonly status?: number
  readonly attempts: number
  readonly retryable: boolean
  readonly retryAfterMs?: number

  constructor (code: LlmErrorCode, message: string, details: LlmErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.provider = details.provider
    this.model = details.model
    this.status = details.status
    this.attempts = details.attempts ?? 1
    this.retryable = details.retryable ?? false
    this.retryAfterMs = details.retryAfterMs
  }
}

export function isLlmError (err: unknown): err is LlmError {
  return err instanceof LlmError
}

/** True for a call refused because an operator paused the LLM or the world spent its budget (not a provider fault). */
export function isLlmHeld (err: unknown): err is LlmError {
  return err instanceof LlmError && (err.code === 'TOWNHALL_ERR_LLM_PAUSED' || err.code === 'TOWNHALL_ERR_LLM_BUDGET_EXCEEDED')
}
