// Agent operations run outside the step and report back as inputs (BRIEF §3).
import { createRng, doSomething, doSomethingSnapshot } from '../game/index.ts'
import type { AgentOperation, WorldMap, WorldState } from '../game/index.ts'
import { DuplicateKeyError } from '../store/errors.ts'
import type { Store } from '../store/types.ts'
import { submitInput } from './inputs.ts'
import type { MessageDoc } from './types.ts'
import { isLlmHeld } from '../llm/errors.ts'
import { heldGoodbye } from '../agents/brain.ts'

/** What the agents issue implements with an LLM and memories; the engine only needs these two calls. */
export interface AgentBrain {
  readonly name: string
  generateMessage (args: {
    worldId: string
    agentId: string
    playerId: string
    otherPlayerId: string
    conversationId: string
    type: 'start' | 'continue' | 'leave'
    signal?: AbortSignal
  }): Promise<string>
  rememberConversation (args: { worldId: string, agentId: string, playerId: string, conversationId: string, signal?: AbortSignal }): Promise<void>
}

/** A stand-in brain: short canned lines so conversations still open and close. */
export function cannedBrain (): AgentBrain {
  const lines = {
    start: ['Hello there! Lovely day for a walk.', 'Oh, hi! I was hoping to run into someone.', 'Good to see you. What brings you this way?'],
    continue: ['That is interesting, tell me more.', 'I had not thought of it that way.', 'Ha, that sounds just like this town.', 'Really? I will keep that in mind.'],
    leave: ['I should get going. See you around!', 'Nice talking with you, take care.', 'I must be off now, goodbye!']
  }
  let n = 0
  return {
    name: 'canned',
    async generateMessage ({ type }) {
      const options = lines[type]
      return options[n++ % options.length]!
    },
    async rememberConversation () {}
  }
}

export interface OperationContext {
  store: Store
  worldId: string
  engineId: string
  map: WorldMap
  brain: AgentBrain
  now: () => number
  /** The runner's latest world state, for decisions that read it (doSomething). */
  world: () => WorldState
  signal?: AbortSignal
  log: { warn: (obj: object, msg: string) => void }
  /** Whether the world may call the LLM now (not paused, within budget); an agent that may not invites no one. */
  mayTalk?: () => Promise<boolean>
}

export async function runOperation (ctx: OperationContext, op: AgentOperation): Promise<void> {
  try {
    switch (op.name) {
      case 'doSomething': {
        const snapshot = doSomethingSnapshot(ctx.world(), ctx.map, op.agentId, ctx.now(), createRng(op.operationId))
        if (snapshot !== undefined && ctx.mayTalk !== undefined) snapshot.mayTalk = await ctx.mayTalk()
        const decision = snapshot === undefined ? {} : doSomething(snapshot)
        await submitInput(ctx.store, ctx.engineId, 'finishDoSomething', { operationId: op.operationId, agentId: op.agentId, ...decision }, { now: ctx.now })
        break
      }
      case 'generateMessage': {
        const { args } = op
        let text: string
        let leave = args.type === 'leave'
        try {
          text = await ctx.brain.generateMessage({ worldId: ctx.worldId, ...args, signal: ctx.signal })
        } catch (err) {
          // LLM paused or the world's budget spent: the conversation ends politely with a canned goodbye.
          if (!isLlmHeld(err)) throw err
          text = heldGoodbye(args.messageUuid)
          leave = true
        }
        try {
          await ctx.store.collection<MessageDoc>('messages').insertOne({
            worldId: ctx.worldId, conversationId: args.conversationId, messageUuid: args.messageUuid, author: args.playerId, text
          })
        } catch (err) {
          // A replayed operation finds its message already written: that is the idempotent outcome.
          if (!(err instanceof DuplicateKeyError)) throw err
        }
        await submitInput(ctx.store, ctx.engineId, 'agentFinishSendingMessage', {
          agentId: op.agentId, conversationId: args.conversationId, timestamp: ctx.now(), operationId: op.operationId, leaveConversation: leave
        }, { now: ctx.now })
        break
      }
      case 'rememberConversation': {
        try {
          await ctx.brain.rememberConversation({ worldId: ctx.worldId, ...op.args, signal: ctx.signal })
        } catch (err) {
          // Forgetting one conversation is better than an agent stuck until the operation times out.
          if (ctx.signal?.aborted === true) throw err
          ctx.log.warn({ err, agentId: op.agentId, conversationId: op.args.conversationId }, 'remembering a conversation failed; moving on')
        }
        await submitInput(ctx.store, ctx.engineId, 'finishRememberConversation', { operationId: op.operationId, agentId: op.agentId }, { now: ctx.now })
        break
      }
    }
  } catch (err) {
    // The agent's in-flight operation times out in the game (120 s) and the agent carries on.
    if (ctx.signal?.aborted !== true) ctx.log.warn({ err, operation: op.name, agentId: op.agentId }, 'agent operation failed')
  }
}
