import { createHash } from 'node:crypto'
import { LlmError } from './errors.ts'
import type { CallOptions, LlmClient } from './types.ts'

/** Where cached embeddings live; keyed on (model, SHA-256 hex of the text). The store implements it. */
export interface EmbeddingCache {
  get(model: string, hashes: string[]): Promise<Map<string, Float32Array>>
  put(model: string, entries: Array<{ hash: string, embedding: Float32Array }>): Promise<void>
}

export function textHash (text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/**
 * The cache's model key: the embedding provider's model plus the dimension, so a model or
 * dimension change never returns vectors of another size.
 */
export function embeddingCacheModel (client: LlmClient): string {
  const { embedding } = client.info
  return `${embedding.model}#${embedding.dimension}`
}

/**
 * Embeds texts, asking the provider only for texts not in the cache (each distinct text once).
 * Vectors of the wrong dimension are rejected before they are cached; cached ones of the wrong
 * dimension count as misses.
 */
export async function embedWithCache (client: LlmClient, cache: EmbeddingCache, texts: string[], options: CallOptions = {}): Promise<Float32Array[]> {
  if (texts.length === 0) return []
  const model = embeddingCacheModel(client)
  const dimension = client.dimension
  const hashes = texts.map(textHash)
  const unique = [...new Set(hashes)]
  const cached = await cache.get(model, unique)
  const found = new Map<string, Float32Array>()
  for (const hash of unique) {
    const vector = cached.get(hash)
    if (vector !== undefined && vector.length === dimension) found.set(hash, vector)
  }
  const missing = unique.filter((hash) => !found.has(hash))
  if (missing.length > 0) {
    const missTexts = missing.map((hash) => texts[hashes.indexOf(hash)])
    const vectors = await client.embed(missTexts, options)
    if (vectors.length !== missing.length) {
      throw new LlmError('TOWNHALL_ERR_LLM_BAD_RESPONSE', `${client.info.embedding.provider} ${client.info.embedding.model}: asked for ${missing.length} embeddings, got ${vectors.length}`)
    }
    const entries = missing.map((hash, i) => {
      const embedding = vectors[i]
      if (embedding.length !== dimension) {
        throw new LlmError('TOWNHALL_ERR_LLM_DIMENSION',
          `${client.info.embedding.provider} ${client.info.embedding.model}: returned a ${embedding.length}-dimensional embedding but EMBEDDING_DIMENSION is ${dimension}`,
          { provider: client.info.embedding.provider, model: client.info.embedding.model })
      }
      return { hash, embedding }
    })
    await cache.put(model, entries)
    for (const { hash, embedding } of entries) found.set(hash, embedding)
  }
  return hashes.map((hash) => found.get(hash)!)
}

/** The key of an embedding in an in-process map: the model and the text's hash. */
function keyOf (model: string, hash: string): string {
  return `${model}\u0000${hash}`
}

/** An in-memory cache, for tests and the offline provider. */
export function memoryEmbeddingCache (): EmbeddingCache & { size: () => number } {
  const entries = new Map<string, Float32Array>()
  return {
    async get (model, hashes) {
      const out = new Map<string, Float32Array>()
      for (const hash of hashes) {
        const vector = entries.get(keyOf(model, hash))
        if (vector !== undefined) out.set(hash, vector)
      }
      return out
    },
    async put (model, list) {
      for (const { hash, embedding } of list) entries.set(keyOf(model, hash), embedding)
    },
    size: () => entries.size
  }
}

/**
 * A bounded in-process layer over a shared cache: the texts an instance embeds again and again (the memory
 * search asks "What do you think about NAME?" before each line an agent says) are answered without a round trip
 * to the store. Least recently used entries go first; vectors are shared, so callers must not change them (none
 * does: the store and the indexes copy what they keep).
 */
export function layeredEmbeddingCache (shared: EmbeddingCache, maxEntries: number): EmbeddingCache {
  const local = new Map<string, Float32Array>()
  const remember = (key: string, vector: Float32Array): void => {
    local.delete(key)
    local.set(key, vector)
    if (local.size > maxEntries) local.delete(local.keys().next().value!)
  }
  return {
    async get (model, hashes) {
      const out = new Map<string, Float32Array>()
      const missing: string[] = []
      for (const hash of hashes) {
        const key = keyOf(model, hash)
        const vector = local.get(key)
        if (vector === undefined) missing.push(hash)
        else {
          remember(key, vector)
          out.set(hash, vector)
        }
      }
      if (missing.length === 0) return out
      for (const [hash, vector] of await shared.get(model, missing)) {
        remember(keyOf(model, hash), vector)
        out.set(hash, vector)
      }
      return out
    },
    async put (model, entries) {
      await shared.put(model, entries)
      for (const { hash, embedding } of entries) remember(keyOf(model, hash), embedding)
    }
  }
}
