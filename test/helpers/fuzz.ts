// Fuzzing helpers: a seeded PRNG, JSON mutators that start from valid payloads, an app whose error log is kept,
// and the response checks every fuzzed answer must pass.
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import type { StoreTarget, Teardownable } from './stores.ts'

process.env.FASTIFY_AUTOLOAD_TYPESCRIPT = '1'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export interface Rng {
  /** A float in [0, 1). */
  next: () => number
  int: (n: number) => number
  chance: (p: number) => boolean
  pick: <T>(items: readonly T[]) => T
}

/** mulberry32: tiny, fast and good enough to make fuzz runs repeatable from one seed. */
export function createRng (seed: number): Rng {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return { next, int, chance: (p) => next() < p, pick: (items) => items[int(items.length)]! }
}

const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_./%$#@!?*&^~ '
const oddStrings = [
  '', ' ', 'NaN', 'Infinity', '-Infinity', '1e999', '-0', '0x1F', 'null', 'undefined', 'true', '[]', '{}',
  '\u0000', '\ud800', '\udfff', '🦆🏘️', '\u202etxt.exe', 'é'.normalize('NFD'), '../../etc/passwd', '%00', '%2e%2e%2f',
  '<script>alert(1)</script>', "' OR 1=1 --", '$' + '{process.exit()}', '{{7*7}}', '\\', '"', '\r\n\r\nHTTP/1.1 200 OK',
  'p:0', 'p:-1', 'p:99999999', 'a:0', 'c:0', 'c:-1', 'p:', ':', 'undefined:undefined', 'constructor', '__proto__', 'prototype',
  'hasOwnProperty', 'toString', 'valueOf', 'moveTo', 'world:worldState', 'world:sendWorldInput'
]
const extremeNumbers = [0, -0, -1, 1, 1.5, 0.1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53) - 2, 1e21, 1e308, -1e308, 5e-324, -5e-324, 1.7976931348623157e308]
const pollutionKeys = ['__proto__', 'constructor', 'prototype', '__defineGetter__', '$where', '$gt', '$ne', '$regex', 'toJSON', 'then']

export function randomString (rng: Rng, length: number): string {
  let s = ''
  for (let i = 0; i < length; i++) s += alphabet[rng.int(alphabet.length)]
  return s
}

/** A long string: a repeated pattern (cheap to build), sometimes with a multi-byte tail. */
export function longString (rng: Rng, length: number): string {
  const unit = rng.pick(['a', 'é', '🦆', 'ab', '\\"', '\u0000'])
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length)
}

