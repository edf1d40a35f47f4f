// API errors, each with a stable code and status (fastify's style).
import createError from '@fastify/error'

export const UnknownFunctionError = createError<[string]>('TOWNHALL_ERR_UNKNOWN_FUNCTION', 'no function %s', 404)
export const WrongKindError = createError<[string, string, string]>('TOWNHALL_ERR_WRONG_KIND', '%s is a %s, not a %s', 400)
export const BadArgumentsError = createError<[string, string]>('TOWNHALL_ERR_BAD_ARGUMENTS', 'bad arguments for %s: %s', 400)
export const NotFoundError = createError<[string]>('TOWNHALL_ERR_NOT_FOUND', '%s', 404)
export const UnauthorizedError = createError<[string]>('TOWNHALL_ERR_UNAUTHORIZED', '%s', 401)
export const ForbiddenError = createError<[string]>('TOWNHALL_ERR_FORBIDDEN', '%s', 403)
export const AdminDisabledError = createError('TOWNHALL_ERR_ADMIN_DISABLED', 'admin functions are disabled: set ADMIN_API_KEY to enable them', 403)
// The value codec's own 400 (TOWNHALL_ERR_BAD_ARGUMENTS): a plain class there, because the browser viewer imports the codec.
export { BadConvexValueError } from './convexJson.ts'
export const BadCallError = createError<[string]>('TOWNHALL_ERR_BAD_CALL', 'bad call: %s', 400)
