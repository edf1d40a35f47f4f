// Helpers the benchmarks share: talking to the server child process, quantiles, machine load.
import { fork, spawn, type ChildProcess } from 'node:child_process'
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

/** Prints a two-column table under a title, then the one `RESULT {json}` line. */
export function report (title: string, rows: Array<[string, unknown]>, result: unknown): void {
  const width = Math.max(...rows.map(([k]) => k.length))
  console.log(`\n${title}\n`)
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${String(v)}`)
  console.log(`\nRESULT ${JSON.stringify(result)}`)
}

/** Asks the server child to stop, and kills it if it has not exited within 10 s. */
export async function stopChild (child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode === null) child.send({ type: 'stop' })
  const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)])
  if (code === 'timeout') child.kill('SIGKILL')
}

/**
 * The server's own part of each step's delivery: commit → its first and its last frame handed to the sockets, and
 * the time between them (sorted; one per step for which both the commit and a fan-out were seen).
 */
export function serverFanOuts (commits: Array<[number, number]>, fanOuts: Array<[number, number, number, number]>): { sortedToFirst: Float64Array, sortedToLast: Float64Array, sortedDuration: Float64Array } {
  const commitAt = new Map(commits)
  const toFirst: number[] = []
  const toLast: number[] = []
  const duration: number[] = []
  for (const [currentTime, startedAt, endedAt] of fanOuts) {
    const at = commitAt.get(currentTime)
    if (at === undefined) continue
    toFirst.push(startedAt - at)
    toLast.push(endedAt - at)
    duration.push(endedAt - startedAt)
  }
  return { sortedToFirst: Float64Array.from(toFirst).sort(), sortedToLast: Float64Array.from(toLast).sort(), sortedDuration: Float64Array.from(duration).sort() }
}

/** Runs the file as the server child (BENCH_ROLE=server) or as the benchmark itself. */
export function runRole (serve: () => Promise<void>, main: () => Promise<void>): void {
  if (process.env.BENCH_ROLE === 'server') serve().catch((err: unknown) => { console.error(err); process.exit(1) })
  else main().catch((err: unknown) => { console.error(err); process.exitCode = 1 })
}

/** Forks this benchmark file again as its server child (BENCH_ROLE=server), talking over IPC. */
export function forkServer (file: string): { child: ChildProcess, exited: Promise<number | null> } {
  const child = fork(file, [], {
    env: { ...process.env, BENCH_ROLE: 'server', FASTIFY_AUTOLOAD_TYPESCRIPT: '1' },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code) }))
  return { child, exited }
}

/** The last value of a sorted array (0 when empty), for a "max" column beside the quantiles. */
export function largest (sorted: Float64Array | number[]): number {
  return sorted.length === 0 ? 0 : sorted[sorted.length - 1]!
}

/** Runs another benchmark file as a child process and resolves with its RESULT json (its output is shown only if it fails). */
export async function runBench (file: string, env: Record<string, string>): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ...env, BENCH_ROLE: '' }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => { out += chunk })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  const line = out.split('\n').findLast((l) => l.startsWith('RESULT '))
  if (code !== 0 || line === undefined) {
    process.stderr.write(out)
    throw new Error(`${file} exited with ${String(code)} and no RESULT line`)
  }
  return JSON.parse(line.slice('RESULT '.length))
}

/**
 * The sorted delays of a fan-out bench: from the value's currentTime, from the step's commit (as the server's
 * change feed saw it), step start → commit, and per step the spread from the first client to the last.
 */
export function stepDelays (delays: Float64Array, stamps: Float64Array, samples: number, commits: Array<[number, number]>, steps: Map<number, { first: number, last: number }>): { sorted: Float64Array, sortedFromCommit: Float64Array, sortedStepLag: Float64Array, sortedSpread: Float64Array } {
  const commitAt = new Map(commits)
  const fromCommit: number[] = []
  for (let i = 0; i < samples; i++) {
    const at = commitAt.get(stamps[i]!)
    if (at !== undefined) fromCommit.push(stamps[i]! + delays[i]! - at)
  }
  const stepLag = [...new Set(stamps.slice(0, samples))].map((t) => (commitAt.get(t) ?? NaN) - t).filter((x) => !Number.isNaN(x))
  return {
    sorted: delays.slice(0, samples).sort(),
    sortedFromCommit: Float64Array.from(fromCommit).sort(),
    sortedStepLag: Float64Array.from(stepLag).sort(),
    sortedSpread: Float64Array.from([...steps.values()].map((x) => x.last - x.first)).sort()
  }
}
