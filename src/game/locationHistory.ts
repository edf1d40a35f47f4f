// Per-tick location samples of every player, packed into bytes for clients to replay
// movement between steps. Each channel (x, y, dx, dy, speed) is quantised and then
// encoded as runs of straight lines: a run stores its start (as a delta from where the
// previous run ended), a slope and a length, all as zigzag varints. A player standing
// still or walking a straight line costs one run per channel.
//
// Layout: version(1) | ticks | firstTickTime | tick-time deltas... | players |
//   per player: id (length + UTF-8) | firstTick | count | 5 channels of runs.

export const LOCATION_HISTORY_VERSION = 1
/** Quantum of each channel: 1/100 of a tile, of a unit facing vector, of a tile per second. */
export const LOCATION_QUANTUM = 0.01
/** Largest error of an unpacked sample, in quanta (rounding plus line fitting). */
export const LOCATION_MAX_ERROR_QUANTA = 2
const FIT_TOLERANCE = 1
const SLOPE_SCALE = 1024

export const CHANNELS = ['x', 'y', 'dx', 'dy', 'speed'] as const
export type Channel = typeof CHANNELS[number]

export interface PlayerTrack {
  playerId: string
  /** Index into `tickTimes` of this player's first sample. */
  firstTick: number
  x: ArrayLike<number>
  y: ArrayLike<number>
  dx: ArrayLike<number>
  dy: ArrayLike<number>
  speed: ArrayLike<number>
}

export interface LocationHistory {
  tickTimes: ArrayLike<number>
  players: PlayerTrack[]
}

// ---- recording during a step ----------------------------------------------------------

interface Recording {
  playerId: string
  firstTick: number
  count: number
  /** Channel-major: x[0..cap), y[0..cap), dx…, dy…, speed…. */
  samples: Float64Array
}

export interface LocationRecorder {
  /** Ticks the step can hold at most (sizes each player's buffer once). */
  capacity: number
  tickTimes: number[]
  recordings: Map<string, Recording>
}

export function createLocationRecorder (capacity: number): LocationRecorder {
  return { capacity: Math.max(1, capacity), tickTimes: [], recordings: new Map() }
}

export function recordTick (
  recorder: LocationRecorder, time: number,
  players: ReadonlyArray<{ id: string, position: { x: number, y: number }, facing: { dx: number, dy: number }, speed: number }>
): void {
  const tick = recorder.tickTimes.length
  if (tick >= recorder.capacity) throw new RangeError('location history: more ticks than the recorder was sized for')
  recorder.tickTimes.push(time)
  const cap = recorder.capacity
  for (const p of players) {
    let rec = recorder.recordings.get(p.id)
    if (rec === undefined || rec.firstTick + rec.count !== tick) {
      // New player, or (never with fresh ids) one that vanished and came back: start over.
      rec = { playerId: p.id, firstTick: tick, count: 0, samples: new Float64Array(cap * 5) }
      recorder.recordings.set(p.id, rec)
    }
    const i = rec.count++
    const s = rec.samples
    s[i] = p.position.x
    s[cap + i] = p.position.y
    s[2 * cap + i] = p.facing.dx
    s[3 * cap + i] = p.facing.dy
    s[4 * cap + i] = p.speed
  }
}

export function recordedHistory (recorder: LocationRecorder): LocationHistory {
  const cap = recorder.capacity
  const players: PlayerTrack[] = []
  for (const rec of recorder.recordings.values()) {
    const channel = (k: number): Float64Array => rec.samples.subarray(k * cap, k * cap + rec.count)
    players.push({ playerId: rec.playerId, firstTick: rec.firstTick, x: channel(0), y: channel(1), dx: channel(2), dy: channel(3), speed: channel(4) })
  }
  return { tickTimes: recorder.tickTimes, players }
}

// ---- bytes ----------------------------------------------------------------------------

