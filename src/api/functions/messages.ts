// messages:* — a conversation's messages, and a human writing one.
import { Type } from 'typebox'
import { defineFunction } from '../registry.ts'
import { ForbiddenError } from '../errors.ts'
import { submitInput } from '../../engine/inputs.ts'
import { assertEngineWritable } from '../../engine/worlds.ts'
import { DuplicateKeyError } from '../../store/errors.ts'
import type { MessageDoc } from '../../engine/types.ts'
import { playerNames } from '../../agents/memory.ts'
import { Id, InputId, WorldId } from './schemas.ts'
import { callerPlayerId, requireWorld } from './world.ts'

const Message = Type.Object({
  _id: Type.String(),
  _creationTime: Type.Number(),
  worldId: Type.String(),
  conversationId: Type.String(),
  messageUuid: Type.String(),
  author: Type.String(),
  authorName: Type.String(),
  text: Type.String()
})

export const messageFunctions = [
  defineFunction({
    path: 'messages:listMessages',
    kind: 'query',
    access: 'public',
    description: 'A conversation\'s messages in the order they were written, with the author\'s name.',
    args: Type.Object({ worldId: WorldId, conversationId: Id('a conversation id such as c:12') }),
    returns: Type.Array(Message),
    tables: ['messages'],
    affectedBy: (e, args) => e.doc === undefined || (e.doc.worldId === args.worldId && e.doc.conversationId === args.conversationId),
    handler: async (ctx, { worldId, conversationId }) => {
      const messages = await ctx.store.collection<MessageDoc>('messages').find({ worldId, conversationId }, { sort: { _creationTime: 1 } })
      const names = messages.length > 0 ? await playerNames(ctx.store, worldId) : new Map<string, string>()
      return messages.map((m) => ({
        _id: m._id, _creationTime: m._creationTime, worldId: m.worldId, conversationId: m.conversationId, messageUuid: m.messageUuid, author: m.author, authorName: names.get(m.author) ?? m.author, text: m.text
      }))
    }
  }),
  defineFunction({
    path: 'messages:writeMessage',
    kind: 'mutation',
    access: 'player',
    description: 'Write a message as your player in your conversation (then the engine records that you finished typing).',
    args: Type.Object({
      worldId: WorldId,
      conversationId: Id('your conversation'),
      messageUuid: Type.String({ minLength: 8, maxLength: 64, description: 'a fresh id for this message (crypto.randomUUID())' }),
      playerId: Id('your own player id'),
      text: Type.String({ minLength: 1, maxLength: 2000 })
    }),
    returns: InputId,
    handler: async (ctx, args) => {
      const world = await requireWorld(ctx, args.worldId)
      // An archived (read-only) or deleting world takes no new messages: 409 before anything is written.
      await assertEngineWritable(ctx.store, world.engineId)
      const playerId = await callerPlayerId(ctx, world)
      if (args.playerId !== playerId) throw new ForbiddenError(`you are ${playerId}: you cannot write as ${args.playerId}`)
      const conversation = world.conversations.find((c) => c.id === args.conversationId)
      if (conversation === undefined || !conversation.participants.some((m) => m.playerId === playerId)) {
        throw new ForbiddenError(`you are not in conversation ${args.conversationId}`)
      }
      try {
        await ctx.store.collection<MessageDoc>('messages').insertOne({
          worldId: args.worldId, conversationId: args.conversationId, messageUuid: args.messageUuid, author: playerId, text: args.text
        })
      } catch (err) {
        // The same messageUuid again is a retry of the same message: write it once.
        if (!(err instanceof DuplicateKeyError)) throw err
      }
      const input = await submitInput(ctx.store, world.engineId, 'finishSendingMessage', {
        playerId, conversationId: args.conversationId, timestamp: ctx.now()
      }, { now: ctx.now })
      return input._id
    }
  })
]
