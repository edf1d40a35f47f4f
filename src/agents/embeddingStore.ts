// The embeddings cache over the store: one document per (model, SHA-256 of the text).
import type { EmbeddingCache } from '../llm/embeddingCache.ts'
import type { Doc, Store } from '../store/types.ts'

interface CacheDoc extends Doc { model: string, textHash: string, embedding: number[] }

export function storeEmbeddingCache (store: Store): EmbeddingCache {
  const cache = store.collection<CacheDoc>('embeddingsCache')
  return {
    async get (model, hashes) {
      const found = new Map<string, Float32Array>()
      if (hashes.length === 0) return found
      for (const doc of await cache.find({ model, textHash: { $in: hashes } })) found.set(doc.textHash, Float32Array.from(doc.embedding))
      return found
    },
    async put (model, entries) {
      await cache.insertMany(entries.map((e) => ({ model, textHash: e.hash, embedding: Array.from(e.embedding) })), { ignoreDuplicates: true })
    }
  }
}
