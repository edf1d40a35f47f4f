// The subscription hub over a real store and change feed: coalescing, versions, skip-ahead for slow clients.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { test } from 'tap'
import { Type } from 'typebox'
import { storeTargets } from '../helpers/stores.ts'
import { quietLog, waitFor } from '../helpers/engine.ts'
import { FunctionRegistry, defineFunction, type FunctionContext } from '../../src/api/registry.ts'
import { RealtimeHub, type DeliveryMessage, type HubClient, type HubUpdate } from '../../src/realtime/hub.ts'
import type { ChangeEvent, ChangeFeed, Store } from '../../src/store/types.ts'
import { MongoStore } from '../../src/store/mongo.ts'
import { MongoChangeFeed } from '../../src/store/mongoChangeFeed.ts'

/** A query of one counter document (`engines`), woken by changes to it; `companion` as the registry defines it. */
function counterQuery<P extends string> (path: P, description: string, companion?: { path: string, when: (before: unknown, after: unknown) => boolean }) {
  return defineFunction({
    path,
    kind: 'query',
    access: 'public',
    description,
    args: Type.Object({ id: Type.String() }),
    returns: Type.Unknown(),
    tables: ['engines'],
    affectedBy: (e, args) => e.id === args.id,
    ...(companion === undefined ? {} : { companion }),
    handler: async (ctx, { id }) => (await ctx.store.collection('engines').findOne({ _id: id }))?.n ?? null
  })
}

const counter = counterQuery('test:counter', 'the counter document')
// A query whose companion re-reads a collection no change reaches it from: fresh only through the companion rule.
const list = counterQuery('test:list', 'the counter, with the label query as its companion', { path: 'test:label', when: (before, after) => before !== after })
// The same with a companion its rule never asks for: AI Town's worldState between joins.
const steady = counterQuery('test:steady', 'the counter, with the label query as a companion its rule never asks for', { path: 'test:label', when: () => false })
const labelReads = { n: 0 }
const label = defineFunction({
  path: 'test:label',
  kind: 'query',
  access: 'public',
  description: 'a label no subscription wakes on its own',
  args: Type.Object({ id: Type.String() }),
  returns: Type.Unknown(),
  handler: async (ctx, { id }) => { labelReads.n++; return (await ctx.store.collection('maps').findOne({ _id: id }))?.label ?? null }
})

interface Received { id: string, version: number, value: unknown }

/** A client that records every update it is pushed, and how many batches they came in. */
function fakeSocket (id: number): HubClient & { frames: Received[], batches: number, buffered: number, closedWith: number | null, take: (u: HubUpdate) => void } {
  const c = {
    id,
    caller: { kind: 'anonymous' } as HubClient['caller'],
    frames: [] as Received[],
    batches: 0,
    buffered: 0,
    closedWith: null as number | null,
    take (u: HubUpdate) { c.frames.push({ id: u.subId, version: u.version, value: u.ok ? JSON.parse(String(u.json)) : u.error }) },
    push (updates: HubUpdate[]) { c.batches++; for (const u of updates) c.take(u) },
    bufferedAmount: () => c.buffered,
    close (code: number) { c.closedWith = code }
  }
  return c
}

