// Helpers the benchmarks share: talking to the server child process, quantiles, machine load.
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Waits for the server child to send a message of one type. */
export function ask<M extends { type: string }, T extends M['type']> (child: ChildProcess, type: T, timeoutMs = 60_000): Promise<Extract<M, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`server did not send ${type} within ${timeoutMs} ms`)) }, timeoutMs)
    const onMessage = (m: M): void => {
      if (m.type !== type) return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve(m as Extract<M, { type: T }>)
    }
    child.on('message', onMessage)
  })
}

/** Linux PSI: the share of the last 10 s in which some runnable task waited for a CPU (other load on the machine). */
export function cpuPressure (): number | null {
  try {
    return Number(/some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN)
  } catch {
    return null
  }
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export function quantile (sorted: Float64Array | number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
