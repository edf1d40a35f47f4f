// auth:* — an identity for clients that have no session of their own (HTTP, /api/ws).
import { Type } from 'typebox'
import { defineFunction } from '../registry.ts'
import { newPlayerToken } from '../auth.ts'

export const authFunctions = [
  defineFunction({
    path: 'auth:newPlayerToken',
    kind: 'mutation',
    access: 'public',
    description: 'A fresh identity: send the token as Authorization: Bearer <token> (HTTP), ?token= (/api/ws) or with Authenticate (Convex sync, setAuth) to act as one human. The identifier is what world:userStatus returns and the `human` field of your player. Convex sync sessions have an identity of their own without this.',
    args: Type.Object({}),
    returns: Type.Object({ token: Type.String({ description: 'a secret: keep it' }), tokenIdentifier: Type.String() }),
    handler: async () => newPlayerToken()
  })
]
