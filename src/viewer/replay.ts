// Smooth movement: replays the packed location history of recent steps (AI Town's format, one
// record per player that moved) slightly behind real time, and falls back to easing between
// world-state positions without it.
import { unpackLocation, type History, type LocationHistory } from '../game/locationHistory.ts'

export interface Pose { x: number, y: number, dx: number, dy: number }

interface ReplayStep {
  from: number
  to: number
  players: Map<string, LocationHistory>
}

/** How far behind the newest step the replay clock aims to run (ms of engine time). */
export const TARGET_LAG_MS = 1600
const MAX_LAG_MS = 4000
const KEEP_STEPS = 6
/** Samples further apart than this are a jump (a snap into a conversation), not a walk: no glide. */
export const MAX_GLIDE_GAP_MS = 50

export class Replay {
  private steps: ReplayStep[] = []
  /** Engine time being shown, or null before the first step arrived. */
  clock: number | null = null

  /**
   * Adds one step: the engine's `lastStepTs` and `currentTime` and the world's `historicalLocations`.
   * A world that has not stepped yet (no history) and steps already seen are ignored; a malformed
   * record throws before anything is added.
   */
  addStep (lastStepTs: number, currentTime: number, entries: ReadonlyArray<{ playerId: string, location: Uint8Array | ArrayBuffer }> | undefined): void {
    if (entries === undefined || currentTime <= lastStepTs) return
    const last = this.steps.at(-1)
    if (last !== undefined && currentTime <= last.to) return
    const players = new Map<string, LocationHistory>()
    for (const entry of entries) players.set(entry.playerId, unpackLocation(entry.location))
    this.steps.push({ from: lastStepTs, to: currentTime, players })
    if (this.steps.length > KEEP_STEPS) this.steps.shift()
    if (this.clock === null) this.clock = lastStepTs
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

  /**
   * Where a player is at the replay clock. A field the kept steps never changed is taken from
   * `current` (the world-state pose, as AI Town's client overlays history on the current value);
   * null when the player did not move in the kept steps, or a field is unknown without `current`.
   */
  pose (playerId: string, current?: Pose): Pose | null {
    if (this.clock === null) return null
    const records: LocationHistory[] = []
    for (const step of this.steps) {
      const record = step.players.get(playerId)
      if (record !== undefined) records.push(record)
    }
    if (records.length === 0) return null
    const t = this.clock
    const x = valueAt(records.map((r) => r.x), t, true) ?? current?.x
    const y = valueAt(records.map((r) => r.y), t, true) ?? current?.y
    const dx = valueAt(records.map((r) => r.dx), t, false) ?? current?.dx
    const dy = valueAt(records.map((r) => r.dy), t, false) ?? current?.dy
    if (x === undefined || y === undefined || dx === undefined || dy === undefined) return null
    return { x, y, dx, dy }
  }
}

/**
 * A field's value at time `t` from its histories of consecutive steps (undefined ones skipped):
 * the latest sample at or before `t`, else the first history's initial value. With `glide`, moves
 * linearly towards the next sample when it is at most MAX_GLIDE_GAP_MS away.
 */
export function valueAt (histories: ReadonlyArray<History | undefined>, t: number, glide: boolean): number | undefined {
  let value: number | undefined
  let since = -Infinity
  for (const h of histories) {
    if (h === undefined) continue
    value ??= h.initialValue
    const s = h.samples
    if (s.length === 0) continue
    let next = 0
    if (s[0].time <= t) {
      // Binary search for the last sample at or before t.
      let lo = 0
      let hi = s.length
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1
        if (s[mid].time <= t) lo = mid
        else hi = mid
      }
      value = s[lo].value
      since = s[lo].time
      next = lo + 1
    }
    if (next < s.length) {
      const to = s[next]
      const gap = to.time - since
      if (glide && gap <= MAX_GLIDE_GAP_MS) value += (to.value - value) * (t - since) / gap
      return value
    }
  }
  return value
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
