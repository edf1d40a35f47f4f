// The one entry point the engine calls: advance a world through the ticks of one step.
import type {
  CharacterDescription, InputReturnValue, StepInput, StepResult, WorldMap, WorldState
} from './types.ts'
import { createGame } from './game.ts'
import { applyInput } from './inputs.ts'
import { tickPlayers } from './players.ts'
import { tickConversations } from './conversations.ts'
import { tickAgents } from './agents.ts'
import { createLocationRecorder, packLocationHistory, recordTick } from './locationHistory.ts'
import { DEFAULT_MAX_ROUTE_SEARCHES_PER_STEP, MAX_TICKS_PER_STEP, TICK_MS } from './constants.ts'

export interface StepContext {
  world: WorldState
  map: WorldMap
  /** The cast `createAgent{descriptionIndex}` picks from. */
  cast: CharacterDescription[]
}

export interface StepOptions {
  /** The engine's currentTime: the time of the previous step's last tick. */
  from: number
  /** Now: ticks run at from + tickMs, from + 2·tickMs, … up to and including `to`. */
  to: number
  tickMs?: number
  maxTicks?: number
  /** Route searches allowed per step (oldest request first); the rest wait for the next step. */
  maxRouteSearchesPerStep?: number
}

/**
 * Runs the ticks in (from, to]. Inputs are applied in number order once their `received`
 * time has come; an input received after the last tick is left for the next step (it is
 * absent from `results`, so the engine must advance processedInputNumber only over what
 * it got back). A failing input yields an error return value; this never throws for a
 * bad input.
 *
 * For speed the given world is mutated in place and returned as `result.world`; a
 * caller that needs the previous state must copy it first.
 */
export function simulateStep (ctx: StepContext, inputs: StepInput[], opts: StepOptions): StepResult {
  const tickMs = opts.tickMs ?? TICK_MS
  const maxTicks = opts.maxTicks ?? MAX_TICKS_PER_STEP
  const budget = opts.maxRouteSearchesPerStep ?? DEFAULT_MAX_ROUTE_SEARCHES_PER_STEP
  if (!(tickMs > 0)) throw new RangeError('simulateStep: tickMs must be positive')
  const { world } = ctx
  const game = createGame(world, ctx.map, ctx.cast, opts.from, budget)
  const pending = [...inputs].sort((a, b) => a.number - b.number)
  const results: Array<{ number: number, returnValue: InputReturnValue }> = []
  const expectedTicks = Math.min(maxTicks, Math.max(0, Math.floor((opts.to - opts.from) / tickMs)))
  const recorder = createLocationRecorder(world.players, expectedTicks)
  let next = 0
  let ticks = 0
  let time = opts.from
  while (ticks < maxTicks && time + tickMs <= opts.to) {
    time += tickMs
    ticks++
    game.now = time
    game.hashDirty = true
    while (next < pending.length && pending[next].received <= time) {
      const input = pending[next++]
      let returnValue: InputReturnValue
      try {
        returnValue = { kind: 'ok', value: applyInput(game, input.name, input.args) ?? null }
      } catch (err) {
        returnValue = { kind: 'error', message: err instanceof Error ? err.message : String(err) }
      }
      results.push({ number: input.number, returnValue })
    }
    tickPlayers(game)
    tickConversations(game)
    tickAgents(game)
    recordTick(recorder, time, world.players)
  }
  // An agent that left during the step has nothing left to run.
  const live = new Set(world.agents.map((a) => a.id))
  const operations = game.out.operations.filter((op) => live.has(op.agentId))
  return {
    world,
    results,
    currentTime: time,
    ...game.out,
    operations,
    historicalLocations: packLocationHistory(recorder),
    stats: {
      ticks,
      routeSearches: game.routes.searches,
      agentsWaitingForPath: game.routes.waited.size,
      maxPathWaitMs: game.routes.maxWaitMs
    }
  }
}
