// The LLM-backed agent brain: conversation lines from identity, plan, memories and history; remembering.
import type { AgentBrain } from '../engine/operations.ts'
import type { LlmClient } from '../llm/types.ts'
import { isLlmHeld } from '../llm/errors.ts'
import type { Store } from '../store/types.ts'
import { agentDescription, describeSelf, worldPlayers, type MemoryService } from './memory.ts'
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
      // Everything a line is written from is read at once: the players (names and descriptions, both sides), the
      // agent's identity and plan, the last conversation of the two, this one so far, and the memories about the
      // other person, as AI Town asks: "What do you think about NAME?" (once the players give the name).
      const reading = worldPlayers(store, worldId)
      const [players, description, previous, messages, memories] = await Promise.all([
        reading,
        agentDescription(store, worldId, playerId, agentId),
        store.collection('participatedTogether').findOne({ worldId, player1: playerId, player2: otherPlayerId }, { sort: { ended: -1 } }),
        store.collection('messages').find({ worldId, conversationId }, { sort: { _creationTime: 1 } }),
        type === 'leave'
          ? []
          : reading.then(async (p) => await o.memories.search(worldId, playerId, `What do you think about ${p.get(otherPlayerId)?.name ?? otherPlayerId}?`, 3, call))
      ])
      const self = describeSelf(playerId, players, description)
      const other = { name: players.get(otherPlayerId)?.name ?? otherPlayerId, description: players.get(otherPlayerId)?.description }
      const history = messages.map((m) => ({ author: players.get(m.author as string)?.name ?? (m.author as string), text: m.text as string }))
      const input: ConversationPromptInput = {
        self, other, now: o.now(), memories: memories.map((m) => m.description), history, ...(previous !== null ? { lastConversationAt: previous.ended as number } : {})
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
