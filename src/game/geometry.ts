import type { Point, Vector } from './types.ts'

export function distance (a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y)
}

export function manhattan (a: Point, b: Point): number {
  return Math.abs(a.x - b.x) + Math.abs(a.y - b.y)
}

export function samePoint (a: Point, b: Point): boolean {
  return a.x === b.x && a.y === b.y
}

export function roundPoint (p: Point): Point {
  return { x: Math.round(p.x), y: Math.round(p.y) }
}

/** Unit vector from `from` towards `to`; (0, 0) when they coincide. */
export function direction (from: Point, to: Point): Vector {
  const dx = to.x - from.x
  const dy = to.y - from.y
  const len = Math.hypot(dx, dy)
  if (len === 0) return { dx: 0, dy: 0 }
  return { dx: dx / len, dy: dy / len }
}

/** Drops the corners that lie on a straight line between their neighbours. */
export function compressPath (points: Point[]): Point[] {
  if (points.length <= 2) return points.slice()
  const out: Point[] = [points[0]]
  for (let i = 1; i < points.length - 1; i++) {
    const prev = out[out.length - 1]
    const here = points[i]
    const next = points[i + 1]
    const ax = here.x - prev.x
    const ay = here.y - prev.y
    const bx = next.x - here.x
    const by = next.y - here.y
    const cross = ax * by - ay * bx
    const dot = ax * bx + ay * by
    if (Math.abs(cross) < 1e-9 && dot > 0) continue
    out.push(here)
  }
  out.push(points[points.length - 1])
  return out
}
