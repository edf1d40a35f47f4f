// Schemas shared by route modules.
import { Type } from 'typebox'

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'A stable error code, e.g. TOWNHALL_ERR_WORLD_NOT_FOUND' }),
  error: Type.String(),
  message: Type.String({ description: 'What is wrong, in words' })
}, { $id: 'ErrorResponse', description: 'Every 4xx and 5xx answer has this shape (a Convex-form call\'s function error is a 560 in Convex\'s own shape instead)' })
