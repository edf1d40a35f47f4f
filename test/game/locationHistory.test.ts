// Per-step location history in AI Town's packed format: the hash, the byte layout, the
// change-only sampling, and the round trip within the quantisation error.
import { test } from 'tap'
import {
  LOCATION_CONFIG_HASH, LOCATION_FIELDS, LOCATION_MAX_ERROR_QUANTA, LOCATION_QUANTUM,
  createLocationRecorder, fieldConfigHash, packFieldConfig, packLocationHistory, packSampleRecord,
  recordTick, unpackLocation, unpackLocationHistory, unpackSampleRecord
} from '../../src/game/locationHistory.ts'
import type { History, LocatedPlayer, LocationField } from '../../src/game/locationHistory.ts'
import { xxHash32 } from '../../src/game/xxhash32.ts'
import { createRng, nextFloat } from '../../src/game/rng.ts'

const T0 = 1_700_000_000_000
const FIELDS: LocationField[] = ['x', 'y', 'dx', 'dy', 'speed']
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

function player (id: string, x: number, y: number, dx = 0, dy = 1, speed = 0): LocatedPlayer {
  return { id, position: { x, y }, facing: { dx, dy }, speed }
}

function valueOf (p: LocatedPlayer, field: LocationField): number {
  switch (field) {
    case 'x': return p.position.x
    case 'y': return p.position.y
    case 'dx': return p.facing.dx
    case 'dy': return p.facing.dy
    case 'speed': return p.speed
  }
}

test('xxHash32 matches the published test vectors', async (t) => {
  t.equal(xxHash32(utf8('')), 0x02cc5d05)
  t.equal(xxHash32(utf8('abc')), 0x32d153ff)
  t.equal(xxHash32(utf8(''), 1), 0x0b2cb792, 'a seed changes the hash')
  t.equal(xxHash32(utf8('Nobody inspects the spammish repetition')), 0xe2293b2f, 'several 16-byte stripes and a tail')
  t.equal(xxHash32(utf8('0123456789abcdef')), 0xc2c45b69, 'exactly one stripe')
  t.equal(xxHash32(utf8('0123456789abcdefXYZ'), 0x9747b28c), 0xcbc4d45a, 'a stripe, tail bytes and a large seed')
})

test('the header is the xxHash32 of AI Town\'s packed location field configuration', async (t) => {
  const config = packFieldConfig(LOCATION_FIELDS)
  t.same([...config], [1, 1, 0x78, 8, 1, 0x79, 8, 2, 0x64, 0x78, 8, 2, 0x64, 0x79, 8, 5, ...utf8('speed'), 16],
    'version 1, then length, name and precision of x, y, dx, dy (8) and speed (16)')
  t.equal(LOCATION_CONFIG_HASH, 0x0805f2bb)
  t.equal(fieldConfigHash([{ name: 'x', precision: 8 }]), xxHash32(Uint8Array.from([1, 1, 0x78, 8])))
  t.throws(() => packFieldConfig(Array.from({ length: 16 }, (_, i) => ({ name: `f${i}`, precision: 0 }))), /at most 15 fields/)
})

test('a hand-checked record: header, field headers, RLE only where it gives fewer integers', async (t) => {
  // x walks 2 → 4 in half-tile steps every 16 ms; speed goes 0 → 0.75 at the first tick; y and facing stay.
  const rec = createLocationRecorder([player('p:1', 2, 5)], 62)
  const xs = [2.5, 3, 3.5, 4]
  xs.forEach((x, i) => recordTick(rec, T0 + 16 * (i + 1), [player('p:1', x, 5, 0, 1, 0.75)]))
  const [entry, ...rest] = packLocationHistory(rec)
  t.equal(rest.length, 0)
  t.equal(entry!.playerId, 'p:1')
  const time = [0x10, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00] // u64le of T0 + 16 = 0x018bcfe56810
  t.same([...entry!.location], [
    0xbb, 0xf2, 0x05, 0x08, // xxHash32 of the field configuration, little-endian
    // x: field 0 with the RLE bit (0x10). Quantised [512, 640, 768, 896, 1024], deltas [512, 128 ×4]:
    // runs [512, 1, 128, 4] are 4 integers < 5.
    0x10, ...time,
    0x02, 0x00, 0x20, 0x06, // time deltas [16 ×3] as the run (16, 3): zigzag 32, 6
    0x06, 0x00, 0x80, 0x08, 0x02, 0x80, 0x02, 0x08, // zigzag 1024, 2, 256, 8 as varints
    // speed: field 4, no RLE. Quantised [0, 49152] are deltas [0, 49152]: runs would be 4 integers, not < 2.
    0x04, ...time,
    0x00, 0x00, // one sample: no time deltas
    0x04, 0x00, 0x00, 0x80, 0x80, 0x06 // zigzag 0, 98304
  ])
  const back = unpackLocation(entry!.location)
  t.same(Object.keys(back), ['x', 'speed'], 'fields that never changed are absent')
  t.same(back.x, { initialValue: 2, samples: xs.map((x, i) => ({ time: T0 + 16 * (i + 1), value: x })) })
  t.same(back.speed, { initialValue: 0, samples: [{ time: T0 + 16, value: 0.75 }] })
})

