// Each step's per-player movement history, recorded and packed byte for byte as AI Town's engine
// packs it (convex/engine/historicalObject.ts), so AI Town's own client replays it unchanged.
//
// Semantics: per player and field, `initialValue` is the value before the step's first change and a
// sample {time, value} is kept only when the value changes (a second change at the same time replaces
// the sample). Unchanged fields are absent; a player with no changes gets no entry at all.
//
// Packed record of one player:
//   u32le xxHash32 of the packed field configuration
//   per field that changed, in configuration order:
//     u8 header: field number in bits 0-3, bit 4 set when the values are run-length encoded
//     u64le time of the first sample (ms, floored)
//     u16le byte length, then signed varints of RLE(delta of the other sample times)
//     u16le byte length, then signed varints of [RLE](delta of floor(value · 2^precision)) for
//       [initialValue, ...sample values]
// Signed varints are zigzag then 7-bit groups, low first, high bit = more (FastIntegerCompression).
// RLE writes each run as (value, count); values use it only when that gives fewer integers.
import { xxHash32 } from './xxhash32.ts'

export interface FieldSpec { name: string, precision: number }
export interface Sample { time: number, value: number }
export interface History { initialValue: number, samples: Sample[] }
/** A decoded record: the history of each field that changed, by field name. */
export type SampleRecord = Record<string, History>

export type LocationField = 'x' | 'y' | 'dx' | 'dy' | 'speed'
export type LocationHistory = Partial<Record<LocationField, History>>
/** One player's packed history of a step, as stored in `worlds.historicalLocations`. */
export interface PackedLocation { playerId: string, location: Uint8Array }
/** One player's decoded history of a step. */
export interface PlayerTrack { playerId: string, history: LocationHistory }

/** AI Town's location fields (convex/aiTown/location.ts): tiles and facing in 1/256, speed in 1/65536. */
export const LOCATION_FIELDS: readonly FieldSpec[] = Object.freeze([
  { name: 'x', precision: 8 },
  { name: 'y', precision: 8 },
  { name: 'dx', precision: 8 },
  { name: 'dy', precision: 8 },
  { name: 'speed', precision: 16 }
])
/** Version byte that leads the packed field configuration (part of what the header hash covers). */
export const LOCATION_HISTORY_VERSION = 1
/** Coarsest quantum of the location fields (x, y, dx, dy). */
export const LOCATION_QUANTUM = 1 / 256
/** Values are floored to their quantum, so an unpacked value is below the truth by less than one. */
export const LOCATION_MAX_ERROR_QUANTA = 1

const FIELD_NUMBER_LIMIT = 16
const RLE_FLAG = 1 << 4
/** Zigzag maps int32 values into uint32 only for |v| < 2^30; AI Town's decoder reads no wider. */
const INT_LIMIT = 2 ** 30
const U16_LIMIT = 1 << 16

// ---- field configuration -------------------------------------------------------------

/** version u8, then per field: name length u8, UTF-8 name, precision u8. */
export function packFieldConfig (fields: readonly FieldSpec[]): Uint8Array {
  if (fields.length >= FIELD_NUMBER_LIMIT) throw new RangeError(`location history: at most ${FIELD_NUMBER_LIMIT - 1} fields`)
  const encoder = new TextEncoder()
  const parts: number[] = [LOCATION_HISTORY_VERSION]
  for (const field of fields) {
    const name = encoder.encode(field.name)
    if (name.length > 255) throw new RangeError(`location history: field name too long: ${field.name}`)
    if (!Number.isInteger(field.precision) || field.precision < 0 || field.precision > 30) {
      throw new RangeError(`location history: bad precision ${field.precision} for ${field.name}`)
    }
    parts.push(name.length, ...name, field.precision)
  }
  return Uint8Array.from(parts)
}

export function fieldConfigHash (fields: readonly FieldSpec[]): number {
  return xxHash32(packFieldConfig(fields))
}

/** 0x0805f2bb: the header of every packed location record. */
export const LOCATION_CONFIG_HASH = fieldConfigHash(LOCATION_FIELDS)

// ---- bytes ----------------------------------------------------------------------------

class PackWriter {
  bytes: Uint8Array
  length = 0
  constructor (size: number) { this.bytes = new Uint8Array(size) }

