// Logger options: JSON lines with a request id on every request's lines, and no secret in any line.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'

/** Paths pino blanks in every log line: credentials in headers, bodies and configuration. */
export const redactPaths = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["x-admin-key"]',
  'headers.authorization', '*.headers.authorization', 'res.headers["set-cookie"]',
  '*.apiKey', '*.token', '*.password', '*.ADMIN_API_KEY', '*.OPENAI_API_KEY', '*.LLM_API_KEY', '*.TOGETHER_API_KEY', '*.GEMINI_API_KEY'
]

const CENSOR = '[redacted]'
// Shorter values are not credentials, and blanking them would mangle ordinary words.
const MIN_SECRET_LENGTH = 4
// Environment variables holding a credential by name (CUSTOM_PROVIDER_2_API_KEY, a deployment's own *_TOKEN, …).
const SECRET_VARIABLE = /(^|_)(API_KEY|KEY|TOKEN|SECRET|PASSWORD)$/
// Variables holding a URL, which may carry a password or a key in its query.
const URL_VARIABLE = /(^|_)(URL|URI|HOST)$/
const SECRET_QUERY = /key|token|secret|password|sig/i
// Blanking these would break the JSON of every line, and they are no one's secret.
const JSON_WORDS = new Set(['true', 'false', 'null'])

/** The password and secret query values in a URL (raw and decoded, as either may be logged). */
export function urlSecrets (url: string): string[] {
  const found: string[] = []
  const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]*)@/i.exec(url)?.[1]
  if (password !== undefined) found.push(password)
  const query = url.indexOf('?')
  if (query >= 0) {
    for (const [name, value] of new URLSearchParams(url.slice(query + 1).split('#')[0])) {
      if (SECRET_QUERY.test(name)) found.push(value)
    }
  }
  return found.flatMap((s) => {
    try {
      return [s, decodeURIComponent(s)]
    } catch {
      return [s]
    }
  })
}

/** Every credential the process knows of: keys and tokens by name, and passwords in connection strings. */
export function secretValues (config: Partial<Config>, env: Record<string, string | undefined> = {}): string[] {
  const values: Array<string | undefined> = [
    config.ADMIN_API_KEY, config.OPENAI_API_KEY, config.TOGETHER_API_KEY, config.GEMINI_API_KEY, config.LLM_API_KEY,
    config.llm?.chat.apiKey, config.llm?.embedding.apiKey
  ]
  for (const url of [config.MONGODB_URL, config.REDIS_URL, config.LLM_API_URL, config.OLLAMA_HOST, config.llm?.chat.baseUrl, config.llm?.embedding.baseUrl]) {
    if (url !== undefined) values.push(...urlSecrets(url))
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue
    if (SECRET_VARIABLE.test(name)) values.push(value)
    else if (URL_VARIABLE.test(name)) values.push(...urlSecrets(value))
  }
  const secrets = new Set<string>()
  for (const value of values) {
    const trimmed = value?.trim()
    if (trimmed === undefined || trimmed.length < MIN_SECRET_LENGTH || JSON_WORDS.has(trimmed)) continue
    secrets.add(trimmed)
    // As it appears inside a JSON string.
    secrets.add(JSON.stringify(trimmed).slice(1, -1))
  }
  // Longest first, so a secret that contains another is blanked whole.
  return [...secrets].sort((a, b) => b.length - a.length)
}

// Credentials whose values are not known in advance: player tokens, bearer credentials, tokens in URLs.
const patterns: Array<[RegExp, string]> = [
  [/\bth_[A-Za-z0-9_-]{20,}/g, `th_${CENSOR}`],
  [/(\bBearer\s+)[^\s"\\,;]+/gi, `$1${CENSOR}`],
  [/([?&](?:token|access_token|api[_-]?key|key)=)[^&\s"\\#]+/gi, `$1${CENSOR}`]
]

/** Blanks known secret values and credential-shaped strings in one serialised log line. */
export function scrubber (secrets: string[]): (line: string) => string {
  return (line) => {
    let out = line
    for (const secret of secrets) {
      if (out.includes(secret)) out = out.split(secret).join(CENSOR)
    }
    for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement)
    return out
  }
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** A client's x-request-id when it is a plain token, else a fresh UUID: unique across instances and restarts. */
export function requestId (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID()
}

export function loggerOptions (
  config: Pick<Config, 'LOG_LEVEL'> & Partial<Config>, pretty: boolean, env: Record<string, string | undefined> = {}
): NonNullable<FastifyServerOptions['logger']> {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: redactPaths, censor: CENSOR },
    // The last line of defence: whatever a line holds (an error body, a URL), known secrets never reach the stream.
    hooks: { streamWrite: scrubber(secretValues(config, env)) },
    // Pretty output is for people at a terminal; everything else gets JSON lines.
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
  }
}
