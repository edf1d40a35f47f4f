import { test } from 'tap'
import { memoriesToTouch, rankMemories, recency } from '../../src/agents/memoryRanking.ts'

const HOUR = 3_600_000
const now = 1_000 * HOUR

test('recency decays by 0.99 per hour since last access', async (t) => {
  t.equal(recency(now, now), 1)
  t.ok(Math.abs(recency(now - 10 * HOUR, now) - 0.99 ** 10) < 1e-12)
  t.equal(recency(now + HOUR, now), 1, 'a future lastAccess counts as now')
})

test('ranks by the equal-weight sum of normalised relevance, importance and recency', async (t) => {
  const candidates = [
    { id: 'relevant', relevance: 0.9, importance: 1, lastAccess: now - 100 * HOUR },
    { id: 'important', relevance: 0.2, importance: 9, lastAccess: now - 100 * HOUR },
    { id: 'recent', relevance: 0.2, importance: 1, lastAccess: now },
    { id: 'all-round', relevance: 0.8, importance: 8, lastAccess: now - HOUR },
    { id: 'weak', relevance: 0.1, importance: 0, lastAccess: now - 200 * HOUR }
  ]
  const ranked = rankMemories(candidates, now)
  t.equal(ranked.length, 3)
  t.equal(ranked[0].id, 'all-round')
  t.notOk(ranked.some((r) => r.id === 'weak'))
  for (const r of ranked) {
    t.ok(r.score >= 0 && r.score <= 3)
    t.equal(r.score, r.relevanceScore + r.importanceScore + r.recencyScore)
  }
  t.equal(rankMemories(candidates, now, 10).length, 5)
  t.same(rankMemories(candidates, now, 0), [])
  t.same(rankMemories([], now), [])
})

test('all-equal scores give no NaN and keep the search order', async (t) => {
  const same = ['a', 'b', 'c', 'd'].map((id) => ({ id, relevance: 0.5, importance: 5, lastAccess: now - HOUR }))
  const ranked = rankMemories(same, now)
  t.same(ranked.map((r) => r.id), ['a', 'b', 'c'])
  for (const r of ranked) {
    t.notOk(Number.isNaN(r.score))
    t.equal(r.score, 0)
  }
  const one = rankMemories([{ id: 'only', relevance: 0.3, importance: 2, lastAccess: now }], now)
  t.equal(one[0].score, 0)
  const partly = rankMemories([
    { id: 'x', relevance: 0.5, importance: 2, lastAccess: now },
    { id: 'y', relevance: 0.5, importance: 7, lastAccess: now }
  ], now)
  t.same(partly.map((r) => [r.id, r.score]), [['y', 1], ['x', 0]], 'only the differing component decides')
  const broken = rankMemories([{ id: 'n', relevance: Number.NaN, importance: 3, lastAccess: now }, { id: 'm', relevance: 0.4, importance: 3, lastAccess: now }], now)
  t.ok(broken.every((r) => Number.isFinite(r.score)))
})

test('extra candidate fields come through', async (t) => {
  const [top] = rankMemories([{ id: 'a', relevance: 1, importance: 1, lastAccess: now, description: 'kept' }], now)
  t.equal(top.description, 'kept')
})

test('lastAccess is refreshed at most once per 5 minutes', async (t) => {
  const winners = [
    { id: 'fresh', lastAccess: now - 60_000 },
    { id: 'edge', lastAccess: now - 5 * 60_000 },
    { id: 'stale', lastAccess: now - HOUR }
  ]
  t.same(memoriesToTouch(winners, now), ['edge', 'stale'])
  t.same(memoriesToTouch(winners, now, 30_000), ['fresh', 'edge', 'stale'])
})