test('only changes are sampled; a change at the same time overwrites; time may not go back', async (t) => {
  const rec = createLocationRecorder([player('p:0', 1, 1)], 8)
  recordTick(rec, T0 + 16, [player('p:0', 1, 1)])
  recordTick(rec, T0 + 32, [player('p:0', 1.5, 1)])
  recordTick(rec, T0 + 32, [player('p:0', 1.75, 1)])
  recordTick(rec, T0 + 48, [player('p:0', 1.75, 1)])
  recordTick(rec, T0 + 64, [player('p:0', 1.25, 1)])
  const history = unpackLocation(packLocationHistory(rec)[0]!.location)
  t.same(history, {
    x: { initialValue: 1, samples: [{ time: T0 + 32, value: 1.75 }, { time: T0 + 64, value: 1.25 }] }
  }, 'no sample while unchanged, the later of two changes at one time wins')
  t.throws(() => recordTick(rec, T0 + 60, [player('p:0', 2, 1)]), /backwards/)
})

test('players who do not move cost no entry; a joiner starts from where it appeared', async (t) => {
  const rec = createLocationRecorder([player('p:0', 3, 3), player('p:1', 4, 4)], 62)
  for (let i = 1; i <= 62; i++) {
    const time = T0 + 16 * i
    const players = [player('p:0', 3, 3), player('p:1', 4 + 0.012 * i, 4, 1, 0, 0.75)]
    if (i >= 10) players.push(player('p:2', 8, 8))
    if (i >= 20) players.push(player('p:3', 9, 9 - (i > 30 ? 0.012 * (i - 30) : 0), 0, -1, i > 30 ? 0.75 : 0))
    recordTick(rec, time, players)
  }
  const packed = packLocationHistory(rec)
  t.same(packed.map((e) => e.playerId), ['p:1', 'p:3'], 'the one standing all step and the one who joined and stood have none')
  const [p1, p3] = unpackLocationHistory(packed)
  t.same(Object.keys(p1!.history), ['x', 'dx', 'dy', 'speed'])
  t.equal(p1!.history.x!.samples.length, 62)
  t.same(Object.keys(p3!.history), ['y', 'speed'], 'facing (0, -1) was already its facing when it appeared')
  t.equal(p3!.history.y!.initialValue, 9, 'the value before its first change')
  t.equal(p3!.history.y!.samples[0]!.time, T0 + 16 * 31)
  t.same(packLocationHistory(createLocationRecorder([], 62)), [], 'an empty world has no history')
})

/** The semantics, written plainly: per field, the initial value and one sample per change. */
function reference (start: LocatedPlayer, ticks: Array<[number, LocatedPlayer]>): Partial<Record<LocationField, History>> {
  const out: Partial<Record<LocationField, History>> = {}
  for (const field of FIELDS) {
    let current = valueOf(start, field)
    const h: History = { initialValue: current, samples: [] }
    for (const [time, p] of ticks) {
      const v = valueOf(p, field)
      if (v === current) continue
      current = v
      const last = h.samples.at(-1)
      if (last !== undefined && last.time === time) last.value = v
      else h.samples.push({ time, value: v })
    }
    if (h.samples.length > 0) out[field] = h
  }
  return out
}

