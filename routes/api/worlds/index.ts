// /api/worlds: the world's state, map and descriptions, the caller's player, heartbeat, join and leave,
// a conversation's messages, and LLM usage. Each route calls the same function as /api/query|mutation and /api/ws.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { argsBody, callFunction } from '../../../src/api/http.ts'
import { WorldUsage } from '../../../src/api/functions/usage.ts'
import { PathId, errorResponses, optionalBearer, requiredBearer } from '../../../src/schemas.ts'

const errors = errorResponses({ credentials: true })
const bodyErrors = errorResponses({ body: true, credentials: true, extra: [409] })
const WorldParams = Type.Object({ worldId: PathId() })
const ConversationParams = Type.Object({ worldId: PathId(), conversationId: PathId() })
const Value = Type.Unknown()

const worlds: FastifyPluginAsyncTypebox = async (fastify) => {
  const tags = ['worlds']
  fastify.get('/default', { schema: { tags, security: optionalBearer, description: 'world:defaultWorldStatus', response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:defaultWorldStatus', 'query', {}))
  fastify.get('/:worldId/state', { schema: { tags, security: optionalBearer, description: 'world:worldState', params: WorldParams, response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:worldState', 'query', request.params))
  fastify.get('/:worldId/descriptions', { schema: { tags, security: optionalBearer, description: 'world:gameDescriptions', params: WorldParams, response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:gameDescriptions', 'query', request.params))
  fastify.get('/:worldId/usage', {
    schema: {
      tags,
      security: optionalBearer,
      description: 'world:usage: LLM calls, tokens and estimated cost (USD) over the last 24 hours, in total, per agent, per hour and per model',
      params: WorldParams,
      response: { 200: WorldUsage, ...errors }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'world:usage', 'query', request.params))
  fastify.get('/:worldId/me', { schema: { tags, security: optionalBearer, description: 'world:userStatus (null without a token)', params: WorldParams, response: { 200: Value, ...errors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:userStatus', 'query', request.params))
  fastify.get('/:worldId/players/:playerId/previous-conversation', {
    schema: { tags, security: optionalBearer, description: 'world:previousConversation', params: Type.Object({ worldId: PathId(), playerId: PathId() }), response: { 200: Value, ...errors } }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'world:previousConversation', 'query', request.params))
  fastify.post('/:worldId/heartbeat', { schema: { tags, security: optionalBearer, description: 'world:heartbeatWorld', params: WorldParams, response: { 200: Value, ...bodyErrors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:heartbeatWorld', 'mutation', request.params))
  fastify.post('/:worldId/join', {
    schema: {
      tags,
      description: 'world:joinWorld as the caller (a token from auth:newPlayerToken): returns the join input\'s id',
      security: requiredBearer,
      params: WorldParams,
      body: Type.Optional(argsBody(fastify, 'world:joinWorld', ['worldId'])),
      response: { 200: Value, ...bodyErrors }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'world:joinWorld', 'mutation', { ...(request.body as Record<string, unknown> | undefined), ...request.params }))
  fastify.post('/:worldId/leave', { schema: { tags, security: requiredBearer, description: 'world:leaveWorld', params: WorldParams, response: { 200: Value, ...bodyErrors } } },
    async (request, reply) => await callFunction(fastify, request, reply, 'world:leaveWorld', 'mutation', request.params))
  fastify.get('/:worldId/conversations/:conversationId/messages', {
    schema: { tags: ['messages'], security: optionalBearer, description: 'messages:listMessages', params: ConversationParams, response: { 200: Value, ...errors } }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'messages:listMessages', 'query', request.params))
  fastify.post('/:worldId/conversations/:conversationId/messages', {
    schema: {
      tags: ['messages'],
      description: 'messages:writeMessage',
      security: requiredBearer,
      params: ConversationParams,
      body: argsBody(fastify, 'messages:writeMessage', ['worldId', 'conversationId']),
      response: { 200: Value, ...bodyErrors }
    }
  }, async (request, reply) => await callFunction(fastify, request, reply, 'messages:writeMessage', 'mutation', { ...(request.body as Record<string, unknown> | undefined), ...request.params }))
}

export default worlds
