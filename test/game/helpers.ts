// Test helpers for the pure game core: hand-made maps and a small driver that plays the
// engine's part (numbers inputs, steps the world, collects what steps report).
import { simulateStep } from '../../src/game/step.ts'
import { createWorld } from '../../src/game/world.ts'
import { doSomething, doSomethingSnapshot } from '../../src/game/doSomething.ts'
import { createRng } from '../../src/game/rng.ts'
import type {
  AgentOperation, CharacterDescription, InputReturnValue, Player, StepResult, WorldMap, WorldState
} from '../../src/game/types.ts'

/** A map from rows of text: '#' blocks, anything else is free. rows[y][x]. */
export function mapFromRows (rows: string[]): WorldMap {
  const height = rows.length
  const width = rows[0].length
  const objects: number[][] = []
  const bg: number[][] = []
  for (let x = 0; x < width; x++) {
    objects.push([])
    bg.push([])
    for (let y = 0; y < height; y++) {
      objects[x].push(rows[y][x] === '#' ? 1 : -1)
      bg[x].push(0)
    }
  }
  return { width, height, tileDim: 32, bgTiles: [bg], objectTiles: [objects] }
}

export function openMap (width: number, height: number): WorldMap {
  return mapFromRows(Array.from({ length: height }, () => '.'.repeat(width)))
}

export const CAST: CharacterDescription[] = [
  { name: 'Ada', character: 'f1', identity: 'Ada likes clocks.', plan: 'Talk about clocks.' },
  { name: 'Bram', character: 'f2', identity: 'Bram grows beans.', plan: 'Find a gardener.' },
  { name: 'Cleo', character: 'f3', identity: 'Cleo writes letters.', plan: 'Post a letter.' }
]

export const T0 = 1_700_000_000_000

export class Sim {
  world: WorldState
  time = T0
  nextNumber = 1
  queued: Array<{ number: number, name: string, args: unknown, received: number }> = []
  results = new Map<number, InputReturnValue>()
  operations: AgentOperation[] = []
  steps: StepResult[] = []
  routeBudget?: number

  constructor (public map: WorldMap, seed: number | string = 1, public cast: CharacterDescription[] = CAST) {
    this.world = createWorld(seed)
  }

  /** Queues an input received now; returns its number. */
  send (name: string, args: unknown): number {
    const number = this.nextNumber++
    this.queued.push({ number, name, args, received: this.time })
    return number
  }

  /** Runs steps of at most 1 s until `ms` have passed. */
  advance (ms: number): void {
    const end = this.time + ms
    while (this.time < end) {
      const to = Math.min(end, this.time + 1000)
      const result = simulateStep({ world: this.world, map: this.map, cast: this.cast }, this.queued, {
        from: this.time,
        to,
        ...(this.routeBudget !== undefined ? { maxRouteSearchesPerStep: this.routeBudget } : {})
      })
      if (result.stats.ticks === 0) break
      const done = new Set(result.results.map((r) => r.number))
      this.queued = this.queued.filter((i) => !done.has(i.number))
      for (const r of result.results) this.results.set(r.number, r.returnValue)
      this.operations.push(...result.operations)
      this.steps.push(result)
      this.world = result.world
      this.time = result.currentTime
    }
  }

  /** Sends one input and runs a single tick; returns its return value. */
  input (name: string, args: unknown): InputReturnValue {
    const number = this.send(name, args)
    this.advance(16)
    const value = this.results.get(number)
    if (!value) throw new Error(`input ${number} was not processed`)
    return value
  }

  /** Like input, but throws unless the input succeeded; returns its value. */
  ok<T = unknown>(name: string, args: unknown): T {
    const r = this.input(name, args)
    if (r.kind !== 'ok') throw new Error(`${name} failed: ${r.message}`)
    return r.value as T
  }

  player (id: string): Player {
    const p = this.world.players.find((q) => q.id === id)
    if (!p) throw new Error(`no player ${id}`)
    return p
  }

  join (name = 'Zed', tokenIdentifier?: string): string {
    return this.ok<string>('join', { name, character: 'f1', description: `${name} is a test player`, ...(tokenIdentifier ? { tokenIdentifier } : {}) })
  }

  /** Places a player exactly (test setup only). */
  place (id: string, x: number, y: number): void {
    const p = this.player(id)
    p.position = { x, y }
    delete p.pathfinding
    p.speed = 0
  }
}

/**
 * Plays the engine's part for agent operations without a language model: decisions from
 * the pure doSomething, instant "messages" and memories. Deterministic per operation id.
 */
export function serveOperations (sim: Sim, from: number): number {
  const pending = sim.operations.slice(from)
  for (const op of pending) {
    if (op.name === 'doSomething') {
      const snap = doSomethingSnapshot(sim.world, sim.map, op.agentId, sim.time, createRng(op.operationId))
      if (!snap) continue
      sim.send('finishDoSomething', { operationId: op.operationId, agentId: op.agentId, ...doSomething(snap) })
    } else if (op.name === 'rememberConversation') {
      sim.send('finishRememberConversation', { operationId: op.operationId, agentId: op.agentId })
    } else {
      sim.send('agentFinishSendingMessage', {
        operationId: op.operationId,
        agentId: op.agentId,
        conversationId: op.args.conversationId,
        timestamp: sim.time,
        leaveConversation: op.args.type === 'leave'
      })
    }
  }
  return sim.operations.length
}
