// The viewer's movement replay over AI Town's packed per-player histories, without a browser.
import t from 'tap'
import { createLocationRecorder, packLocationHistory, recordTick } from '../../src/game/locationHistory.ts'
import type { PackedLocation } from '../../src/game/locationHistory.ts'
import { MAX_GLIDE_GAP_MS, Replay, StateEaser, TARGET_LAG_MS, valueAt } from '../../src/viewer/replay.ts'

interface Step { from: number, to: number, entries: PackedLocation[] }

/** One 1000 ms step of 16 ms ticks in which p:0 walks east at 0.75 tiles/s from x0 and p:1 stands at (9, 9). */
function step (from: number, x0: number): Step {
  const at = (x: number): Array<{ id: string, position: { x: number, y: number }, facing: { dx: number, dy: number }, speed: number }> => [
    { id: 'p:0', position: { x, y: 5 }, facing: { dx: 1, dy: 0 }, speed: 0.75 },
    { id: 'p:1', position: { x: 9, y: 9 }, facing: { dx: 0, dy: 1 }, speed: 0 }
  ]
  const recorder = createLocationRecorder(at(x0), 64)
  let time = from
  for (let tick = 1; time + 16 <= from + 1000; tick++) {
    time = from + tick * 16
    recordTick(recorder, time, at(x0 + ((time - from) / 1000) * 0.75))
  }
  return { from, to: time, entries: packLocationHistory(recorder) }
}

function add (replay: Replay, s: Step): void {
  replay.addStep(s.from, s.to, s.entries)
}

t.test('replays a step, gliding between tick samples', async (t) => {
  const replay = new Replay()
  t.equal(replay.pose('p:0'), null, 'nothing before the first step')
  add(replay, step(10_000, 2))
  t.equal(replay.clock, 10_000, 'the clock starts at the first step')
  t.same(replay.pose('p:0', { x: 99, y: 5, dx: 1, dy: 0 }), { x: 2, y: 5, dx: 1, dy: 0 }, 'at the start: the initial values, y and facing from the world state')
  replay.advance(500)
  const pose = replay.pose('p:0', { x: 99, y: 5, dx: 1, dy: 0 })!
  const truth = 2 + 0.75 * (replay.clock! - 10_000) / 1000
  t.ok(Math.abs(pose.x - truth) < 2 / 256, `x follows the walk (${pose.x} vs ${truth})`)
  t.equal(pose.y, 5, 'y never changed: taken from the world state')
  t.equal(replay.pose('p:0'), null, 'without the world state, an unchanged field is unknown')
  t.equal(replay.pose('p:1', { x: 9, y: 9, dx: 0, dy: 1 }), null, 'a player who stood still has no history: the caller uses the world state')
  t.equal(replay.pose('p:9'), null, 'an unknown player has no pose')
})

t.test('the last sample of a step holds into the next, where a player stopped', async (t) => {
  const replay = new Replay()
  const walk = step(0, 0)
  add(replay, walk)
  // In the next step nobody moves: it has no entries at all.
  replay.addStep(walk.to, walk.to + 992, [])
  replay.clock = walk.to + 500
  const pose = replay.pose('p:0', { x: 0.7, y: 5, dx: 1, dy: 0 })!
  t.ok(Math.abs(pose.x - 0.744) < 1 / 256, `stays where the walk ended (${pose.x})`)
})

t.test('valueAt: step semantics, gliding only across short gaps', async (t) => {
  const h = { initialValue: 1, samples: [{ time: 100, value: 2 }, { time: 116, value: 3 }, { time: 1000, value: 10 }] }
  t.equal(valueAt([h], 50, true), 1, 'before the first sample: the initial value')
  t.equal(valueAt([h], 100, true), 2)
  t.equal(valueAt([h], 108, true), 2.5, 'between ticks: linear')
  t.equal(valueAt([h], 108, false), 2, 'without glide: the sample at or before')
  t.equal(valueAt([h], 500, true), 3, `a gap over ${MAX_GLIDE_GAP_MS} ms is a jump, not a glide`)
  t.equal(valueAt([h], 5000, true), 10, 'the last sample holds')
  const next = { initialValue: 10, samples: [{ time: 1016, value: 11 }] }
  t.equal(valueAt([h, undefined, next], 1008, true), 10.5, 'across steps, skipping one without the field')
  t.equal(valueAt([undefined, undefined], 5, true), undefined)
})

t.test('the clock stalls at the newest step and keeps near the target lag', async (t) => {
  const replay = new Replay()
  add(replay, step(0, 0))
  replay.advance(5000)
  t.equal(replay.clock, step(0, 0).to, 'never runs past the newest data')
  let from = step(0, 0).to
  for (let n = 2; n < 30; n++) {
    const next = step(from, 0)
    add(replay, next)
    replay.advance(next.to - next.from)
    from = next.to
  }
  const lag = from - replay.clock!
  t.ok(lag > 0 && lag < TARGET_LAG_MS + 300, `plays about one step behind (${lag} ms)`)
})

t.test('skips ahead when far behind, ignores repeats and unstepped worlds, starts over on reset', async (t) => {
  const replay = new Replay()
  add(replay, step(0, 0))
  add(replay, step(0, 0))
  add(replay, step(20_000, 0))
  replay.advance(16)
  t.ok(replay.clock! >= 20_000 - TARGET_LAG_MS - 100, 'jumped near the newest step')
  const clock = replay.clock
  add(replay, step(5_000, 3))
  t.equal(replay.clock, clock, 'an older step is ignored')
  replay.reset()
  t.equal(replay.hasHistory, false)
  replay.addStep(50_000, 50_000, [])
  replay.addStep(50_000, 51_000, undefined)
  t.equal(replay.hasHistory, false, 'a world that has not stepped yet adds nothing')
  add(replay, step(50_000, 3))
  t.equal(replay.clock, 50_000, 'after a reset the clock starts at the next step')
  t.throws(() => replay.addStep(51_000, 52_000, [{ playerId: 'p:0', location: new Uint8Array([1, 2, 3, 4]) }]), /location history/)
  t.equal(replay.clock, 50_000, 'a malformed record adds nothing')
})

t.test('without history, world-state positions are eased over a step', async (t) => {
  const easer = new StateEaser()
  easer.update([{ id: 'p:0', position: { x: 0, y: 0 }, facing: { dx: 0, dy: 1 } }], 0)
  easer.update([{ id: 'p:0', position: { x: 2, y: 0 }, facing: { dx: 1, dy: 0 } }], 100)
  t.same(easer.pose('p:0', 600), { x: 1, y: 0, dx: 1, dy: 0 })
  t.same(easer.pose('p:0', 5000), { x: 2, y: 0, dx: 1, dy: 0 })
  easer.update([], 6000)
  t.equal(easer.pose('p:0', 6000), null, 'a player who left is forgotten')
})
