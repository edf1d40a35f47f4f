import { test } from 'tap'
import {
  LOCATION_MAX_ERROR_QUANTA, LOCATION_QUANTUM, packLocationHistory, unpackLocationHistory, CHANNELS
} from '../../src/game/locationHistory.ts'
import type { LocationHistory, PlayerTrack } from '../../src/game/locationHistory.ts'
import { createRng, nextFloat } from '../../src/game/rng.ts'

const T0 = 1_700_000_000_000
const TICKS = 62

function track (playerId: string, firstTick: number, n: number, f: (i: number) => [number, number, number, number, number]): PlayerTrack {
  const t = { playerId, firstTick, x: [] as number[], y: [] as number[], dx: [] as number[], dy: [] as number[], speed: [] as number[] }
  for (let i = 0; i < n; i++) {
    const [x, y, dx, dy, speed] = f(i)
    t.x.push(x); t.y.push(y); t.dx.push(dx); t.dy.push(dy); t.speed.push(speed)
  }
  return t
}

const tickTimes = Array.from({ length: TICKS }, (_, i) => T0 + 16 * (i + 1))

test('round trip within the quantisation bound', async (t) => {
  const rng = createRng(11)
  const history: LocationHistory = {
    tickTimes,
    players: [
      track('p:0', 0, TICKS, () => [3, 4, 0, 1, 0]),
      track('p:1', 0, TICKS, (i) => [10.123 + 0.012 * i, 7.5, 1, 0, 0.75]),
      track('p:22', 10, TICKS - 10, (i) => [20 - 0.012 * i, 5 + (i > 30 ? 0.012 * (i - 30) : 0), i > 30 ? 0 : -1, i > 30 ? 1 : 0, 0.75]),
      track('p:3', 0, TICKS, () => [nextFloat(rng) * 64, nextFloat(rng) * 48, nextFloat(rng) * 2 - 1, nextFloat(rng) * 2 - 1, nextFloat(rng)]),
      track('p:4', 5, 7, (i) => [1 + i, 2, 0.6, 0.8, 0.75])
    ]
  }
  const bytes = packLocationHistory(history)
  t.ok(bytes instanceof Uint8Array)
  const back = unpackLocationHistory(bytes)
  t.same(back.tickTimes, tickTimes)
  t.equal(back.players.length, history.players.length)
  const bound = LOCATION_MAX_ERROR_QUANTA * LOCATION_QUANTUM + 1e-9
  let worst = 0
  for (let p = 0; p < history.players.length; p++) {
    const a = history.players[p]
    const b = back.players[p]
    t.equal(b.playerId, a.playerId)
    t.equal(b.firstTick, a.firstTick)
    for (const c of CHANNELS) {
      t.equal(b[c].length, a[c].length)
      for (let i = 0; i < a[c].length; i++) worst = Math.max(worst, Math.abs(a[c][i] - b[c][i]))
    }
  }
  t.ok(worst <= bound, `worst error ${worst} within ${bound}`)
})

test('a still or straight-walking player costs a few bytes per step', async (t) => {
  const still = packLocationHistory({ tickTimes, players: [track('p:10', 0, TICKS, () => [31.5, 20, 0, -1, 0])] })
  const walk = packLocationHistory({ tickTimes, players: [track('p:10', 0, TICKS, (i) => [2 + (0.75 * 16 * i) / 1000, 20, 1, 0, 0.75])] })
  const empty = packLocationHistory({ tickTimes, players: [] })
  t.ok(still.length - empty.length <= 30, `still: ${still.length - empty.length} bytes`)
  t.ok(walk.length - empty.length <= 32, `walking: ${walk.length - empty.length} bytes`)

  const players: PlayerTrack[] = []
  for (let p = 0; p < 1000; p++) {
    const moving = p % 3 === 0
    players.push(track(`p:${p}`, 0, TICKS, (i) => moving ? [p % 64 + 0.012 * i, (p * 7) % 48, 1, 0, 0.75] : [p % 64, (p * 7) % 48, 0, 1, 0]))
  }
  const big = packLocationHistory({ tickTimes, players })
  t.ok(big.length < 50_000, `1,000 players pack to ${big.length} bytes`)
})

test('corrupt input is refused, not misread', async (t) => {
  const bytes = packLocationHistory({ tickTimes, players: [track('p:1', 0, TICKS, () => [1, 1, 0, 1, 0])] })
  t.throws(() => unpackLocationHistory(bytes.slice(0, bytes.length - 3)), /truncated|bad run/)
  const wrongVersion = bytes.slice()
  wrongVersion[0] = 9
  t.throws(() => unpackLocationHistory(wrongVersion), /unknown version 9/)
})
