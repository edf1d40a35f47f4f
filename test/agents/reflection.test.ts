import { test } from 'tap'
import { memoriesSinceReflection, shouldReflect } from '../../src/agents/reflection.ts'

const conversation = (importance: number) => ({ importance, data: { type: 'conversation' } })
const reflection = (importance = 9) => ({ importance, data: { type: 'reflection' } })

test('reflects when importance since the last reflection sums to more than 500', async (t) => {
  t.equal(shouldReflect(Array.from({ length: 56 }, () => conversation(9))), true, '504 > 500')
  t.equal(shouldReflect([...Array.from({ length: 50 }, () => conversation(10))]), false, 'exactly 500 is not over')
  t.equal(shouldReflect([...Array.from({ length: 55 }, () => conversation(9)), conversation(5)]), false, '500 exactly')
  t.equal(shouldReflect([...Array.from({ length: 55 }, () => conversation(9)), conversation(6)]), true, '501')
  t.equal(shouldReflect([]), false)
})

test('stops counting at the newest reflection memory', async (t) => {
  const latest = [...Array.from({ length: 30 }, () => conversation(9)), reflection(), ...Array.from({ length: 60 }, () => conversation(9))]
  t.equal(memoriesSinceReflection(latest).length, 30)
  t.equal(shouldReflect(latest), false)
  t.equal(shouldReflect([reflection(), ...Array.from({ length: 99 }, () => conversation(9))]), false)
})

test('looks at the latest 100 memories only', async (t) => {
  const latest = Array.from({ length: 200 }, () => conversation(5))
  t.equal(memoriesSinceReflection(latest).length, 100)
  t.equal(shouldReflect(latest), false, '100 × 5 = 500 is not over')
  t.equal(shouldReflect(latest.map(() => conversation(6))), true)
  t.equal(shouldReflect([conversation(Number.NaN), ...Array.from({ length: 56 }, () => conversation(9))]), true, 'NaN importance counts as 0')
})
