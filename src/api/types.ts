// The API's types, derived from the function definitions, for the typed client.
import type { Static } from 'typebox'
import type { worldFunctions } from './functions/world.ts'
import type { messageFunctions } from './functions/messages.ts'
import type { mainFunctions } from './functions/main.ts'
import type { testingFunctions } from './functions/testing.ts'
import type { usageFunctions } from './functions/usage.ts'
import type { musicFunctions } from './functions/music.ts'
import type { authFunctions } from './functions/auth.ts'

type Defs = typeof worldFunctions[number] | typeof messageFunctions[number] | typeof mainFunctions[number] | typeof testingFunctions[number] | typeof usageFunctions[number] | typeof musicFunctions[number] | typeof authFunctions[number]

export type FunctionPath = Defs['path']
type DefOf<P extends FunctionPath> = Extract<Defs, { path: P }>
export type ArgsOf<P extends FunctionPath> = Static<DefOf<P>['args']>
export type ResultOf<P extends FunctionPath> = Static<DefOf<P>['returns']>
export type PathsOfKind<K extends 'query' | 'mutation' | 'action'> = Extract<Defs, { kind: K }>['path']
