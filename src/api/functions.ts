// Every function of the API, registered once.
import { FunctionRegistry } from './registry.ts'
import { worldFunctions } from './functions/world.ts'
import { messageFunctions } from './functions/messages.ts'
import { mainFunctions } from './functions/main.ts'
import { testingFunctions } from './functions/testing.ts'
import { usageFunctions } from './functions/usage.ts'
import { musicFunctions } from './functions/music.ts'
import { authFunctions } from './functions/auth.ts'

export function createRegistry (): FunctionRegistry {
  return new FunctionRegistry().add(...worldFunctions, ...messageFunctions, ...mainFunctions, ...testingFunctions, ...usageFunctions, ...musicFunctions, ...authFunctions)
}
