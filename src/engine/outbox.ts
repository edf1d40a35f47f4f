// A committed step's side effects, written idempotently: safe to apply twice after a crash.
import type { Store } from '../store/types.ts'
import { inFlightOperations } from '../game/index.ts'
import type { AgentOperation, Player, StepOutput, WorldState } from '../game/index.ts'
import type { EngineDoc, HumanPlayer, InputDoc, Outbox, StepState, WorldDoc, WorldStatusDoc } from './types.ts'

const OUTPUT_LISTS = ['archivedPlayers', 'archivedAgents', 'archivedConversations', 'participatedTogether', 'playerDescriptions', 'agentDescriptions'] as const

/** The outbox of a step: its results and every list of its output but the operations (the markers hold those). */
export function outboxOf (step: number, generation: number, results: Outbox['results'], output: StepOutput): Outbox {
  const okNull: number[] = []
  const other: Outbox['results'] = []
  for (const r of results) {
    if (r.returnValue.kind === 'ok' && r.returnValue.value === null) okNull.push(r.number)
    else other.push(r)
  }
  const outbox: Outbox = { step, generation, results: other, okNull } as Outbox
  for (const list of OUTPUT_LISTS) (outbox as unknown as Record<string, unknown>)[list] = output[list]
  return outbox
}

export function outboxIsEmpty (outbox: Outbox): boolean {
  return outbox.results.length === 0 && (outbox.okNull ?? []).length === 0 && outbox.humans === undefined && OUTPUT_LISTS.every((list) => outbox[list].length === 0)
}

export async function applyOutbox (store: Store, world: Pick<WorldDoc, '_id' | 'engineId'>, step: StepState, outbox: Outbox): Promise<void> {
  const worldId = world._id
  // Archive rows carry the world and the game id under a unique index, so a replay inserts nothing twice.
  const archive = async (name: 'archivedPlayers' | 'archivedAgents' | 'archivedConversations', rows: Array<{ id: string }>): Promise<void> => {
    if (rows.length > 0) await store.collection(name).insertMany(rows.map((row) => ({ ...row, worldId })), { ignoreDuplicates: true })
  }
  await archive('archivedPlayers', outbox.archivedPlayers)
  await archive('archivedAgents', outbox.archivedAgents)
  await archive('archivedConversations', outbox.archivedConversations)
  if (outbox.participatedTogether.length > 0) {
    await store.collection('participatedTogether').insertMany(outbox.participatedTogether.map((row) => ({ ...row, worldId })), { ignoreDuplicates: true })
  }
  for (const d of outbox.playerDescriptions) {
    await store.collection('playerDescriptions').updateOne({ worldId, playerId: d.playerId },
      { $set: { name: d.name, description: d.description, character: d.character } }, { upsert: true })
  }
  for (const d of outbox.agentDescriptions) {
    await store.collection('agentDescriptions').updateOne({ worldId, agentId: d.agentId },
      { $set: { identity: d.identity, plan: d.plan } }, { upsert: true })
  }
  // Before the return values: a human that sees its join answered can already send inputs by the fast path.
  if (outbox.humans !== undefined) await recordHumanPlayers(store, worldId, outbox.humans)
  // Return values go last: a client that sees its input answered also sees everything the step did.
  const inputs = store.collection<InputDoc>('inputs')
  for (const { number, returnValue } of outbox.results) {
    await inputs.updateOne({ engineId: world.engineId, number }, { $set: { returnValue } })
  }
  for (const number of outbox.okNull ?? []) {
    await inputs.updateOne({ engineId: world.engineId, number }, { $set: { returnValue: { kind: 'ok', value: null } } })
  }
  // The engine record mirrors the committed clock for clients; $max keeps it from ever moving back.
  await store.collection<EngineDoc>('engines').updateOne({ _id: world.engineId }, {
    $max: { currentTime: step.currentTime, lastStepTs: step.lastStepTs, processedInputNumber: step.processedInputNumber }
  })
}

/**
 * The operations a runner restarts when it takes a world over: those in flight by the agents' markers, less
 * those whose result already waits in the input queue (the previous runner finished them before it went away).
 * `known` is that queue when the caller has read all of it.
 */
export async function operationsToRestart (store: Store, world: WorldDoc, now: number, known?: InputDoc[]): Promise<AgentOperation[]> {
  const ops = inFlightOperations(world, now)
  if (ops.length === 0) return ops
  // `known`: the whole queue after the world's last processed input, when the caller has already read it.
  const queued = known ?? await store.collection<InputDoc>('inputs').find({ engineId: world.engineId, number: { $gt: world.step.processedInputNumber } })
  const finished = new Set(queued.map((i) => (i.args as { operationId?: unknown } | null)?.operationId))
  return ops.filter((op) => !finished.has(op.operationId))
}

function humansOf (players: Iterable<Player>): HumanPlayer[] {
  const out: HumanPlayer[] = []
  for (const p of players) if (p.human !== undefined) out.push({ human: p.human, playerId: p.id })
  return out
}

/** The world's human players after a step, or undefined when the step left them as they were. */
export function humansChanged (before: { players: Record<string, Player> }, after: WorldState): HumanPlayer[] | undefined {
  const was = humansOf(Object.values(before.players))
  const now = humansOf(after.players)
  const same = was.length === now.length && was.every((h, i) => h.human === now[i]!.human && h.playerId === now[i]!.playerId)
  return same ? undefined : now
}

/** Writes the world's human players into its worldStatus record (idempotent). */
export async function recordHumanPlayers (store: Store, worldId: string, humans: HumanPlayer[] | WorldState): Promise<void> {
  const list = Array.isArray(humans) ? humans : humansOf(humans.players)
  await store.collection<WorldStatusDoc>('worldStatus').updateOne({ worldId }, { $set: { humans: list } })
}

/** Whether the record says this token plays this player: a hit needs no world load; a miss is checked on the world. */
export function recordedHuman (status: WorldStatusDoc, tokenIdentifier: string, playerId: string): boolean {
  return status.humans?.some((h) => h.human === tokenIdentifier && h.playerId === playerId) === true
}
