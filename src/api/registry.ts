// The named functions of the API (AI Town's client API), each with schemas for its arguments and result.
// Exposed by the REST routes, the Convex-style endpoints and the WebSocket.
import { Compile } from 'typebox/compile'
import type { Static, TSchema } from 'typebox'
import type { CollectionName } from '../store/collections.ts'
import type { ChangeEvent, Store } from '../store/types.ts'
import type { EngineSupervisor } from '../engine/supervisor.ts'
import type { Caller } from './auth.ts'
import { AdminDisabledError, BadArgumentsError, ForbiddenError, UnauthorizedError, UnknownFunctionError, WrongKindError } from './errors.ts'

export type FunctionKind = 'query' | 'mutation' | 'action'
export type Access = 'public' | 'player' | 'admin'

export interface FunctionContext {
  store: Store
  engine: EngineSupervisor
  caller: Caller
  adminEnabled: boolean
  now: () => number
  /** Where browsers reach this service (asset URLs in maps are built on it). */
  publicUrl: string
  /** How many clients watch a world, across instances (ephemeral, not stored). */
  viewers?: (worldId: string) => number
  log: { info: (obj: object, msg: string) => void, warn: (obj: object, msg: string) => void }
}

export interface FunctionDef<A extends TSchema = TSchema, R extends TSchema = TSchema, P extends string = string, K extends FunctionKind = FunctionKind> {
  path: P
  kind: K
  access: Access
  description: string
  args: A
  returns: R
  handler: (ctx: FunctionContext, args: Static<A>) => Promise<Static<R>>
  /** Queries: the collections whose changes can affect the result (for live subscriptions). */
  tables?: readonly CollectionName[]
  /** Queries: a cheap filter on a change event; false means it cannot affect these args. */
  affectedBy?: (event: ChangeEvent, args: Static<A>) => boolean
  /** Queries whose result depends on who asks (subscriptions are then per caller). */
  perCaller?: boolean
  /**
   * Queries: another query over the same args that must be re-read after this one when `when` says so, and
   * delivered with it (world:worldState's new players need their descriptions in the same update).
   */
  companion?: { path: string, when: (before: unknown, after: unknown) => boolean }
}

export function defineFunction<P extends string, K extends FunctionKind, A extends TSchema, R extends TSchema> (def: FunctionDef<A, R, P, K>): FunctionDef<A, R, P, K> {
  return def
}

/** Arguments deeper or larger than this are refused before anything else looks at them. */
export const MAX_ARGS_DEPTH = 16
export const MAX_ARGS_BYTES = 64 * 1024

/** Depth and approximate size of a JSON value, walked iteratively so hostile nesting cannot overflow the stack. */
export function jsonShape (value: unknown, maxDepth: number, maxBytes: number): 'ok' | 'too-deep' | 'too-large' {
  const stack: Array<[unknown, number]> = [[value, 0]]
  let bytes = 0
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (depth > maxDepth) return 'too-deep'
    if (typeof node === 'string') bytes += node.length + 2
    else if (node !== null && typeof node === 'object') {
      const entries = Array.isArray(node) ? node : Object.entries(node)
      bytes += 2
      for (const entry of entries) {
        if (Array.isArray(node)) stack.push([entry, depth + 1])
        else {
          const [key, child] = entry as [string, unknown]
          bytes += key.length + 3
          stack.push([child, depth + 1])
        }
      }
    } else bytes += 8
    if (bytes > maxBytes) return 'too-large'
  }
  return 'ok'
}

interface Compiled { def: FunctionDef, check: (value: unknown) => boolean, firstError: (value: unknown) => string }

export class FunctionRegistry {
  readonly #functions = new Map<string, Compiled>()

  add (...defs: Array<FunctionDef<any, any>>): this {
    for (const def of defs) {
      const validator = Compile(def.args)
      this.#functions.set(def.path, {
        def,
        check: (value) => validator.Check(value),
        firstError: (value) => {
          const [error] = validator.Errors(value)
          if (error === undefined) return 'invalid'
          const where = error.instancePath === '' ? 'args' : `args${error.instancePath.replace(/\//g, '.')}`
          return `${where} ${error.message}`
        }
      })
    }
    return this
  }

  get (path: string): FunctionDef | undefined {
    return this.#functions.get(path)?.def
  }

  list (): FunctionDef[] {
    return [...this.#functions.values()].map((c) => c.def)
  }

  /** Finds, authorises and validates a call; throws a 4xx error that says what is wrong. */
  resolve (path: unknown, kind: FunctionKind | null, args: unknown, ctx: Pick<FunctionContext, 'caller' | 'adminEnabled'>): { def: FunctionDef, args: unknown } {
    if (typeof path !== 'string' || path === '') throw new BadArgumentsError('call', '"path" must be a function name such as "world:worldState"')
    const compiled = this.#functions.get(path)
    if (compiled === undefined) throw new UnknownFunctionError(path)
    const { def } = compiled
    if (kind !== null && def.kind !== kind) throw new WrongKindError(path, def.kind, kind)
    if (def.access === 'admin') {
      if (!ctx.adminEnabled) throw new AdminDisabledError()
      if (ctx.caller.kind === 'anonymous') throw new UnauthorizedError(`${path} needs the admin key (Authorization: Bearer <ADMIN_API_KEY>)`)
      if (ctx.caller.kind !== 'admin') throw new ForbiddenError(`${path} is for the admin only`)
    }
    if (def.access === 'player' && ctx.caller.kind !== 'player') {
      throw new UnauthorizedError(`${path} needs an identity: a token from auth:newPlayerToken as Authorization: Bearer <token> (a Convex sync session has its own)`)
    }
    const value = args ?? {}
    const shape = jsonShape(value, MAX_ARGS_DEPTH, MAX_ARGS_BYTES)
    if (shape === 'too-deep') throw new BadArgumentsError(path, `args are nested deeper than ${MAX_ARGS_DEPTH} levels`)
    if (shape === 'too-large') throw new BadArgumentsError(path, `args are larger than ${MAX_ARGS_BYTES / 1024} KiB`)
    if (!compiled.check(value)) throw new BadArgumentsError(path, compiled.firstError(value))
    return { def, args: value }
  }

  async call (path: unknown, kind: FunctionKind | null, args: unknown, ctx: FunctionContext): Promise<unknown> {
    const resolved = this.resolve(path, kind, args, ctx)
    return await resolved.def.handler(ctx, resolved.args as never)
  }
}
