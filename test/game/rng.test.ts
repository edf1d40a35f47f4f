import { test } from 'tap'
import { createRng, isRngState, nextFloat, nextInt, nextUuid } from '../../src/game/rng.ts'

test('same seed, same sequence; state is plain JSON', async (t) => {
  const a = createRng('town')
  const b = createRng('town')
  const c = createRng('towm')
  const sa = Array.from({ length: 5 }, () => nextFloat(a))
  t.same(sa, Array.from({ length: 5 }, () => nextFloat(b)))
  t.not(sa[0], nextFloat(c))
  const saved = JSON.parse(JSON.stringify(a))
  t.ok(isRngState(saved))
  t.equal(nextFloat(saved), nextFloat(a), 'a restored state continues the sequence')
})

test('floats fill [0, 1) evenly; uuids look like v4', async (t) => {
  const rng = createRng(42)
  const buckets = new Array<number>(10).fill(0)
  let outOfRange = 0
  for (let i = 0; i < 20_000; i++) {
    const f = nextFloat(rng)
    if (!(f >= 0 && f < 1)) outOfRange++
    else buckets[Math.floor(f * 10)]++
  }
  t.equal(outOfRange, 0)
  for (const b of buckets) t.ok(b > 1800 && b < 2200, `bucket ${b}`)
  t.ok(Array.from({ length: 100 }, () => nextInt(rng, 3)).every((n) => n >= 0 && n < 3))
  t.match(nextUuid(rng), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})
