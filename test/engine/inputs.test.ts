import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { submitInput } from '../../src/engine/inputs.ts'

for (const target of storeTargets()) {
  test(`input numbers are gapless and unique under concurrency (${target.name})`, async (t) => {
    const { store, reopen } = await target.fresh(t)
    const other = await reopen()
    // Two store instances stand in for two server instances submitting to the same engine.
    const submitted = await Promise.all(Array.from({ length: 40 }, async (_, i) =>
      await submitInput(i % 2 === 0 ? store : other, 'engine-1', 'moveTo', { i })))
    const numbers = submitted.map((d) => d.number).sort((a, b) => a - b)
    t.same(numbers, Array.from({ length: 40 }, (_, i) => i + 1))
    t.equal(await store.collection('inputs').count({ engineId: 'engine-1' }), 40, 'each input persisted once')
    const again = await submitInput(store, 'engine-2', 'join', {})
    t.equal(again.number, 1, 'each engine numbers its own inputs')
  })
}
