import { test } from 'tap'
import {
  ATLAS_DEFAULTS,
  cosineFromVectorSearchScore,
  sameDefinition,
  vectorSearchIndexDefinition,
  vectorSearchPipeline
} from '../../src/vector/atlas.ts'

test('the search index definition indexes embedding by cosine and filters on worldId and playerId', async (t) => {
  t.same(vectorSearchIndexDefinition(1024), {
    name: ATLAS_DEFAULTS.indexName,
    type: 'vectorSearch',
    definition: {
      fields: [
        { type: 'vector', path: 'embedding', numDimensions: 1024, similarity: 'cosine' },
        { type: 'filter', path: 'worldId' },
        { type: 'filter', path: 'playerId' }
      ]
    }
  })
  t.equal(vectorSearchIndexDefinition(768, 'custom').name, 'custom')
})

test('the pipeline searches one player of one world with numCandidates = k x overfetch', async (t) => {
  const query = Float32Array.from([0.5, -0.25, 1])
  const pipeline = vectorSearchPipeline({ worldId: 'w:1', playerId: 'p:1', query, k: 30 })
  t.same(pipeline, [
    {
      $vectorSearch: {
        index: ATLAS_DEFAULTS.indexName,
        path: 'embedding',
        queryVector: [0.5, -0.25, 1],
        numCandidates: 300,
        limit: 30,
        filter: { worldId: { $eq: 'w:1' }, playerId: { $eq: 'p:1' } }
      }
    },
    { $project: { _id: 1, score: { $meta: 'vectorSearchScore' } } }
  ])
  t.ok(Array.isArray(pipeline[0].$vectorSearch.queryVector), 'the driver needs a plain array, not a Float32Array')
})

test('numCandidates stays within Atlas limits', async (t) => {
  const query = [1, 0]
  t.equal(vectorSearchPipeline({ worldId: 'w:1', playerId: 'p', query, k: 3, overfetch: 20 }).at(0)?.$vectorSearch.numCandidates, 60)
  t.equal(vectorSearchPipeline({ worldId: 'w:1', playerId: 'p', query, k: 2000 }).at(0)?.$vectorSearch.numCandidates, 10_000)
  t.equal(vectorSearchPipeline({ worldId: 'w:1', playerId: 'p', query, k: 5, overfetch: 0 }).at(0)?.$vectorSearch.numCandidates, 5)
})

test('vectorSearchScore converts back to cosine similarity', async (t) => {
  t.equal(cosineFromVectorSearchScore(1), 1)
  t.equal(cosineFromVectorSearchScore(0.5), 0)
  t.equal(cosineFromVectorSearchScore(0), -1)
})

test('an existing index is recognised only with the same dimension and filter', async (t) => {
  const wanted = vectorSearchIndexDefinition(1024)
  t.ok(sameDefinition({ name: wanted.name, status: 'READY', latestDefinition: wanted.definition }, wanted))
  t.notOk(sameDefinition({ latestDefinition: vectorSearchIndexDefinition(1536).definition }, wanted))
  t.notOk(sameDefinition({ latestDefinition: { fields: [wanted.definition.fields[0]] } }, wanted))
  t.notOk(sameDefinition(undefined, wanted))
  const beforeWorlds = { fields: [wanted.definition.fields[0], { type: 'filter', path: 'playerId' }] }
  t.notOk(sameDefinition({ latestDefinition: beforeWorlds }, wanted), 'an index filtering by playerId alone (before worlds) is updated')
})
