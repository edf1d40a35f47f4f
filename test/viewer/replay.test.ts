// The viewer's movement replay and binary frame parsing, without a browser.
import t from 'tap'
import { createLocationRecorder, packLocationHistory, recordTick, recordedHistory } from '../../src/game/locationHistory.ts'
import { Replay, StateEaser, TARGET_LAG_MS } from '../../src/viewer/replay.ts'
import { parseBinaryFrame } from '../../src/viewer/connection.ts'

/** One 1000 ms step of 16 ms ticks in which player p:0 walks east at 0.75 tiles/s from x0. */
function step (number: number, from: number, x0: number): { step: number, from: number, to: number, data: Uint8Array } {
  const recorder = createLocationRecorder(64)
  let time = from
  for (let tick = 1; time + 16 <= from + 1000; tick++) {
    time = from + tick * 16
    const x = x0 + ((time - from) / 1000) * 0.75
    recordTick(recorder, time, [{ id: 'p:0', position: { x, y: 5 }, facing: { dx: 1, dy: 0 }, speed: 0.75 }])
  }
  return { step: number, from, to: time, data: packLocationHistory(recordedHistory(recorder)) }
}

t.test('replays a step by interpolating between tick samples', async (t) => {
  const replay = new Replay()
  t.equal(replay.pose('p:0'), null, 'nothing before the first step')
  replay.addStep(step(1, 10_000, 2))
  t.equal(replay.clock, 10_000, 'the clock starts at the first step')
  replay.advance(500)
  const pose = replay.pose('p:0')!
  t.ok(Math.abs(pose.x - (2 + 0.75 * (replay.clock! - 10_000) / 1000)) < 0.03, `x follows the walk (${pose.x})`)
  t.equal(pose.y, 5)
  t.equal(pose.dx, 1)
  t.equal(replay.pose('p:9'), null, 'an unknown player has no pose')
})

t.test('the clock stalls at the newest step and keeps near the target lag', async (t) => {
  const replay = new Replay()
  replay.addStep(step(1, 0, 0))
  replay.advance(5000)
  t.equal(replay.clock, step(1, 0, 0).to, 'never runs past the newest data')
  let from = step(1, 0, 0).to
  for (let n = 2; n < 30; n++) {
    const next = step(n, from, 0)
    replay.addStep(next)
    replay.advance(next.to - next.from)
    from = next.to
  }
  const lag = from - replay.clock!
  t.ok(lag > 0 && lag < TARGET_LAG_MS + 300, `plays about one step behind (${lag} ms)`)
})

t.test('skips ahead when far behind, ignores duplicates, and resets on an engine restart', async (t) => {
  const replay = new Replay()
  replay.addStep(step(1, 0, 0))
  replay.addStep(step(1, 0, 0))
  replay.addStep(step(2, 20_000, 0))
  replay.advance(16)
  t.ok(replay.clock! >= 20_000 - TARGET_LAG_MS - 100, 'jumped near the newest step')
  replay.addStep(step(1, 50_000, 3))
  t.equal(replay.clock, 50_000, 'a lower step number with a later time starts over')
  replay.addStep(step(1, 0, 0))
  t.equal(replay.clock, 50_000, 'an old duplicate is ignored')
  replay.addStep({ step: 2, from: 51_000, to: 52_000, data: new Uint8Array(0) })
  t.equal(replay.clock, 50_000, 'an empty history (a world that has not stepped yet) is skipped')
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

t.test('parses a binary locations frame', async (t) => {
  const header = Buffer.from(JSON.stringify({ type: 'value', id: 's3', version: 7, worldId: 'w', step: 4, from: 1, to: 2 }))
  const length = Buffer.alloc(4)
  length.writeUInt32BE(header.length)
  const frame = Buffer.concat([length, header, Buffer.from([1, 2, 3])])
  const { header: parsed, payload } = parseBinaryFrame(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength))
  t.same(parsed, { type: 'value', id: 's3', version: 7, worldId: 'w', step: 4, from: 1, to: 2 })
  t.same([...payload], [1, 2, 3])
})
