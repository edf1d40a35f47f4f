// The client agents use: every call goes through the instance's pool and is checked against the world's
// pause and budget, once when it is made and again when its turn comes. A pause also stops the calls in flight.
import { createSignalLinker } from './client.ts'
import { heldError, type LlmControls } from './controls.ts'
import { LlmError } from './errors.ts'
import type { LlmPool } from './pool.ts'
import type { CallOptions, ChatRequest, ChatResult, LlmClient } from './types.ts'

export interface GovernedClientOptions {
  client: LlmClient
  pool: LlmPool
  controls?: LlmControls
}

interface Running { worldId: string, controller: AbortController }

export function createGovernedClient (o: GovernedClientOptions): LlmClient {
  const { client, pool, controls } = o
  const link = createSignalLinker()
  const running = new Set<Running>()
  controls?.onHold((worldId, hold) => {
    if (hold.reason !== 'paused') return
    for (const call of running) {
      if (worldId === null || call.worldId === worldId) call.controller.abort(heldError(hold, call.worldId))
    }
  })

  const check = async (worldId: string): Promise<void> => {
    if (controls === undefined) return
    const hold = await controls.hold(worldId)
    if (hold !== null) throw heldError(hold, worldId)
  }

  async function governed<T> (options: CallOptions, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const worldId = options.attribution?.worldId ?? ''
    await check(worldId)
    const ticket = { worldId, agentId: options.attribution?.agentId ?? '', priority: options.priority ?? 'conversation', signal: options.signal } as const
    return await pool.run(ticket, async () => {
      await check(worldId)
      const entry: Running = { worldId, controller: new AbortController() }
      const linked = link(options.signal, entry.controller.signal)
      running.add(entry)
      try {
        return await call(linked.signal)
      } catch (err) {
        // Stopped by a pause: say so, rather than "cancelled".
        const reason: unknown = entry.controller.signal.reason
        if (entry.controller.signal.aborted && reason instanceof LlmError) throw reason
        throw err
      } finally {
        running.delete(entry)
        linked.release()
      }
    })
  }

  return {
    name: client.name,
    mode: client.mode,
    dimension: client.dimension,
    info: client.info,
    async chat (request: ChatRequest): Promise<ChatResult> {
      return await governed(request, async (signal) => await client.chat({ ...request, signal }))
    },
    async embed (texts: string[], options: CallOptions = {}): Promise<Float32Array[]> {
      if (texts.length === 0) return []
      return await governed(options, async (signal) => await client.embed(texts, { ...options, signal }))
    }
  }
}
