// The public surface of the pure game core (no I/O, no clock, no Math.random).
//
// The engine calls simulateStep once per step with the unprocessed inputs; it commits the
// returned world, return values, archives, descriptions and history, then runs the
// returned agent operations outside the step and reports each back as an input:
//   doSomething          → finishDoSomething{operationId, agentId, ...doSomething(snapshot)}
//   rememberConversation → finishRememberConversation{operationId, agentId}
//   generateMessage      → (write the message) agentFinishSendingMessage{agentId,
//                          conversationId, timestamp, operationId, leaveConversation: type === 'leave'}
// An operation that is never reported back is dropped after 120 s and the agent moves on.
export type * from './types.ts'
export { simulateStep } from './step.ts'
export type { StepContext, StepOptions } from './step.ts'
export { createWorld } from './world.ts'
export { createRng, nextFloat, nextInt, nextUint32, nextUuid, isRngState } from './rng.ts'
export { doSomething, doSomethingSnapshot, wanderDestination, conversationCandidate, ACTIVITIES } from './doSomething.ts'
export type { DoSomethingDecision, DoSomethingSnapshot } from './doSomething.ts'
export {
  packLocationHistory, unpackLocationHistory, LOCATION_QUANTUM, LOCATION_MAX_ERROR_QUANTA, LOCATION_HISTORY_VERSION
} from './locationHistory.ts'
export type { LocationHistory, PlayerTrack } from './locationHistory.ts'
export { INPUT_NAMES } from './inputs.ts'
export { inFlightOperations } from './agents.ts'
export { GameError } from './errors.ts'
export * as rules from './constants.ts'
