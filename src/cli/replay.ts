// townhall world replay|snapshot|fork: rebuild a world from its snapshots and inputs and check it against what
// was committed; take a snapshot on demand; make a new world from the state at a kept step.
import type { Config } from '../config.ts'
import type { Store } from '../store/types.ts'
import { replayWorld, ReplayRangeError, type ReplayReport } from '../engine/replay.ts'
import { SnapshotWorldNotFoundError, takeSnapshot } from '../engine/snapshots.ts'
import { updateBytes } from '../engine/runner.ts'
import { forkWorld } from '../engine/fork.ts'
import { worldListItem, WorldNotFoundError, WorldReadOnlyError } from '../engine/worlds.ts'
import { WorldCommandError } from './verbs.ts'

export interface ReplayArgs {
  positionals: string[]
  world?: string
  fromStep?: string
  toStep?: string
  atStep?: string
  name?: string
  verify: boolean
  json: boolean
}

function stepArg (value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) throw new WorldCommandError(`${flag} expects a step number (a whole number), got ${JSON.stringify(value)}`)
  return Number(value)
}

function show (value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value)
}

export function formatReplay (r: ReplayReport, verify: boolean): string {
  const speed = r.ms > 0 ? Math.round(r.steps / (r.ms / 1000)) : r.steps
  const replayed = `steps ${r.fromStep} to ${r.toStep} (${r.steps} steps in ${Math.round(r.ms)} ms, ${speed} steps/s)`
  if (!verify) return JSON.stringify(r.state)
  if (r.divergence !== undefined) {
    const d = r.divergence
    return [
      `diverged at step ${d.step} (against the ${d.against}): ${d.path}`,
      `  expected ${show(d.expected)}`,
      `  actual   ${show(d.actual)}`
    ].join('\n')
  }
  const snapshots = r.checked.filter((c) => c.against === 'snapshot').length
  const world = r.checked.some((c) => c.against === 'committed world') ? ' and the committed world' : ''
  return `identical: replayed ${replayed}, compared with ${snapshots} snapshot${snapshots === 1 ? '' : 's'}${world}`
}

/** Runs replay or snapshot; a bad world, range or argument throws WorldCommandError (exit 2). */
export async function runReplayCommand (store: Store, config: Pick<Config, 'SNAPSHOT_KEEP'>, args: ReplayArgs, progress: (line: string) => void, now: () => number): Promise<{ text: string, code: number }> {
  const [, sub, positional] = args.positionals
  const worldId = positional ?? args.world
  if (worldId === undefined) throw new WorldCommandError(`world ${sub ?? 'replay'} needs a world id: townhall world ${sub ?? 'replay'} <worldId> (see townhall world list)`)
  if (sub === 'fork') return await runFork(store, worldId, args, now)
  if (sub === 'snapshot') {
    try {
      const snapshot = await takeSnapshot(store, worldId, 'demand', { keep: config.SNAPSHOT_KEEP }, now())
      return { text: `snapshot of world ${worldId} at step ${snapshot.step} (${updateBytes({ $set: snapshot })} bytes)`, code: 0 }
    } catch (err) {
      if (err instanceof SnapshotWorldNotFoundError) throw new WorldCommandError(`${err.message} (see townhall world list)`)
      throw err
    }
  }
  const fromStep = stepArg(args.fromStep, '--from-step')
  const toStep = stepArg(args.toStep, '--to-step')
  let report: ReplayReport
  try {
    report = await replayWorld(store, worldId, { fromStep, toStep, verify: args.verify, onProgress: progress })
  } catch (err) {
    if (err instanceof ReplayRangeError) throw new WorldCommandError(err.message)
    throw err
  }
  const code = report.divergence !== undefined ? 1 : 0
  if (args.json) {
    // With verify the report is about the comparison: the rebuilt state (large) is left out.
    return { text: JSON.stringify(args.verify ? { ...report, state: undefined } : report, null, 2), code }
  }
  return { text: formatReplay(report, args.verify), code }
}

async function runFork (store: Store, worldId: string, args: ReplayArgs, now: () => number): Promise<{ text: string, code: number }> {
  const atStep = stepArg(args.atStep, '--at-step')
  if (atStep === undefined) throw new WorldCommandError(`world fork needs the step to fork at: townhall world fork ${worldId} --at-step N (see townhall world replay)`)
  if (args.name !== undefined && (args.name === '' || args.name.length > 100)) throw new WorldCommandError('--name expects 1 to 100 characters')
  try {
    // No vector index here: the index on disk is stale once embeddings are added, so the next start rebuilds it.
    const item = worldListItem(await forkWorld(store, worldId, { atStep, name: args.name, now: now() }))
    return { text: args.json ? JSON.stringify(item, null, 2) : `forked world ${worldId} at step ${atStep} into world ${item.worldId} "${item.name}": a running instance picks it up within seconds`, code: 0 }
  } catch (err) {
    if (err instanceof ReplayRangeError || err instanceof WorldReadOnlyError) throw new WorldCommandError(err.message)
    if (err instanceof WorldNotFoundError) throw new WorldCommandError(`${err.message} (see townhall world list)`)
    throw err
  }
}