test('round trip within the quantisation error, over random walks', async (t) => {
  const rng = createRng(11)
  const players = Array.from({ length: 40 }, (_, i) => player(`p:${i}`, nextFloat(rng) * 64, nextFloat(rng) * 48))
  const starts = players.map((p) => structuredClone(p))
  const ticks = new Map<string, Array<[number, LocatedPlayer]>>(players.map((p) => [p.id, []]))
  const rec = createLocationRecorder(players, 62)
  let time = T0 + 0.5
  for (let i = 0; i < 62; i++) {
    time += nextFloat(rng) < 0.05 ? 0 : 16 // now and then a repeated tick time
    for (const p of players) {
      const r = nextFloat(rng)
      if (r < 0.5) { p.position.x += 0.012; p.speed = 0.75; p.facing = { dx: 1, dy: 0 } } else if (r < 0.6) { p.position.y -= 0.012 * nextFloat(rng); p.facing = { dx: 0, dy: -1 } } else if (r < 0.65) { p.speed = 0; p.position.x = Math.round(p.position.x) } else if (r < 0.67) { p.facing = { dx: nextFloat(rng) * 2 - 1, dy: nextFloat(rng) * 2 - 1 } }
      ticks.get(p.id)!.push([time, structuredClone(p)])
    }
    recordTick(rec, time, players)
  }
  const packed = new Map(unpackLocationHistory(packLocationHistory(rec)).map((e) => [e.playerId, e.history]))
  let samples = 0
  for (const start of starts) {
    const want = reference(start, ticks.get(start.id)!)
    const got = packed.get(start.id) ?? {}
    t.same(Object.keys(got), Object.keys(want), `${start.id}: the same fields changed`)
    for (const field of Object.keys(want) as LocationField[]) {
      const quantum = 2 ** -LOCATION_FIELDS[FIELDS.indexOf(field)]!.precision
      const close = (a: number, b: number): boolean => b - a >= 0 && b - a < quantum * LOCATION_MAX_ERROR_QUANTA
      const w = want[field]!
      const g = got[field]!
      if (!close(g.initialValue, w.initialValue)) t.fail(`${start.id}.${field} initial ${g.initialValue} vs ${w.initialValue}`)
      t.equal(g.samples.length, w.samples.length, `${start.id}.${field}: one sample per change`)
      for (const [k, s] of w.samples.entries()) {
        samples++
        if (g.samples[k]!.time !== Math.floor(s.time)) t.fail(`${start.id}.${field}[${k}] time`)
        if (!close(g.samples[k]!.value, s.value)) t.fail(`${start.id}.${field}[${k}] ${g.samples[k]!.value} vs ${s.value}`)
      }
    }
  }
  t.equal(LOCATION_QUANTUM, 1 / 256)
  t.ok(samples > 1000, `checked ${samples} samples`)
})

test('packSampleRecord and unpackSampleRecord are inverses for any field configuration', async (t) => {
  const fields = [{ name: 'height', precision: 0 }, { name: 'angle', precision: 4 }]
  const record = {
    angle: { initialValue: -1.5, samples: [{ time: 10, value: -1 }, { time: 26, value: -1 }, { time: 42, value: 7.25 }] }
  }
  const bytes = packSampleRecord(fields, record)
  t.same(unpackSampleRecord(fields, bytes), record)
  t.equal(bytes[4], 1, 'field number 1, no RLE')
  t.throws(() => unpackLocation(bytes), /field configuration hash/, 'a record of other fields is refused')
  t.throws(() => unpackSampleRecord(fields, bytes.slice(0, bytes.length - 1)), /truncated/)
  t.throws(() => unpackSampleRecord(fields, Uint8Array.from([...bytes.subarray(0, 4), 0x05])), /bad field header/)
  t.same(unpackSampleRecord(fields, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer), record, 'an ArrayBuffer decodes too')
})

test('buffers grow past the expected ticks; an unpackable location costs its player the entry, not the step', async (t) => {
  const rec = createLocationRecorder([player('p:0', 0, 0), player('p:1', 0, 0)], 2)
  for (let i = 1; i <= 100; i++) recordTick(rec, T0 + i, [player('p:0', i / 100, 0), player('p:1', i === 50 ? Number.NaN : 0, 0)])
  const packed = packLocationHistory(rec)
  t.same(packed.map((e) => e.playerId), ['p:0'])
  const x = unpackLocation(packed[0]!.location).x!
  t.equal(x.samples.length, 100)
  t.equal(x.samples[99]!.value, 1)
})

test('a player walking a whole step costs far less than a sample per tick', async (t) => {
  const rec = createLocationRecorder([player('p:0', 2, 20, 1, 0, 0.75)], 62)
  for (let i = 1; i <= 62; i++) recordTick(rec, T0 + 16 * i, [player('p:0', 2 + 0.012 * i, 20, 1, 0, 0.75)])
  const [entry] = packLocationHistory(rec)
  // x's per-tick deltas are mostly equal (3/256 of a tile), so they pack as a few runs.
  t.ok(entry!.location.length < 62, `${entry!.location.length} bytes for 62 ticks`)
  t.equal(entry!.location[4], 0x10, 'x is run-length encoded')
})