  ensure (extra: number): void {
    if (this.length + extra <= this.bytes.length) return
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra))
    next.set(this.bytes.subarray(0, this.length))
    this.bytes = next
  }

  u8 (v: number): void {
    this.ensure(1)
    this.bytes[this.length++] = v
  }

  u32 (v: number): void {
    this.ensure(4)
    const b = this.bytes
    b[this.length++] = v & 0xff
    b[this.length++] = (v >>> 8) & 0xff
    b[this.length++] = (v >>> 16) & 0xff
    b[this.length++] = (v >>> 24) & 0xff
  }

  /** Times are ms since the epoch: past 2^32, so split by arithmetic rather than BigInt. */
  u64 (v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`location history: bad sample time ${v}`)
    this.u32(v % 0x100000000)
    this.u32(Math.floor(v / 0x100000000))
  }

  /** Leaves room for a u16le length, to be filled in by `endLength`. */
  beginLength (): number {
    this.ensure(2)
    this.length += 2
    return this.length
  }

  endLength (start: number): void {
    const n = this.length - start
    if (n >= U16_LIMIT) throw new RangeError(`location history: compressed field too long (${n} bytes)`)
    this.bytes[start - 2] = n & 0xff
    this.bytes[start - 1] = n >>> 8
  }

  signed (v: number): void {
    if (!(v > -INT_LIMIT && v < INT_LIMIT)) throw new RangeError(`location history: value out of range: ${v}`)
    this.ensure(5)
    let u = ((v << 1) ^ (v >> 31)) >>> 0
    while (u >= 0x80) {
      this.bytes[this.length++] = (u & 0x7f) | 0x80
      u >>>= 7
    }
    this.bytes[this.length++] = u
  }

  /** Writes `count` integers from `ints`, as they are or as (value, count) runs. */
  integers (ints: Float64Array, count: number, runLength: boolean): void {
    if (!runLength) {
      for (let i = 0; i < count; i++) this.signed(ints[i])
      return
    }
    let i = 0
    while (i < count) {
      const v = ints[i]
      let j = i + 1
      while (j < count && ints[j] === v) j++
      this.signed(v)
      this.signed(j - i)
      i = j
    }
  }
}

function runCount (ints: Float64Array, count: number): number {
  let runs = count > 0 ? 1 : 0
  for (let i = 1; i < count; i++) if (ints[i] !== ints[i - 1]) runs++
  return runs
}

/** Working memory of one pack: the output and one integer buffer, grown as needed. */
interface Packer {
  out: PackWriter
  ints: Float64Array
}

function createPacker (): Packer {
  return { out: new PackWriter(1 << 14), ints: new Float64Array(1024) }
}

/**
 * Writes one field: samples `times[from..from+count)` / `values[from..from+count)` (count ≥ 1)
 * after `initialValue`.
 */
function writeField (
  p: Packer, fieldNumber: number, precision: number, initialValue: number,
  times: ArrayLike<number>, values: ArrayLike<number>, from: number, count: number
): void {
  if (p.ints.length < count + 1) p.ints = new Float64Array(Math.max(count + 1, p.ints.length * 2))
  const ints = p.ints
  const w = p.out

  // Values first into `ints`, to choose run-length encoding before writing the header.
  const scale = 2 ** precision
  let previous = Math.floor(initialValue * scale)
  ints[0] = previous
  for (let i = 0; i < count; i++) {
    const q = Math.floor(values[from + i] * scale)
    ints[i + 1] = q - previous
    previous = q
  }
  const useRle = 2 * runCount(ints, count + 1) < count + 1
  w.u8(fieldNumber | (useRle ? RLE_FLAG : 0))

  const firstTime = Math.floor(times[from])
  w.u64(firstTime)
  const timesStart = w.beginLength()
  // Time deltas are always run-length encoded; written run by run, without a buffer.
  let last = firstTime
  let run = 0
  let runValue = 0
  for (let i = 1; i < count; i++) {
    const time = Math.floor(times[from + i])
    const delta = time - last
    last = time
    if (run > 0 && delta === runValue) { run++; continue }
    if (run > 0) { w.signed(runValue); w.signed(run) }
    runValue = delta
    run = 1
  }
  if (run > 0) { w.signed(runValue); w.signed(run) }
  w.endLength(timesStart)

  const valuesStart = w.beginLength()
  w.integers(ints, count + 1, useRle)
  w.endLength(valuesStart)
}

/** Packs a decoded record (the inverse of `unpackSampleRecord`), e.g. for tests and conversions. */
export function packSampleRecord (fields: readonly FieldSpec[], record: SampleRecord): Uint8Array {
  const p = createPacker()
  p.out.u32(fieldConfigHash(fields))
  fields.forEach((field, n) => {
    const history = record[field.name]
    if (history === undefined || history.samples.length === 0) return
    const times = history.samples.map((s) => s.time)
    const values = history.samples.map((s) => s.value)
    writeField(p, n, field.precision, history.initialValue, times, values, 0, times.length)
  })
  return p.out.bytes.slice(0, p.out.length)
}

