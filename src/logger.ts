import type { FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'

/** Paths pino blanks in every log line: credentials in headers, bodies and configuration. */
export const redactPaths = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["x-admin-key"]',
  'res.headers["set-cookie"]', '*.apiKey', '*.token', '*.password', '*.ADMIN_API_KEY', '*.OPENAI_API_KEY', '*.LLM_API_KEY'
]

export function loggerOptions (config: Pick<Config, 'LOG_LEVEL'>, pretty: boolean): NonNullable<FastifyServerOptions['logger']> {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: redactPaths, censor: '[redacted]' },
    // Pretty output is for people at a terminal; everything else gets JSON lines.
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
  }
}
