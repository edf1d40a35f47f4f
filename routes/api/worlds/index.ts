// /api/worlds: the world's state, map and descriptions, the caller's player, heartbeat, join and leave,
// a conversation's messages, and LLM usage. Each route calls the same function as /api/query|mutation and /api/ws.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callFunction } from '../../../src/api/http.ts'
import { WorldUsage } from '../../../src/api/functions/usage.ts'

const ErrorRef = Type.Ref('ErrorResponse')
const errors = { 400: ErrorRef, 401: ErrorRef, 403: ErrorRef, 404: ErrorRef, 429: ErrorRef }
const WorldParams = Type.Object({ worldId: Type.String({ minLength: 1, maxLength: 200 }) })
const ConversationParams = Type.Object({ worldId: Type.String({ minLength: 1, maxLength: 200 }), conversationId: Type.String({ minLength: 1, maxLength: 200 }) })
const Value = Type.Unknown()

const worlds: FastifyPluginAsyncTypebox = async (fastify) => {
  const tags = ['worlds']
  fastify.get('/default', { schema: { tags, description: 'world:defaultWorldStatus', response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:defaultWorldStatus', 'query', {}))
  fastify.get('/:worldId/state', { schema: { tags, description: 'world:worldState', params: WorldParams, response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:worldState', 'query', request.params))
  fastify.get('/:worldId/descriptions', { schema: { tags, description: 'world:gameDescriptions', params: WorldParams, response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:gameDescriptions', 'query', request.params))
  fastify.get('/:worldId/usage', {
    schema: {
      tags,
      description: 'world:usage: LLM calls, tokens and estimated cost (USD) over the last 24 hours, in total, per agent, per hour and per model',
      params: WorldParams,
      response: { 200: WorldUsage, ...errors }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'world:usage', 'query', request.params))
  fastify.get('/:worldId/me', { schema: { tags, description: 'world:userStatus', security: [{ bearer: [] }], params: WorldParams, response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:userStatus', 'query', request.params))
  fastify.get('/:worldId/players/:playerId/previous-conversation', {
    schema: { tags, description: 'world:previousConversation', params: Type.Object({ worldId: Type.String({ minLength: 1, maxLength: 200 }), playerId: Type.String({ minLength: 1, maxLength: 200 }) }), response: { 200: Value, ...errors } }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'world:previousConversation', 'query', request.params))
  fastify.post('/:worldId/heartbeat', { schema: { tags, description: 'world:heartbeatWorld', params: WorldParams, response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:heartbeatWorld', 'mutation', request.params))
  fastify.post('/:worldId/join', {
    schema: {
      tags,
      description: 'world:joinWorld as the caller (a token from auth:newPlayerToken): returns the join input\'s id',
      security: [{ bearer: [] }],
      params: WorldParams,
      body: Type.Optional(Type.Object({ name: Type.Optional(Type.String()), character: Type.Optional(Type.String()), description: Type.Optional(Type.String()) })),
      response: { 200: Value, ...errors }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'world:joinWorld', 'mutation', { ...request.body, ...request.params }))
  fastify.post('/:worldId/leave', { schema: { tags, description: 'world:leaveWorld', security: [{ bearer: [] }], params: WorldParams, response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:leaveWorld', 'mutation', request.params))
  fastify.get('/:worldId/conversations/:conversationId/messages', {
    schema: { tags: ['messages'], description: 'messages:listMessages', params: ConversationParams, response: { 200: Value, ...errors } }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'messages:listMessages', 'query', request.params))
  fastify.post('/:worldId/conversations/:conversationId/messages', {
    schema: {
      tags: ['messages'],
      description: 'messages:writeMessage',
      security: [{ bearer: [] }],
      params: ConversationParams,
      body: Type.Object({ messageUuid: Type.String(), playerId: Type.String(), text: Type.String() }),
      response: { 200: Value, ...errors }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'messages:writeMessage', 'mutation', { ...request.body, ...request.params }))
}

export default worlds