/** A hub on the store; `drain: false` leaves out the periodic drain of held-back and skipped updates. */
async function hubOn (t: { teardown: (fn: () => unknown) => void }, store: Store, feed?: ChangeFeed, { drain = true } = {}): Promise<RealtimeHub> {
  feed ??= await store.openChangeFeed()
  const registry = new FunctionRegistry().add(counter, list, label, steady)
  const hub = new RealtimeHub({
    registry,
    feed,
    log: quietLog,
    coalesceMs: 20,
    softLimitBytes: 1000,
    hardLimitBytes: 10_000,
    context: (caller) => ({ store, caller, adminEnabled: false, now: Date.now, publicUrl: 'http://localhost', log: quietLog, engine: null as never } satisfies FunctionContext)
  })
  if (drain) hub.start()
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
    a.take(await hub.subscribe(a, 's', 'test:counter', { id: 'c' }))
    b.take(await hub.subscribe(b, 'x', 'test:counter', { id: 'c' }))
    t.same(a.frames, [{ id: 's', version: 1, value: 0 }], 'the current value first')
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

  test(`hub: a new subscriber gets a value read after it subscribed, even while the feed lags (${target.name})`, async (t) => {
    const { store } = await target.fresh(t)
    const engines = store.collection('engines')
    await engines.insertOne({ _id: 'c', n: 0 })
    // The store's own feed, with its events held back until released: a change stream one poll behind.
    const real = await store.openChangeFeed()
    const held: Array<() => void> = []
    const lagging: ChangeFeed = {
      subscribe: (names, listener, options) => real.subscribe(names, (e) => { held.push(() => { listener(e) }) }, options),
      ready: async () => { await real.ready() },
      get watching () { return real.watching },
      get live () { return real.live },
      close: async () => { await real.close() }
    }
    const hub = await hubOn(t, store, lagging)
    const a = fakeSocket(1)
    const b = fakeSocket(2)
    a.take(await hub.subscribe(a, 's', 'test:counter', { id: 'c' }))
    await engines.updateOne({ _id: 'c' }, { $set: { n: 1 } })
    await waitFor('the change to reach the feed', async () => held.length > 0)
    b.take(await hub.subscribe(b, 's', 'test:counter', { id: 'c' }))
    t.same(b.frames, [{ id: 's', version: 2, value: 1 }], 'the write before the subscription is in its first value')
    t.same(a.frames, [{ id: 's', version: 1, value: 0 }, { id: 's', version: 2, value: 1 }], 'the read went to the earlier subscriber too')
    for (const release of held.splice(0)) release()
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.equal(a.frames.length + b.frames.length, 3, 'the late event sends nothing new')
  })

  test(`hub: a slow client skips ahead to the newest value; a stuck one is closed (${target.name})`, async (t) => {
    const { store } = await target.fresh(t)
    const engines = store.collection('engines')
    await engines.insertOne({ _id: 'c', n: 0 })
    const hub = await hubOn(t, store)
    const slow = fakeSocket(1)
    const fast = fakeSocket(2)
    slow.take(await hub.subscribe(slow, 's', 'test:counter', { id: 'c' }))
    fast.take(await hub.subscribe(fast, 's', 'test:counter', { id: 'c' }))
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

  test(`hub: one change goes out as one batch per client, companions re-read and included (${target.name})`, async (t) => {
    const { store } = await target.fresh(t)
    await store.collection('engines').insertOne({ _id: 'c', n: 0 })
    await store.collection('maps').insertOne({ _id: 'c', label: 'first' })
    const hub = await hubOn(t, store)
    const a = fakeSocket(1)
    a.take(await hub.subscribe(a, 'count', 'test:counter', { id: 'c' }))
    a.take(await hub.subscribe(a, 'list', 'test:list', { id: 'c' }))
    a.take(await hub.subscribe(a, 'label', 'test:label', { id: 'c' }))
    t.equal(a.batches, 0, 'initial values are returned to the subscriber, not pushed')
    await store.collection('maps').updateOne({ _id: 'c' }, { $set: { label: 'second' } })
    await store.collection('engines').updateOne({ _id: 'c' }, { $set: { n: 1 } })
    await waitFor('the change arrives', async () => a.frames.length >= 6)
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.equal(a.batches, 1, 'the change reached the client as one batch')
    t.same(a.frames.slice(3).map((f) => [f.id, f.value]).sort(), [['count', 1], ['label', 'second'], ['list', 1]], 'both queries of the change, and the companion re-read with them')
  })

  test(`hub: a query watched with its companion goes out in the refresh of its change, the companion read after it (${target.name})`, async (t) => {
    const { store } = await target.fresh(t)
    await store.collection('engines').insertOne({ _id: 'c', n: 0 })
    await store.collection('maps').insertOne({ _id: 'c', label: 'first' })
    // No periodic drain: an update held back for its companion would never go out.
    const hub = await hubOn(t, store, undefined, { drain: false })
    const a = fakeSocket(1)
    const b = fakeSocket(2)
    a.take(await hub.subscribe(a, 'steady', 'test:steady', { id: 'c' }))
    a.take(await hub.subscribe(a, 'label', 'test:label', { id: 'c' }))
    b.take(await hub.subscribe(b, 'steady', 'test:steady', { id: 'c' }))
    const published: DeliveryMessage[] = []
    const onDelivery = (m: unknown): void => { published.push(m as DeliveryMessage) }
    subscribe('townhall.realtime.delivery', onDelivery)
    t.teardown(() => { unsubscribe('townhall.realtime.delivery', onDelivery) })
    const readsBefore = labelReads.n
    const changedAt = Date.now()
    await store.collection('engines').updateOne({ _id: 'c' }, { $set: { n: 1 } })
    await waitFor('the new value at both clients', async () => a.frames.at(-1)?.value === 1 && b.frames.at(-1)?.value === 1, 5000)
    t.equal(labelReads.n - readsBefore, 1, 'the companion was read once, with the change')
    t.same(a.frames.slice(2).map((f) => [f.id, f.value]), [['steady', 1]], 'the unchanged companion is not sent again')
    t.equal(published.length, 1, 'one fan-out is published on the delivery channel')
    t.match(published[0], { queries: [{ path: 'test:steady', args: { id: 'c' }, value: 1 }], clients: 2 })
    t.ok(published[0]!.startedAt >= changedAt && published[0]!.endedAt >= published[0]!.startedAt, 'with when it began and ended')
  })

  test(`hub: a table is watched only while a subscription reads it; passive listeners open nothing (${target.name})`, async (t) => {
    const { store } = await target.fresh(t)
    const engines = store.collection('engines')
    await engines.insertOne({ _id: 'c', n: 0 })
    // On MongoDB, a stream lingers after its last subscription: short here, to see it close.
    const feed = store instanceof MongoStore ? new MongoChangeFeed(store.db, { lingerMs: 200 }) : await store.openChangeFeed()
    const heard: ChangeEvent[] = []
    const stopListening = feed.subscribe(['engines', 'maps'], (e) => { heard.push(e) }, { passive: true })
    t.teardown(stopListening)
    const hub = await hubOn(t, store, feed)
    t.same(feed.watching, [], 'no subscription, no watched table: a passive listener opens nothing')
    const a = fakeSocket(1)
    a.take(await hub.subscribe(a, 's', 'test:counter', { id: 'c' }))
    a.take(await hub.subscribe(a, 'again', 'test:counter', { id: 'c' }))
    t.same(feed.watching, ['engines'], 'the subscription\'s table is watched')
    t.same(hub.tables, ['engines'])
    await engines.updateOne({ _id: 'c' }, { $set: { n: 1 } })
    await waitFor('the change', async () => a.frames.at(-1)?.value === 1)
    await waitFor('the passive listener hears it', async () => heard.some((e) => e.id === 'c'))
    hub.unsubscribe(a, 's')
    t.same(hub.tables, ['engines'], 'another subscription still reads the table')
    hub.unsubscribe(a, 'again')
    t.same(hub.tables, [], 'the last subscription gone, the hub stops listening')
    await waitFor('the stream to close after it lingered', async () => feed.watching.length === 0)
    t.same(feed.watching, [])
    // Subscribing again opens the table again, and the first value is read after its stream is open.
    a.take(await hub.subscribe(a, 's', 'test:counter', { id: 'c' }))
    t.equal(a.frames.at(-1)?.value, 1)
    await engines.updateOne({ _id: 'c' }, { $set: { n: 2 } })
    await waitFor('a change after resubscribing', async () => a.frames.at(-1)?.value === 2)
    t.same(feed.watching, ['engines'])
    await feed.close()
  })
}
