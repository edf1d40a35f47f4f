// Documents the engine reads and writes (BRIEF §1-2), as stored through the port.
import type { CharacterDescription, InputReturnValue, StepOutput, WorldState } from '../game/index.ts'
import type { Doc } from '../store/types.ts'

// 'archived': stopped for good, data kept, read-only; 'deleting': a delete has begun (a rerun finishes it);
// 'forking': a fork being made (src/engine/fork.ts), never run until it turns 'running'.
export type WorldStatusValue = 'running' | 'stoppedByDeveloper' | 'inactive' | 'archived' | 'deleting' | 'forking'

export interface WorldStatusDoc extends Doc {
  worldId: string
  engineId: string
  isDefault: boolean
  lastViewed: number
  status: WorldStatusValue
  /**
   * The world's human players by token identifier, kept by the runner (at start, and by the outbox of a step
   * that changed them): world:sendWorldInput checks its caller here instead of loading the whole world.
   */
  humans?: HumanPlayer[]
  /** The operator's name for the world (worlds made before names existed have none). */
  name?: string
  /** A fork's origin: the world and the step it was made from. */
  forkedFrom?: { worldId: string, step: number }
}

export interface HumanPlayer { human: string, playerId: string }

/** The control record of a world's engine: who may run it (generation, lease) and a mirror of its clock. */
export interface EngineDoc extends Doc {
  worldId: string
  running: boolean
  generationNumber: number
  currentTime: number
  lastStepTs: number
  processedInputNumber: number
  runner: { instanceId: string, until: number } | null
}

/** The step state committed with the world in one conditional write: the world's commit point. */
export interface StepState {
  number: number
  generation: number
  currentTime: number
  lastStepTs: number
  processedInputNumber: number
}

/**
 * What a committed step still has to write elsewhere; applied idempotently, then cleared. The operations it
 * started are not in it: each agent's in-flight marker holds what restarts them (inFlightOperations).
 */
export interface Outbox extends Omit<StepOutput, 'operations'> {
  step: number
  generation: number
  results: Array<{ number: number, returnValue: InputReturnValue }>
  /** The inputs whose return value is `{ kind: 'ok', value: null }` (most of them), by number: kept out of `results`. */
  okNull?: number[]
  /** The world's human players after this step, when the step changed them (for worldStatus.humans). */
  humans?: HumanPlayer[]
}

export interface WorldDoc extends Doc, WorldState {
  engineId: string
  cast: CharacterDescription[]
  step: StepState
  historicalLocations?: Array<{ playerId: string, location: Uint8Array }>
  outbox?: Outbox
}

export interface InputDoc extends Doc {
  engineId: string
  number: number
  name: string
  args: unknown
  received: number
  returnValue?: InputReturnValue
}

export interface MessageDoc extends Doc {
  worldId: string
  conversationId: string
  messageUuid: string
  author: string
  text: string
}
