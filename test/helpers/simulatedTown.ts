// A world run by the real runner and agent operations in simulated time (each step is 1 s of game time, run
// as soon as the previous step's operations are done), and an LLM client that records every chat request.
import type { Store } from '../../src/store/types.ts'
import { WorldRunner, type RunnerOptions } from '../../src/engine/runner.ts'
import { runOperation, type AgentBrain } from '../../src/engine/operations.ts'
import type { ChatRequest, LlmClient } from '../../src/llm/types.ts'
import { quietLog } from './engine.ts'
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
export function startSimulatedRunner (t: Teardownable, o: { store: Store, worldId: string, brain: AgentBrain, now: () => number, advance: () => void, runner?: Pick<RunnerOptions, 'snapshots' | 'measureWrites' | 'onStep'> }): WorldRunner {
  const pending = new Set<Promise<void>>()
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
