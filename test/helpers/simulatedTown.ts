// A world run by the real runner and agent operations in simulated time (each step is 1 s of game time, run
// as soon as the previous step's operations are done), and an LLM client that records every chat request.
import type { Store } from '../../src/store/types.ts'
import { WorldRunner, type RunnerOptions } from '../../src/engine/runner.ts'
import { runOperation, type AgentBrain } from '../../src/engine/operations.ts'
import type { ChatRequest, LlmClient } from '../../src/llm/types.ts'
import { quietLog, readWorld, waitFor } from './engine.ts'
import type { WorldStatusDoc } from '../../src/engine/types.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import { submitInput } from '../../src/engine/inputs.ts'
import { createOfflineClient } from '../../src/llm/offline.ts'
import { MemoryService } from '../../src/agents/memory.ts'
import { llmBrain } from '../../src/agents/brain.ts'
import { storeEmbeddingCache } from '../../src/agents/embeddingStore.ts'
import { createExactIndex } from '../../src/vector/exact.ts'
import { defaultCast } from '../../src/game/data/index.ts'
import type { Teardownable } from './stores.ts'

/** `inner`, with every chat request handed to `onChat` first. */
export function recordingClient (inner: LlmClient, onChat: (request: ChatRequest) => void): LlmClient {
  return {
    name: inner.name,
    mode: inner.mode,
    dimension: inner.dimension,
    info: inner.info,
    chat: async (request) => { onChat(request); return await inner.chat(request) },
    embed: async (texts, options) => await inner.embed(texts, options)
  }
}

/** Starts a runner for `worldId` whose sleep waits for the step's operations, then calls `advance` (1 s on). */
export function startSimulatedRunner (t: Teardownable, o: { store: Store, worldId: string, brain: AgentBrain, now: () => number, advance: () => void, runner?: Pick<RunnerOptions, 'snapshots' | 'measureWrites' | 'onStep'>, pending?: Set<Promise<void>> }): WorldRunner {
  // The agents' operations in flight (the caller's set, when it must wait for them after a stop).
  const pending = o.pending ?? new Set<Promise<void>>()
  const runner: WorldRunner = new WorldRunner({
    store: o.store,
    worldId: o.worldId,
    instanceId: 'test',
    now: o.now,
    log: quietLog,
    leaseMs: 3600_000,
    ...o.runner,
    sleep: async () => {
      await Promise.allSettled([...pending])
      o.advance()
      // The embedded store answers synchronously: yield to timers so the test's polling can run.
      await new Promise((resolve) => setImmediate(resolve))
    },
    startOperation: (op, r) => {
      const p = runOperation({ store: o.store, worldId: o.worldId, engineId: r.engineId!, map: r.map!, brain: o.brain, now: o.now, world: () => r.world!, log: quietLog }, op)
      pending.add(p)
      p.finally(() => pending.delete(p)).catch(() => {})
    }
  })
  t.teardown(async () => { await runner.stop() })
  runner.start().catch(() => {})
  return runner
}

/**
 * The default town run for `ms` of game time with the offline provider, a human (Alice) walking somewhere every
 * `moveEveryMs`, her inputs stamped on the game clock; the runner is stopped, and its operations have ended, when it returns.
 */
export async function runOfflineTown (t: Teardownable, store: Store, o: { ms: number, moveEveryMs: number, seed: number, isDefault?: boolean, runner: Pick<RunnerOptions, 'snapshots' | 'measureWrites' | 'onStep'> }): Promise<{ status: WorldStatusDoc, moves: number, now: () => number }> {
  let clock = Date.parse('2026-11-22T09:00:00Z')
  const started = clock
  const now = (): number => clock
  const llm = createOfflineClient({ dimension: 64 })
  const memories = new MemoryService({ store, llm, cache: storeEmbeddingCache(store), index: createExactIndex({ dimension: 64 }), now, log: quietLog })
  const brain = llmBrain({ store, llm, memories, now })
  const status = await createWorldRecords(store, { now: clock, cast: defaultCast, agents: defaultCast.length, seed: o.seed, isDefault: o.isDefault })
  const pending = new Set<Promise<void>>()
  const runner = startSimulatedRunner(t, { store, worldId: status.worldId, brain, now, advance: () => { clock += 1000 }, runner: o.runner, pending })
  await submitInput(store, status.engineId, 'join', { name: 'Alice', character: 'f3', description: 'a visitor', tokenIdentifier: 'human:alice' }, { now })
  let moves = 0
  let lastMove = clock
  await waitFor(`${o.ms / 1000} s of game time`, async () => {
    if (clock - lastMove >= o.moveEveryMs) {
      lastMove = clock
      const human = (await readWorld(store, status.worldId)).players.find((p) => p.human === 'human:alice')
      if (human !== undefined) {
        await submitInput(store, status.engineId, 'moveTo', { playerId: human.id, destination: { x: 3 + (moves * 7) % 30, y: 3 + (moves * 5) % 20 } }, { now })
        moves++
      }
    }
    return clock >= started + o.ms
  }, 240_000)
  await runner.stop()
  // Operations the last steps started still end by submitting their results as inputs: a town that has
  // returned writes nothing more (an export and a count of its inputs agree).
  while (pending.size > 0) await Promise.allSettled([...pending])
  return { status, moves, now }
}
