// Smooth movement: replays the packed per-tick location history of recent steps slightly
// behind real time, and falls back to easing between world-state positions without it.
import { unpackLocationHistory, type UnpackedPlayerTrack } from '../game/locationHistory.ts'

export interface Pose { x: number, y: number, dx: number, dy: number }

interface ReplayStep {
  step: number
  from: number
  to: number
  tickTimes: number[]
  tracks: Map<string, UnpackedPlayerTrack>
}

/** How far behind the newest step the replay clock aims to run (ms of engine time). */
export const TARGET_LAG_MS = 1600
const MAX_LAG_MS = 4000
const KEEP_STEPS = 6

export class Replay {
  private steps: ReplayStep[] = []
  /** Engine time being shown, or null before the first step arrived. */
  clock: number | null = null

  /** Adds one step's packed history (a `world:locations` value). */
  addStep (frame: { step: number, from: number, to: number, data: Uint8Array }): void {
    // A world that has not stepped yet has no history to show.
    if (frame.data.length === 0) return
    const last = this.steps.at(-1)
    if (last !== undefined && frame.step <= last.step) {
      // A restarted engine starts counting again; anything else is a duplicate.
      if (frame.to > last.to) this.reset()
      else return
    }
    const history = unpackLocationHistory(frame.data)
    const tracks = new Map(history.players.map((track) => [track.playerId, track]))
    this.steps.push({ step: frame.step, from: frame.from, to: frame.to, tickTimes: history.tickTimes, tracks })
    if (this.steps.length > KEEP_STEPS) this.steps.shift()
    if (this.clock === null) this.clock = frame.from
  }

  reset (): void {
    this.steps = []
    this.clock = null
  }

  get hasHistory (): boolean {
    return this.steps.length > 0
  }

  /** Advances the clock by `elapsedMs` of real time, nudging the rate to keep the target lag. */
  advance (elapsedMs: number): void {
    const newest = this.steps.at(-1)
    if (newest === undefined || this.clock === null) return
    const lag = newest.to - this.clock
    if (lag > MAX_LAG_MS) {
      this.clock = newest.to - TARGET_LAG_MS
      return
    }
    const rate = 1 + Math.max(-0.25, Math.min(0.25, (lag - TARGET_LAG_MS) / 4000))
    // Stall at the end of the newest step rather than guess where players go next.
    this.clock = Math.max(this.steps[0].from, Math.min(newest.to, this.clock + elapsedMs * rate))
  }

  /** Where a player is at the replay clock, or null when the history does not cover it. */
  pose (playerId: string): Pose | null {
    if (this.clock === null) return null
    const t = this.clock
    const step = this.steps.find((s) => t >= s.from && t <= s.to) ?? this.steps.at(-1)
    const track = step?.tracks.get(playerId)
    if (step === undefined || track === undefined || track.x.length === 0) return null
    return sampleTrack(track, step.tickTimes, t)
  }
}

/** Linear interpolation of a track's samples at time `t` (clamped to the track's ends). */
export function sampleTrack (track: UnpackedPlayerTrack, tickTimes: number[], t: number): Pose {
  const n = track.x.length
  const timeOf = (i: number): number => tickTimes[track.firstTick + i]
  let i = 0
  if (t >= timeOf(n - 1)) i = n - 1
  else if (t > timeOf(0)) {
    // Binary search for the last sample at or before t.
    let lo = 0
    let hi = n - 1
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1
      if (timeOf(mid) <= t) lo = mid
      else hi = mid
    }
    i = lo
  }
  const j = Math.min(i + 1, n - 1)
  const span = timeOf(j) - timeOf(i)
  const f = span > 0 ? Math.max(0, Math.min(1, (t - timeOf(i)) / span)) : 0
  const lerp = (a: number[]): number => a[i] + (a[j] - a[i]) * f
  return { x: lerp(track.x), y: lerp(track.y), dx: track.dx[j], dy: track.dy[j] }
}

/** Eases from the previous world-state position to the latest over one step (no history). */
export class StateEaser {
  private readonly poses = new Map<string, { from: Pose, to: Pose, at: number }>()

  update (players: ReadonlyArray<{ id: string, position: { x: number, y: number }, facing: { dx: number, dy: number } }>, now: number): void {
    const seen = new Set<string>()
    for (const p of players) {
      seen.add(p.id)
      const to = { x: p.position.x, y: p.position.y, dx: p.facing.dx, dy: p.facing.dy }
      const known = this.poses.get(p.id)
      this.poses.set(p.id, { from: known === undefined ? to : this.pose(p.id, now)!, to, at: now })
    }
    for (const id of this.poses.keys()) if (!seen.has(id)) this.poses.delete(id)
  }

  pose (playerId: string, now: number, stepMs = 1000): Pose | null {
    const e = this.poses.get(playerId)
    if (e === undefined) return null
    const f = Math.max(0, Math.min(1, (now - e.at) / stepMs))
    return { x: e.from.x + (e.to.x - e.from.x) * f, y: e.from.y + (e.to.y - e.from.y) * f, dx: e.to.dx, dy: e.to.dy }
  }
}
