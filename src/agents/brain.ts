// The LLM-backed agent brain: conversation lines from identity, plan, memories and history; remembering.
import type { AgentBrain } from '../engine/operations.ts'
import type { LlmClient } from '../llm/types.ts'
import { isLlmHeld } from '../llm/errors.ts'
import type { Store } from '../store/types.ts'
import { describeSelf, playerNames, type MemoryService } from './memory.ts'
import {
  cleanReply, continueConversationPrompt, leaveConversationPrompt, startConversationPrompt, type ConversationPromptInput
} from './prompts.ts'

export interface LlmBrainOptions {
  store: Store
  llm: LlmClient
  memories: MemoryService
  now: () => number
}

export function llmBrain (o: LlmBrainOptions): AgentBrain {
  return {
    name: o.llm.mode === 'offline' ? 'offline' : o.llm.name,
    async generateMessage ({ worldId, agentId, playerId, otherPlayerId, conversationId, type, signal }) {
      const { store } = o
      const call = { signal, priority: 'conversation' as const, attribution: { worldId, agentId, playerId } }
      const names = await playerNames(store, worldId)
      const self = await describeSelf(store, worldId, playerId, names)
      const otherDescription = await store.collection('playerDescriptions').findOne({ worldId, playerId: otherPlayerId })
      const other = { name: names.get(otherPlayerId) ?? otherPlayerId, description: otherDescription?.description as string | undefined }
      const previous = await store.collection('participatedTogether').findOne(
        { worldId, player1: playerId, player2: otherPlayerId }, { sort: { ended: -1 } })
      const history = (await store.collection('messages').find({ worldId, conversationId }, { sort: { _creationTime: 1 } }))
        .map((m) => ({ author: names.get(m.author as string) ?? (m.author as string), text: m.text as string }))
      // Memories about the other person, as AI Town asks: "What do you think about NAME?"
      const memories = type === 'leave'
        ? []
        : (await o.memories.search(worldId, playerId, `What do you think about ${other.name}?`, 3, call)).map((m) => m.description)
      const input: ConversationPromptInput = {
        self, other, now: o.now(), memories, history, ...(previous !== null ? { lastConversationAt: previous.ended as number } : {})
      }
      const prompt = type === 'start' ? startConversationPrompt(input) : type === 'continue' ? continueConversationPrompt(input) : leaveConversationPrompt(input)
      const reply = await o.llm.chat({ ...prompt, ...call })
      return cleanReply(reply.text, self.name, other.name)
    },
    async rememberConversation ({ worldId, agentId, playerId, conversationId, signal }) {
      try {
        await o.memories.rememberConversation({ worldId, agentId, playerId, conversationId, signal })
      } catch (err) {
        // Paused or over budget: remembering is skipped, quietly; the conversation is simply not remembered.
        if (!isLlmHeld(err)) throw err
      }
    }
  }
}

/** What an agent says when the LLM is paused or the world's budget is spent: it says goodbye and leaves. */
export const HELD_GOODBYES = [
  'Oh, I just remembered something I have to do. Sorry, I must go. Goodbye!',
  'I am afraid I have to run now. Talk to you another time!',
  'Sorry to cut this short, I need to be somewhere. Take care!'
]

export function heldGoodbye (seed: string): string {
  let h = 0
  for (let i = 0; i < seed.length; i++) h = (h * 31 + seed.charCodeAt(i)) >>> 0
  return HELD_GOODBYES[h % HELD_GOODBYES.length]!
}
