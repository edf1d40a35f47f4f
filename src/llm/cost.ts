// Estimated LLM cost: USD per million tokens per model, from built-in defaults and LLM_PRICES.
import type { LlmCallRecord } from './types.ts'

export interface ModelPrice {
  /** USD per 1M prompt (input) tokens. */
  input: number
  /** USD per 1M completion (output) tokens. */
  output: number
}

export type PriceTable = Record<string, ModelPrice>

/** List prices of a few common models (USD per 1M tokens); local and offline models cost nothing. */
export const defaultPrices: PriceTable = {
  offline: { input: 0, output: 0 },
  'offline-hash-v1': { input: 0, output: 0 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo': { input: 0.18, output: 0.18 },
  'togethercomputer/m2-bert-80M-8k-retrieval': { input: 0.008, output: 0 }
}

export const PRICES_EXPECTED = 'a JSON object {"<model>": {"input": <USD per 1M prompt tokens>, "output": <USD per 1M completion tokens>}}'

/** Parses LLM_PRICES over the defaults; throws an Error saying what is wrong, in one line. */
export function parsePrices (raw: string | undefined): PriceTable {
  if (raw === undefined || raw.trim() === '') return { ...defaultPrices }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (err) {
    throw new Error(`expected ${PRICES_EXPECTED}, got invalid JSON (${(err as Error).message})`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`expected ${PRICES_EXPECTED}, got ${JSON.stringify(raw)}`)
  const prices: PriceTable = { ...defaultPrices }
  for (const [model, price] of Object.entries(parsed)) {
    const p = price as Partial<ModelPrice> | null
    const valid = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0
    if (p === null || typeof p !== 'object' || !valid(p.input) || !(p.output === undefined || valid(p.output))) {
      throw new Error(`expected ${PRICES_EXPECTED}, got ${JSON.stringify(price)} for "${model}" (input and output must be non-negative numbers)`)
    }
    prices[model] = { input: p.input, output: p.output ?? 0 }
  }
  return prices
}

/** The estimated cost of one call in USD; 0 for a model without a price (and for unreported tokens). */
export function callCost (prices: PriceTable, record: Pick<LlmCallRecord, 'model' | 'promptTokens' | 'completionTokens'>): number {
  const price = prices[record.model]
  if (price === undefined) return 0
  return ((record.promptTokens ?? 0) * price.input + (record.completionTokens ?? 0) * price.output) / 1_000_000
}
