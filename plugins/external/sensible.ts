import sensible from '@fastify/sensible'

export const autoConfig = {}

/** httpErrors and assertions for handlers (https://github.com/fastify/fastify-sensible). */
export default sensible
