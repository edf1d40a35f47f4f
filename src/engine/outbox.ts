// A committed step's side effects, written idempotently: safe to apply twice after a crash.
import type { Store } from '../store/types.ts'
import type { StepOutput } from '../game/index.ts'
import type { EngineDoc, InputDoc, Outbox, StepState, WorldDoc } from './types.ts'

const OUTPUT_LISTS = ['archivedPlayers', 'archivedAgents', 'archivedConversations', 'participatedTogether', 'playerDescriptions', 'agentDescriptions', 'operations'] as const

/** The outbox of a step: its results and every list of its output. */
export function outboxOf (step: number, generation: number, results: Outbox['results'], output: StepOutput): Outbox {
  const outbox: Outbox = { step, generation, results } as Outbox
  for (const list of OUTPUT_LISTS) (outbox as unknown as Record<string, unknown>)[list] = output[list]
  return outbox
}

export function outboxIsEmpty (outbox: Outbox): boolean {
  return outbox.results.length === 0 && OUTPUT_LISTS.every((list) => outbox[list].length === 0)
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
  // Return values go last: a client that sees its input answered also sees everything the step did.
  const inputs = store.collection<InputDoc>('inputs')
  for (const { number, returnValue } of outbox.results) {
    await inputs.updateOne({ engineId: world.engineId, number }, { $set: { returnValue } })
  }
  // The engine record mirrors the committed clock for clients; $max keeps it from ever moving back.
  await store.collection<EngineDoc>('engines').updateOne({ _id: world.engineId }, {
    $max: { currentTime: step.currentTime, lastStepTs: step.lastStepTs, processedInputNumber: step.processedInputNumber }
  })
}
