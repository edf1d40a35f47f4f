// main:inputStatus — an input's return value once the engine has applied it.
import { Type } from 'typebox'
import { defineFunction } from '../registry.ts'
import { NotFoundError } from '../errors.ts'
import { inputStatus } from '../../engine/inputs.ts'
import { Id, ReturnValue } from './schemas.ts'

const inputStatusQuery = <P extends string>(path: P) => defineFunction({
  path,
  kind: 'query',
  access: 'public',
  description: 'null while the input waits for the engine, then its return value.',
  args: Type.Object({ inputId: Id('from a mutation that queued an input') }),
  returns: Type.Union([ReturnValue, Type.Null()]),
  tables: ['inputs'],
  affectedBy: (e, args) => e.id === args.inputId,
  handler: async (ctx, { inputId }) => {
    const input = await inputStatus(ctx.store, inputId)
    if (input === null) throw new NotFoundError(`no input ${inputId}`)
    return input.returnValue ?? null
  }
})

// AI Town's front end names it by its module path, aiTown/main; main:inputStatus is the short name.
export const mainFunctions = [inputStatusQuery('aiTown/main:inputStatus'), inputStatusQuery('main:inputStatus')]