/** `depth` nested arrays around a value; JSON.stringify recurses, so deep ones are built as text (see deepArrayText). */
export function nestedArrays (depth: number, inner: Json = 1): Json {
  let v: Json = inner
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

export function deepArrayText (depth: number): string {
  return '['.repeat(depth) + '1' + ']'.repeat(depth)
}

export function deepObjectText (depth: number, key = 'a'): string {
  return `{"${key}":`.repeat(depth) + '1' + '}'.repeat(depth)
}

/** Objects with an own `__proto__` / `constructor.prototype` key, as JSON.parse builds them from hostile input. */
function pollution (rng: Rng): Json {
  return JSON.parse(rng.pick([
    '{"__proto__":{"polluted":"yes","isAdmin":true}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"__proto__":null}',
    '{"$ne":null}',
    '{"$gt":""}',
    '{"$where":"sleep(1000)"}',
    '{"$regex":".*"}',
    '{"toString":"x","valueOf":1,"hasOwnProperty":null}'
  ])) as Json
}

/** A value that is wrong for almost any field: a swapped type, an extreme number, an odd string, a huge or deep thing. */
export function weirdValue (rng: Rng, ids: readonly string[]): Json {
  switch (rng.int(14)) {
    case 0: return null
    case 1: return rng.chance(0.5)
    case 2: case 3: return rng.pick(extremeNumbers)
    case 4: case 5: return rng.pick(oddStrings)
    case 6: return randomString(rng, 1 + rng.int(40))
    case 7: return longString(rng, rng.pick([300, 5_000, 70_000]))
    case 8: return rng.chance(0.5) ? [] : {}
    case 9: return nestedArrays(1 + rng.int(200))
    case 10: return pollution(rng)
    case 11: return ids.length > 0 ? rng.pick(ids) : 'p:1'
    case 12: return Array.from({ length: rng.pick([2, 50, 2000]) }, (_, i) => i)
    default: return Object.fromEntries(Array.from({ length: rng.pick([3, 300]) }, (_, i) => [`k${i}`, i]))
  }
}

function isObject (v: Json): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Picks a random container inside `root` (objects and arrays), walking down at most a few levels. */
function randomContainer (rng: Rng, root: Json): { [key: string]: Json } | Json[] | null {
  let current: Json = root
  let chosen: { [key: string]: Json } | Json[] | null = null
  for (let depth = 0; depth < 4; depth++) {
    if (isObject(current)) {
      chosen = current
      const keys = Object.keys(current)
      if (keys.length === 0 || rng.chance(0.4)) break
      current = current[rng.pick(keys)]!
    } else if (Array.isArray(current)) {
      chosen = current
      if (current.length === 0 || rng.chance(0.4)) break
      current = current[rng.int(current.length)]!
    } else break
  }
  return chosen
}

function setKey (target: { [key: string]: Json }, key: string, value: Json): void {
  // defineProperty makes `__proto__` an own key, as JSON.parse would.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** One to three mutations of a copy of `value`: drop, rename, swap type, add a field, or replace it whole. */
export function mutate (rng: Rng, value: Json, ids: readonly string[]): Json {
  let root = structuredClone(value)
  const count = 1 + rng.int(3)
  for (let i = 0; i < count; i++) {
    const container = randomContainer(rng, root)
    if (container === null || rng.chance(0.05)) { root = weirdValue(rng, ids); continue }
    if (Array.isArray(container)) {
      if (container.length > 0 && rng.chance(0.5)) container[rng.int(container.length)] = weirdValue(rng, ids)
      else container.push(weirdValue(rng, ids))
      continue
    }
    const keys = Object.keys(container)
    const key = keys.length > 0 ? rng.pick(keys) : undefined
    const op = key === undefined ? 3 : rng.int(4)
    if (op === 0) {
      delete container[key!]
    } else if (op === 1) {
      const v = container[key!]!
      delete container[key!]
      const renamed = rng.pick([...pollutionKeys, key!.toUpperCase(), `${key!} `, '', randomString(rng, 6)])
      setKey(container, renamed, v)
    } else if (op === 2) {
      container[key!] = weirdValue(rng, ids)
    } else {
      setKey(container, rng.chance(0.5) ? rng.pick(pollutionKeys) : randomString(rng, 1 + rng.int(12)), weirdValue(rng, ids))
    }
  }
  return root
}

/** Text-level damage to a JSON document: truncation, a flipped byte, JSON5-isms, a BOM, junk around it. */
export function corruptText (rng: Rng, text: string): string {
  switch (rng.int(10)) {
    case 0: return text.slice(0, rng.int(Math.max(1, text.length)))
    case 1: {
      const i = rng.int(Math.max(1, text.length))
      return text.slice(0, i) + rng.pick(['"', '{', '}', ']', ',', ':', '\\', '\u0000', 'x']) + text.slice(i + 1)
    }
    case 2: return text.replace(/}$/, ',}')
    case 3: return text.replace(/"/g, "'")
    case 4: return '\ufeff' + text
    case 5: return text + rng.pick(['garbage', '}', '{}', '\n\u0000', ' // comment'])
    case 6: return text.replace(/:\s*[-\d.e+]+/, ':NaN')
    case 7: return text.replace(/:\s*[-\d.e+]+/, ':Infinity')
    case 8: return rng.pick(['', ' ', 'null', 'true', '0', '"string"', '[]', '[{}]', 'undefined', '{', '{"path":', '/*{}*/'])
    default: return randomString(rng, 1 + rng.int(200))
  }
}

export interface FuzzApp {
  app: FastifyInstance
  /** Server log lines at level error (50) or above, parsed. */
  errors: Array<Record<string, unknown>>
  warnings: number
}

/** Builds the app like test/helpers/app.ts, with a log stream that keeps the server's error lines for the report. */
export async function buildFuzzApp (t: Teardownable, target: StoreTarget, env: Record<string, string>): Promise<FuzzApp> {
  const { store, config: storeConfig } = await target.fresh(t)
  await store.close()
  const config = loadConfig({ LOG_LEVEL: 'warn', ...storeConfig, ...env })
  const errors: Array<Record<string, unknown>> = []
  let warnings = 0
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue
        try {
          const entry = JSON.parse(line) as Record<string, unknown>
          if (typeof entry.level === 'number' && entry.level >= 50) errors.push(entry)
          else warnings++
        } catch {
          errors.push({ unparsed: line })
        }
      }
      callback()
    }
  })
  const fastify = Fastify({ ...serverOptions, logger: { level: config.LOG_LEVEL, stream } })
  await fastify.register(fp(app), { config })
  await fastify.ready()
  t.teardown(async () => { await fastify.close() })
  return { app: fastify, errors, get warnings () { return warnings } }
}