// ---- decoding -------------------------------------------------------------------------

class PackReader {
  offset = 0
  constructor (private readonly bytes: Uint8Array) {}

  get done (): boolean { return this.offset >= this.bytes.length }

  need (n: number): void {
    if (this.offset + n > this.bytes.length) throw new Error('location history: truncated record')
  }

  u8 (): number {
    this.need(1)
    return this.bytes[this.offset++]
  }

  u16 (): number {
    this.need(2)
    const b = this.bytes
    const v = b[this.offset] | (b[this.offset + 1] << 8)
    this.offset += 2
    return v
  }

  u32 (): number {
    this.need(4)
    const b = this.bytes
    const o = this.offset
    this.offset += 4
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
  }

  u64 (): number {
    const low = this.u32()
    const high = this.u32()
    const v = high * 0x100000000 + low
    if (!Number.isSafeInteger(v)) throw new Error('location history: sample time out of range')
    return v
  }

  /** The signed varints of the next `length` bytes. */
  signedRun (length: number): number[] {
    this.need(length)
    const end = this.offset + length
    const out: number[] = []
    while (this.offset < end) {
      let u = 0
      let shift = 0
      for (;;) {
        if (this.offset >= end || shift > 28) throw new Error('location history: bad varint')
        const b = this.bytes[this.offset++]
        u |= (b & 0x7f) << shift
        shift += 7
        if (b < 0x80) break
      }
      out.push((u >>> 1) ^ -(u & 1))
    }
    return out
  }
}

function expandRuns (pairs: number[]): number[] {
  if (pairs.length % 2 !== 0) throw new Error('location history: odd run-length data')
  const out: number[] = []
  for (let i = 0; i < pairs.length; i += 2) {
    const count = pairs[i + 1]
    if (count < 1) throw new Error('location history: bad run length')
    for (let j = 0; j < count; j++) out.push(pairs[i])
  }
  return out
}

/** Decodes one packed record; throws on another field configuration or malformed bytes. */
export function unpackSampleRecord (fields: readonly FieldSpec[], bytes: Uint8Array | ArrayBuffer): SampleRecord {
  const r = new PackReader(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))
  const expected = fieldConfigHash(fields)
  const hash = r.u32()
  if (hash !== expected) throw new Error(`location history: field configuration hash ${hash.toString(16)}, expected ${expected.toString(16)}`)
  const out: SampleRecord = {}
  while (!r.done) {
    const header = r.u8()
    const field = fields[header & 0x0f]
    if (field === undefined || (header & 0xe0) !== 0) throw new Error(`location history: bad field header ${header}`)
    const firstTime = r.u64()
    const times = [firstTime]
    let time = firstTime
    for (const delta of expandRuns(r.signedRun(r.u16()))) times.push(time += delta)
    const encoded = r.signedRun(r.u16())
    const deltas = (header & RLE_FLAG) !== 0 ? expandRuns(encoded) : encoded
    if (deltas.length !== times.length + 1) throw new Error(`location history: ${times.length} times but ${deltas.length - 1} values for ${field.name}`)
    const unit = 1 / 2 ** field.precision
    let q = deltas[0]
    const samples: Sample[] = []
    for (let i = 0; i < times.length; i++) {
      q += deltas[i + 1]
      samples.push({ time: times[i], value: q * unit })
    }
    out[field.name] = { initialValue: deltas[0] * unit, samples }
  }
  return out
}

/** Decodes one player's record; an ArrayBuffer is accepted too, as AI Town's client holds them. */
export function unpackLocation (bytes: Uint8Array | ArrayBuffer): LocationHistory {
  return unpackSampleRecord(LOCATION_FIELDS, bytes) as LocationHistory
}

/** Decodes a step's `historicalLocations`. */
export function unpackLocationHistory (entries: ReadonlyArray<{ playerId: string, location: Uint8Array | ArrayBuffer }>): PlayerTrack[] {
  return entries.map((e) => ({ playerId: e.playerId, history: unpackLocation(e.location) }))
}

// ---- recording during a step ----------------------------------------------------------

const FIELDS = 5

