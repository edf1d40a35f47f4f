// Schemas the functions share.
import { Type } from 'typebox'

export const Id = (description: string): ReturnType<typeof Type.String> => Type.String({ minLength: 1, maxLength: 200, description })
export const WorldId = Id('a world id (from world:defaultWorldStatus)')
export const Anything = Type.Unknown()
export const InputId = Type.String({ description: 'an input id: watch it with aiTown/main:inputStatus' })
export const ReturnValue = Type.Union([
  Type.Object({ kind: Type.Literal('ok'), value: Type.Unknown() }),
  Type.Object({ kind: Type.Literal('error'), message: Type.String() })
])
export const WorldStatus = Type.Object({
  _id: Type.String(),
  _creationTime: Type.Number(),
  worldId: Type.String(),
  engineId: Type.String(),
  status: Type.String(),
  isDefault: Type.Boolean(),
  lastViewed: Type.Number()
})
