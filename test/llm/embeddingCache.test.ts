import { test } from 'tap'
import { createLlmClient } from '../../src/llm/client.ts'
import { embedWithCache, embeddingCacheModel, layeredEmbeddingCache, memoryEmbeddingCache, textHash, type EmbeddingCache } from '../../src/llm/embeddingCache.ts'
import { createOfflineClient } from '../../src/llm/offline.ts'
import type { ProviderEndpoint } from '../../src/llm/types.ts'
import { startFakeProvider, vectorOf } from '../helpers/fakeProvider.ts'

const DIM = 4

async function provider (t: { teardown: (fn: () => unknown) => void }, dimension = DIM) {
  const fake = await startFakeProvider((r) => ({
    json: { data: (r.body.input as string[]).map((text, index) => ({ index, embedding: vectorOf(dimension, text.length) })) }
  }))
  t.teardown(fake.close)
  const endpoint: ProviderEndpoint = { kind: 'custom', name: 'acme', baseUrl: fake.url, model: 'embed-small' }
  const client = createLlmClient({ chat: endpoint, embedding: { ...endpoint, dimension: DIM }, maxRetries: 0 })
  return { fake, client }
}

test('text hashes are SHA-256 hex', async (t) => {
  t.equal(textHash('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

test('cache hits skip the provider; only misses are embedded, each distinct text once', async (t) => {
  const { fake, client } = await provider(t)
  const cache = memoryEmbeddingCache()
  const first = await embedWithCache(client, cache, ['a', 'bb', 'a'])
  t.equal(first.length, 3)
  t.same([...first[0]], [...first[2]])
  t.equal(fake.requests.length, 1)
  t.same(fake.requests[0].body.input, ['a', 'bb'], 'duplicates embedded once')
  t.equal(cache.size(), 2)

  const second = await embedWithCache(client, cache, ['bb', 'ccc', 'a'])
  t.equal(fake.requests.length, 2)
  t.same(fake.requests[1].body.input, ['ccc'], 'only the miss goes to the provider')
  t.same([...second[0]], [...first[1]])

  await embedWithCache(client, cache, ['a', 'bb', 'ccc'])
  t.equal(fake.requests.length, 2, 'all hits: no provider call')
  t.same(await embedWithCache(client, cache, []), [])
})

test('the cache key carries model and dimension', async (t) => {
  const { client } = await provider(t)
  t.equal(embeddingCacheModel(client), 'embed-small#4')
  const cache = memoryEmbeddingCache()
  await cache.put('embed-small#4', [{ hash: textHash('x'), embedding: new Float32Array([9, 9, 9, 9]) }])
  await cache.put('other-model#4', [{ hash: textHash('y'), embedding: new Float32Array([7, 7, 7, 7]) }])
  const [x, y] = await embedWithCache(client, cache, ['x', 'y'])
  t.same([...x], [9, 9, 9, 9], 'hit for this model')
  t.not(y[0], 7, 'another model\'s vector is not reused')
})

test('a cached vector of the wrong dimension is a miss and gets replaced', async (t) => {
  const { fake, client } = await provider(t)
  const cache = memoryEmbeddingCache()
  await cache.put(embeddingCacheModel(client), [{ hash: textHash('x'), embedding: new Float32Array(3) }])
  const [x] = await embedWithCache(client, cache, ['x'])
  t.equal(x.length, DIM)
  t.equal(fake.requests.length, 1)
})

test('wrong dimensions from the provider are rejected before caching', async (t) => {
  const { client } = await provider(t, DIM + 1)
  const cache = memoryEmbeddingCache()
  await t.rejects(embedWithCache(client, cache, ['x', 'y']), { code: 'TOWNHALL_ERR_LLM_DIMENSION' })
  t.equal(cache.size(), 0)

  // a client that does not check (a buggy port implementation) is caught here too
  const offline = createOfflineClient({ dimension: DIM })
  const lying = { ...offline, embed: async (texts: string[]) => texts.map(() => new Float32Array(DIM + 2)) }
  await t.rejects(embedWithCache(lying, cache, ['z']), { code: 'TOWNHALL_ERR_LLM_DIMENSION' })
  t.equal(cache.size(), 0)
})

test('the in-process layer answers repeated texts without asking the shared cache, and keeps at most its size', async (t) => {
  const { fake, client } = await provider(t)
  const shared = memoryEmbeddingCache()
  const asked: string[][] = []
  const counting: EmbeddingCache = {
    async get (model, hashes) { asked.push(hashes); return await shared.get(model, hashes) },
    put: shared.put
  }
  const cache = layeredEmbeddingCache(counting, 2)
  const [a] = await embedWithCache(client, cache, ['a'])
  t.equal(shared.size(), 1, 'what is embedded goes to the shared cache')
  t.equal(asked.length, 1)
  const [again] = await embedWithCache(client, cache, ['a'])
  t.same([...again], [...a])
  t.equal(asked.length, 1, 'a repeat is answered in process')
  await embedWithCache(client, cache, ['bb', 'ccc'])
  t.same(asked[1], [textHash('bb'), textHash('ccc')], 'only what the layer lacks is asked for')
  // Two entries at most: 'a' was the least recently used, so it went.
  await embedWithCache(client, cache, ['a'])
  t.same(asked[2], [textHash('a')], 'the oldest entry was dropped')
  t.equal(fake.requests.length, 2, 'the shared cache still had it: the provider was not asked again')

  // Another instance's layer starts empty and finds what this one stored in the shared cache.
  const other = layeredEmbeddingCache(counting, 2)
  const [fromShared] = await embedWithCache(client, other, ['ccc'])
  t.equal(fake.requests.length, 2)
  t.equal(fromShared.length, DIM)
})