class ByteWriter {
  bytes = new Uint8Array(1024)
  length = 0
  private grow (extra: number): void {
    if (this.length + extra <= this.bytes.length) return
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra))
    next.set(this.bytes.subarray(0, this.length))
    this.bytes = next
  }

  /** Unsigned varint; arithmetic rather than bit ops so values above 2^32 (timestamps) work. */
  varint (value: number): void {
    this.grow(8)
    let v = value
    while (v >= 0x80) {
      this.bytes[this.length++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.bytes[this.length++] = v
  }

  zigzag (value: number): void {
    this.varint(value >= 0 ? value * 2 : -value * 2 - 1)
  }

  raw (data: Uint8Array): void {
    this.grow(data.length)
    this.bytes.set(data, this.length)
    this.length += data.length
  }

  finish (): Uint8Array {
    return this.bytes.slice(0, this.length)
  }
}

class ByteReader {
  offset = 0
  constructor (private readonly bytes: Uint8Array) {}
  varint (): number {
    let value = 0
    let scale = 1
    for (;;) {
      if (this.offset >= this.bytes.length) throw new Error('location history: truncated data')
      const b = this.bytes[this.offset++]
      value += (b & 0x7f) * scale
      if (b < 0x80) return value
      scale *= 0x80
    }
  }

  zigzag (): number {
    const v = this.varint()
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2
  }

  raw (n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new Error('location history: truncated data')
    const out = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }
}

function encodeChannel (w: ByteWriter, values: ArrayLike<number>, q: Int32Array): void {
  const n = values.length
  for (let i = 0; i < n; i++) q[i] = Math.round(values[i] / LOCATION_QUANTUM)
  let previous = 0
  let i = 0
  while (i < n) {
    const start = q[i]
    // Widen the run while some integer slope keeps every sample within the tolerance.
    let lo = -Infinity
    let hi = Infinity
    let end = i + 1
    while (end < n) {
      const m = end - i
      const nlo = Math.max(lo, ((q[end] - start - FIT_TOLERANCE) * SLOPE_SCALE) / m)
      const nhi = Math.min(hi, ((q[end] - start + FIT_TOLERANCE) * SLOPE_SCALE) / m)
      if (Math.ceil(nlo) > Math.floor(nhi)) break
      lo = nlo
      hi = nhi
      end++
    }
    let slope = 0
    if (end - i > 1) slope = lo <= 0 && hi >= 0 ? 0 : Math.ceil(lo)
    w.zigzag(start - previous)
    w.zigzag(slope)
    w.varint(end - i)
    previous = start + Math.round((slope * (end - i - 1)) / SLOPE_SCALE)
    i = end
  }
}

function decodeChannel (r: ByteReader, n: number): number[] {
  // Plain arrays: decoding happens on clients and in tests, where convenience wins.
  const out: number[] = []
  let previous = 0
  while (out.length < n) {
    const start = previous + r.zigzag()
    const slope = r.zigzag()
    const length = r.varint()
    if (length === 0 || out.length + length > n) throw new Error('location history: bad run length')
    for (let m = 0; m < length; m++) out.push((start + Math.round((slope * m) / SLOPE_SCALE)) * LOCATION_QUANTUM)
    previous = start + Math.round((slope * (length - 1)) / SLOPE_SCALE)
  }
  return out
}

export function packLocationHistory (history: LocationHistory): Uint8Array {
  const w = new ByteWriter()
  const encoder = new TextEncoder()
  w.varint(LOCATION_HISTORY_VERSION)
  const { tickTimes } = history
  w.varint(tickTimes.length)
  if (tickTimes.length > 0) {
    w.varint(Math.round(tickTimes[0]))
    for (let i = 1; i < tickTimes.length; i++) w.varint(Math.round(tickTimes[i] - tickTimes[i - 1]))
  }
  w.varint(history.players.length)
  let scratch = new Int32Array(64)
  for (const track of history.players) {
    if (scratch.length < track.x.length) scratch = new Int32Array(track.x.length)
    const id = encoder.encode(track.playerId)
    w.varint(id.length)
    w.raw(id)
    w.varint(track.firstTick)
    w.varint(track.x.length)
    for (const channel of CHANNELS) encodeChannel(w, track[channel], scratch)
  }
  return w.finish()
}

export interface UnpackedPlayerTrack extends PlayerTrack {
  x: number[]
  y: number[]
  dx: number[]
  dy: number[]
  speed: number[]
}

export function unpackLocationHistory (bytes: Uint8Array): { tickTimes: number[], players: UnpackedPlayerTrack[] } {
  const r = new ByteReader(bytes)
  const decoder = new TextDecoder()
  const version = r.varint()
  if (version !== LOCATION_HISTORY_VERSION) throw new Error(`location history: unknown version ${version}`)
  const ticks = r.varint()
  const tickTimes: number[] = []
  if (ticks > 0) {
    tickTimes.push(r.varint())
    for (let i = 1; i < ticks; i++) tickTimes.push(tickTimes[i - 1] + r.varint())
  }
  const count = r.varint()
  const players: UnpackedPlayerTrack[] = []
  for (let p = 0; p < count; p++) {
    const playerId = decoder.decode(r.raw(r.varint()))
    const firstTick = r.varint()
    const n = r.varint()
    const [x, y, dx, dy, speed] = CHANNELS.map(() => decodeChannel(r, n))
    players.push({ playerId, firstTick, x, y, dx, dy, speed })
  }
  return { tickTimes, players }
}
