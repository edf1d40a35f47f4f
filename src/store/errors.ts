import createError from '@fastify/error'

export const DuplicateKeyError = createError('TOWNHALL_ERR_DUPLICATE_KEY', 'duplicate key in %s: %s', 409)
export const UnsupportedQueryError = createError('TOWNHALL_ERR_UNSUPPORTED_QUERY', 'unsupported query: %s', 500)
export const StoreUnavailableError = createError('TOWNHALL_ERR_STORE_UNAVAILABLE', '%s', 503)

export function isDuplicateKeyError (err: unknown): boolean {
  return err instanceof DuplicateKeyError
}
