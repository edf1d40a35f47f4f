// Who is watching which world, across instances: each instance counts its own viewers (clients subscribed to
// a world's state) and, with Redis, publishes the counts so every instance knows the total. Ephemeral: never stored.

export interface PresenceMessage { instanceId: string, worldId: string, viewers: number }

export interface PresenceOptions {
  instanceId: string
  /** Sends a message to the other instances (Redis PUBLISH); absent on a single instance. */
  publish?: (message: PresenceMessage) => void
  /** Called when a world's total changes (the hub re-runs world:presence). */
  onChange: (worldId: string) => void
  now?: () => number
  /** A remote instance's count expires unless repeated within this time. */
  ttlMs?: number
}

export class Presence {
  readonly #o: Required<Omit<PresenceOptions, 'publish'>> & Pick<PresenceOptions, 'publish'>
  readonly #local = new Map<string, Set<number>>()
  readonly #remote = new Map<string, Map<string, { viewers: number, at: number }>>()

  constructor (options: PresenceOptions) {
    this.#o = { now: Date.now, ttlMs: 30_000, ...options }
  }

  viewers (worldId: string): number {
    let total = this.#local.get(worldId)?.size ?? 0
    const now = this.#o.now()
    for (const [instanceId, entry] of this.#remote.get(worldId) ?? []) {
      if (now - entry.at <= this.#o.ttlMs) total += entry.viewers
      else this.#remote.get(worldId)!.delete(instanceId)
    }
    return total
  }

  join (worldId: string, clientId: number): void {
    let set = this.#local.get(worldId)
    if (set === undefined) this.#local.set(worldId, set = new Set())
    if (set.has(clientId)) return
    set.add(clientId)
    this.#changed(worldId)
  }

  leave (worldId: string, clientId: number): void {
    const set = this.#local.get(worldId)
    if (set === undefined || !set.delete(clientId)) return
    if (set.size === 0) this.#local.delete(worldId)
    this.#changed(worldId)
  }

  /** A count from another instance. */
  receive (message: PresenceMessage): void {
    if (message.instanceId === this.#o.instanceId) return
    let perWorld = this.#remote.get(message.worldId)
    if (perWorld === undefined) this.#remote.set(message.worldId, perWorld = new Map())
    const before = perWorld.get(message.instanceId)?.viewers
    perWorld.set(message.instanceId, { viewers: message.viewers, at: this.#o.now() })
    if (before !== message.viewers) this.#o.onChange(message.worldId)
  }

  /** Repeats this instance's counts so they do not expire elsewhere. */
  republish (): void {
    for (const [worldId, set] of this.#local) this.#o.publish?.({ instanceId: this.#o.instanceId, worldId, viewers: set.size })
  }

  #changed (worldId: string): void {
    this.#o.publish?.({ instanceId: this.#o.instanceId, worldId, viewers: this.#local.get(worldId)?.size ?? 0 })
    this.#o.onChange(worldId)
  }
}