export interface HttpCase {
  label: string
  method: string
  url: string
  headers?: Record<string, string>
  /** A Blob goes out without a content-type of its own. */
  body?: string | Blob
  /** A body over the limit: the server may answer 413 or cut the connection. */
  oversize?: boolean
}

export interface HttpOutcome {
  status: number
  contentType: string
  text: string
  ms: number
  error?: undefined
}

export interface HttpFailure {
  error: string
  ms: number
}

export async function sendCase (base: string, c: HttpCase, timeoutMs = 15_000): Promise<HttpOutcome | HttpFailure> {
  const started = performance.now()
  try {
    const res = await fetch(base + c.url, {
      method: c.method,
      headers: c.headers,
      body: c.body,
      signal: AbortSignal.timeout(timeoutMs)
    })
    const text = await res.text()
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, ms: performance.now() - started }
  } catch (err) {
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    return { error: `${(err as Error).name}: ${(err as Error).message}${cause !== undefined ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`, ms: performance.now() - started }
  }
}

/** What is wrong with an answer, or null: no 5xx, and every 4xx is a JSON `{ statusCode, code, message }`. */
export function checkOutcome (c: HttpCase, outcome: HttpOutcome | HttpFailure): string | null {
  if (outcome.error !== undefined) {
    // Over the body limit, closing the connection instead of reading a megabyte is a fair answer.
    if (c.oversize === true && /ECONNRESET|EPIPE|other side closed|SocketError/i.test(outcome.error)) return null
    return `no answer: ${outcome.error}`
  }
  const { status, contentType, text } = outcome
  if (status >= 500) return `status ${status}: ${text.slice(0, 300)}`
  if (status < 400) return null
  if (c.method === 'HEAD') return null
  if (!contentType.includes('application/json')) return `status ${status} with content-type ${contentType}: ${text.slice(0, 200)}`
  let body: unknown
  try { body = JSON.parse(text) } catch { return `status ${status} with a body that is not JSON: ${text.slice(0, 200)}` }
  const { statusCode, code, message } = (body ?? {}) as { statusCode?: unknown, code?: unknown, message?: unknown }
  if (statusCode !== status) return `status ${status} but body.statusCode ${String(statusCode)}: ${text.slice(0, 200)}`
  if (typeof code !== 'string' || code === '') return `status ${status} without a code: ${text.slice(0, 200)}`
  if (typeof message !== 'string' || message.trim() === '') return `status ${status} without a message: ${text.slice(0, 200)}`
  return null
}

/** Runs `tasks` with at most `concurrency` in flight. */
export async function pool<T> (items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      await task(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

export function describeCase (c: HttpCase): string {
  const body = c.body === undefined ? '' : typeof c.body === 'string' ? c.body : `<${c.body.size} bytes>`
  const shown = body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body
  return `[${c.label}] ${c.method} ${c.url.length > 200 ? c.url.slice(0, 200) + '…' : c.url} ${JSON.stringify(c.headers ?? {})} ${shown}`
}
