// The usage ledger on a real store: hourly buckets per world, agent and model, costs from the price table.
import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { HOUR_MS, UsageLedger, usageReport, type UsageDoc } from '../../src/llm/usage.ts'
import { callCost, parsePrices } from '../../src/llm/cost.ts'
import type { LlmCallRecord } from '../../src/llm/types.ts'

const prices = parsePrices('{"chat-m": {"input": 3, "output": 15}, "embed-m": {"input": 0.1}}')
const chat = (worldId: string, agentId: string, extra: Partial<LlmCallRecord> = {}): LlmCallRecord => ({
  operation: 'chat', provider: 'p', model: 'chat-m', ok: true, latencyMs: 10, attempts: 1, promptTokens: 1000, completionTokens: 100, attribution: { worldId, agentId, playerId: `p-${agentId}` }, ...extra
})

test('callCost: tokens times USD per million, zero for unknown models and missing tokens', async (t) => {
  t.equal(callCost(prices, { model: 'chat-m', promptTokens: 1000, completionTokens: 100 }), (1000 * 3 + 100 * 15) / 1e6)
  t.equal(callCost(prices, { model: 'embed-m', promptTokens: 500 }), 500 * 0.1 / 1e6)
  t.equal(callCost(prices, { model: 'nobody-knows', promptTokens: 1e6 }), 0)
  t.equal(callCost(prices, { model: 'offline' }), 0)
})

for (const target of storeTargets()) {
  test(`${target.name}: calls are summed per world, agent and hour; unattributed calls are not stored`, async (t) => {
    const { store } = await target.fresh(t)
    let now = Date.UTC(2025, 0, 1, 10, 30)
    const ledger = new UsageLedger({ store, prices, now: () => now, log: { warn: () => {} } })
    ledger.record(chat('w1', 'a1'))
    ledger.record(chat('w1', 'a1'))
    ledger.record(chat('w1', 'a2', { ok: false, promptTokens: undefined, completionTokens: undefined }))
    ledger.record(chat('w2', 'a1'))
    ledger.record({ ...chat('w1', 'a1'), attribution: undefined })
    await ledger.flush()
    now += HOUR_MS
    ledger.record(chat('w1', 'a1', { operation: 'embed', model: 'embed-m', promptTokens: 2000, completionTokens: undefined }))
    await ledger.flush()

    t.equal(await store.collection('llmUsage').count(), 4)
    const report = await usageReport(store, 'w1', now)
    const perCall = (1000 * 3 + 100 * 15) / 1e6
    t.match(report.total, { calls: 4, errors: 1, promptTokens: 4000, completionTokens: 200, tokens: 4200 })
    t.ok(Math.abs(report.total.costUsd - (2 * perCall + 2000 * 0.1 / 1e6)) < 1e-12)
    t.same(report.hours.map((h) => [h.hour, h.calls]), [[Date.UTC(2025, 0, 1, 10), 3], [Date.UTC(2025, 0, 1, 11), 1]])
    t.ok(Math.abs(report.hours[0]!.costUsd - 2 * perCall) < 1e-12, 'the first hour holds the two chats')
    t.same(report.agents.map((a) => [a.agentId, a.playerId, a.calls, a.errors]), [['a1', 'p-a1', 3, 0], ['a2', 'p-a2', 1, 1]])
    t.same(report.models.map((m) => m.model).sort(), ['chat-m', 'embed-m'])

    // 24 hours later the first hour has left the window.
    const later = await usageReport(store, 'w1', Date.UTC(2025, 0, 2, 10, 5))
    t.same(later.hours.map((h) => h.hour), [Date.UTC(2025, 0, 1, 11)])
    const docs = await store.collection<UsageDoc>('llmUsage').find({ worldId: 'w2' })
    t.match(docs, [{ worldId: 'w2', agentId: 'a1', hour: Date.UTC(2025, 0, 1, 10), calls: 1, promptTokens: 1000 }])
  })

  test(`${target.name}: a burst of calls from two ledgers (two instances) loses nothing`, async (t) => {
    const { store } = await target.fresh(t)
    const now = (): number => Date.UTC(2025, 0, 1, 12)
    const a = new UsageLedger({ store, prices, now, log: { warn: () => {} } })
    const b = new UsageLedger({ store, prices, now, log: { warn: () => {} } })
    for (let i = 0; i < 50; i++) { a.record(chat('w', 'x')); b.record(chat('w', 'x')) }
    await Promise.all([a.flush(), b.flush()])
    for (let i = 0; i < 10; i++) { a.record(chat('w', 'x')); b.record(chat('w', 'x')) }
    await Promise.all([a.close(), b.close()])
    a.record(chat('w', 'x'))
    t.match((await usageReport(store, 'w', now())).total, { calls: 120, promptTokens: 120_000 })
  })
}

test('keep: usage of a world that is gone is dropped; when keep fails, all of it is stored', async (t) => {
  const [target] = storeTargets()
  const { store } = await target!.fresh(t)
  const now = (): number => Date.UTC(2025, 0, 1, 12)
  const warnings: string[] = []
  const gone = new UsageLedger({ store, prices, now, log: { warn: (_o, msg) => { warnings.push(msg) } }, keep: async (ids) => new Set(ids.filter((id) => id !== 'deleted')) })
  gone.record(chat('deleted', 'a'))
  gone.record(chat('alive', 'a'))
  await gone.close()
  t.same((await store.collection<UsageDoc>('llmUsage').find({})).map((d) => d.worldId), ['alive'])
  const failing = new UsageLedger({ store, prices, now, log: { warn: (_o, msg) => { warnings.push(msg) } }, keep: async () => { throw new Error('store down') } })
  failing.record(chat('deleted', 'a'))
  await failing.close()
  t.same((await store.collection<UsageDoc>('llmUsage').find({})).map((d) => d.worldId).sort(), ['alive', 'deleted'])
  t.match(warnings, [/could not read which worlds exist/])
})