export interface PlayerRecording {
  playerId: string
  /** [0, 5): each field's latest value; [5, 10): its value when the step began. */
  values: Float64Array
  counts: Int32Array
  /** Samples per field the buffers hold; field k's samples start at k · capacity. */
  capacity: number
  /** Allocated at the player's first change, so a player standing still costs no buffers. */
  sampleTimes: Float64Array | null
  sampleValues: Float64Array | null
}

export interface LocationRecorder {
  /** Samples per field to allocate for a moving player: the ticks of the step. */
  capacity: number
  /** In first-seen order: the players at the start of the step, then those who joined. */
  players: Map<string, PlayerRecording>
}

export interface LocatedPlayer {
  id: string
  position: { x: number, y: number }
  facing: { dx: number, dy: number }
  speed: number
}

function startRecording (recorder: LocationRecorder, p: LocatedPlayer): void {
  const values = new Float64Array(2 * FIELDS)
  values[0] = values[5] = p.position.x
  values[1] = values[6] = p.position.y
  values[2] = values[7] = p.facing.dx
  values[3] = values[8] = p.facing.dy
  values[4] = values[9] = p.speed
  recorder.players.set(p.id, {
    playerId: p.id, values, counts: new Int32Array(FIELDS), capacity: recorder.capacity, sampleTimes: null, sampleValues: null
  })
}

/** Starts a step's recording from where the players are before its first tick. */
export function createLocationRecorder (players: readonly LocatedPlayer[], maxTicks: number): LocationRecorder {
  const recorder: LocationRecorder = { capacity: Math.max(1, maxTicks), players: new Map() }
  for (const p of players) startRecording(recorder, p)
  return recorder
}

function grow (rec: PlayerRecording): void {
  const old = rec.capacity
  const capacity = old * 2
  const times = new Float64Array(FIELDS * capacity)
  const values = new Float64Array(FIELDS * capacity)
  for (let k = 0; k < FIELDS; k++) {
    times.set(rec.sampleTimes!.subarray(k * old, k * old + rec.counts[k]), k * capacity)
    values.set(rec.sampleValues!.subarray(k * old, k * old + rec.counts[k]), k * capacity)
  }
  rec.capacity = capacity
  rec.sampleTimes = times
  rec.sampleValues = values
}

function observe (rec: PlayerRecording, k: number, value: number, time: number): void {
  if (rec.values[k] === value) return
  rec.values[k] = value
  if (rec.sampleTimes === null) {
    rec.sampleTimes = new Float64Array(FIELDS * rec.capacity)
    rec.sampleValues = new Float64Array(FIELDS * rec.capacity)
  }
  const n = rec.counts[k]
  if (n > 0) {
    const at = k * rec.capacity + n - 1
    const last = rec.sampleTimes[at]
    if (time < last) throw new RangeError(`location history: time moved backwards (${time} < ${last})`)
    if (time === last) { rec.sampleValues![at] = value; return }
  }
  if (n === rec.capacity) grow(rec)
  const at = k * rec.capacity + n
  rec.sampleTimes![at] = time
  rec.sampleValues![at] = value
  rec.counts[k] = n + 1
}

/** Records every player's location at the end of a tick; a player seen for the first time only starts its record. */
export function recordTick (recorder: LocationRecorder, time: number, players: readonly LocatedPlayer[]): void {
  for (const p of players) {
    const rec = recorder.players.get(p.id)
    if (rec === undefined) { startRecording(recorder, p); continue }
    observe(rec, 0, p.position.x, time)
    observe(rec, 1, p.position.y, time)
    observe(rec, 2, p.facing.dx, time)
    observe(rec, 3, p.facing.dy, time)
    observe(rec, 4, p.speed, time)
  }
}

/** The step's `historicalLocations`: one packed record per player whose location changed. */
export function packLocationHistory (recorder: LocationRecorder): PackedLocation[] {
  const p = createPacker()
  const out: PackedLocation[] = []
  for (const rec of recorder.players.values()) {
    if (rec.sampleTimes === null) continue
    p.out.length = 0
    p.out.u32(LOCATION_CONFIG_HASH)
    try {
      for (let k = 0; k < FIELDS; k++) {
        const count = rec.counts[k]
        if (count === 0) continue
        writeField(p, k, LOCATION_FIELDS[k].precision, rec.values[FIELDS + k], rec.sampleTimes, rec.sampleValues!, k * rec.capacity, count)
      }
    } catch (err) {
      // A non-finite or far-off location (a bug elsewhere) costs that player its glide, never the step.
      if (err instanceof RangeError) continue
      throw err
    }
    out.push({ playerId: rec.playerId, location: p.out.bytes.slice(0, p.out.length) })
  }
  return out
}
