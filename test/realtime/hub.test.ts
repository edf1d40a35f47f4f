// The subscription hub over a real store and change feed: coalescing, versions, skip-ahead for slow clients.
import { test } from 'tap'
import { Type } from 'typebox'
import { storeTargets } from '../helpers/stores.ts'
import { quietLog, waitFor } from '../helpers/engine.ts'
import { FunctionRegistry, defineFunction, type FunctionContext } from '../../src/api/registry.ts'
import { RealtimeHub, type HubClient, type OutgoingFrame } from '../../src/realtime/hub.ts'
import type { Store } from '../../src/store/types.ts'

const counter = defineFunction({
  path: 'test:counter',
  kind: 'query',
  access: 'public',
  description: 'the counter document',
  args: Type.Object({ id: Type.String() }),
  returns: Type.Unknown(),
  tables: ['engines'],
  affectedBy: (e, args) => e.id === args.id,
  handler: async (ctx, { id }) => (await ctx.store.collection('engines').findOne({ _id: id }))?.n ?? null
})

interface Received { id: string, version: number, value: unknown }

function fakeSocket (id: number): HubClient & { frames: Received[], buffered: number, closedWith: number | null } {
  const c = {
    id,
    caller: { kind: 'anonymous' } as const,
    frames: [] as Received[],
    buffered: 0,
    closedWith: null as number | null,
    send (data: OutgoingFrame) { c.frames.push(JSON.parse(typeof data === 'string' || Buffer.isBuffer(data) ? String(data) : data[0] + String(data[1])) as Received) },
    bufferedAmount: () => c.buffered,
    close (code: number) { c.closedWith = code }
  }
  return c
}

async function hubOn (t: { teardown: (fn: () => unknown) => void }, store: Store): Promise<RealtimeHub> {
  const feed = await store.openChangeFeed()
  const registry = new FunctionRegistry().add(counter)
  const hub = new RealtimeHub({
    registry,
    feed,
    log: quietLog,
    coalesceMs: 20,
    softLimitBytes: 1000,
    hardLimitBytes: 10_000,
    context: (caller) => ({ store, caller, adminEnabled: false, now: Date.now, log: quietLog, engine: null as never } satisfies FunctionContext)
  })
  hub.start()
  await feed.ready()
  t.teardown(async () => { await hub.close(); await feed.close() })
  return hub
}

for (const target of storeTargets()) {
  test(`hub: current value, then coalesced changes with growing versions (${target.name})`, async (t) => {
    const { store } = await target.fresh(t)
    const engines = store.collection('engines')
    await engines.insertOne({ _id: 'c', n: 0 })
    const hub = await hubOn(t, store)
    const a = fakeSocket(1)
    const b = fakeSocket(2)
    await hub.subscribe(a, 's', 'test:counter', { id: 'c' })
    await hub.subscribe(b, 'x', 'test:counter', { id: 'c' })
    t.same(a.frames, [{ type: 'value', id: 's', version: 1, value: 0 }], 'the current value first')
    t.equal(hub.stats.groups, 1, 'two subscribers of the same query share one computation')
    for (let i = 1; i <= 50; i++) await engines.updateOne({ _id: 'c' }, { $set: { n: i } })
    await waitFor('the last value', async () => a.frames.at(-1)?.value === 50 && b.frames.at(-1)?.value === 50)
    t.ok(a.frames.length < 51, `a burst of 50 writes was coalesced into ${a.frames.length - 1} updates`)
    const versions = a.frames.map((f) => f.version)
    t.same(versions, [...versions].sort((x, y) => x - y), 'versions only grow')
    t.equal(new Set(versions).size, versions.length, 'no value delivered twice')
    await engines.insertOne({ _id: 'other', n: 1 })
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.equal(a.frames.at(-1)?.value, 50, 'changes to other documents do not wake the subscription')
    hub.unsubscribe(a, 's')
    hub.removeClient(b)
    t.equal(hub.stats.groups, 0, 'groups go away with their last subscriber')
    await t.rejects(hub.subscribe(a, 'bad', 'test:counter', { id: 5 }), { message: /bad arguments/ })
    await t.rejects(hub.subscribe(a, 'bad', 'test:nothing', {}), { message: 'no function test:nothing' })
  })

  test(`hub: a slow client skips ahead to the newest value; a stuck one is closed (${target.name})`, async (t) => {
    const { store } = await target.fresh(t)
    const engines = store.collection('engines')
    await engines.insertOne({ _id: 'c', n: 0 })
    const hub = await hubOn(t, store)
    const slow = fakeSocket(1)
    const fast = fakeSocket(2)
    await hub.subscribe(slow, 's', 'test:counter', { id: 'c' })
    await hub.subscribe(fast, 's', 'test:counter', { id: 'c' })
    slow.buffered = 5000
    for (let i = 1; i <= 5; i++) {
      await engines.updateOne({ _id: 'c' }, { $set: { n: i } })
      await waitFor(`value ${i}`, async () => fast.frames.at(-1)?.value === i)
    }
    t.equal(slow.frames.length, 1, 'nothing is queued for a client over its buffer limit')
    slow.buffered = 0
    await waitFor('the slow client catches up', async () => slow.frames.length === 2)
    t.equal(slow.frames[1]!.value, 5, 'it gets the newest value, not the backlog')
    slow.buffered = 50_000
    await engines.updateOne({ _id: 'c' }, { $set: { n: 6 } })
    await waitFor('the stuck client is closed', async () => slow.closedWith !== null)
    t.equal(slow.closedWith, 1013)
  })
}
