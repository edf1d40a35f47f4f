// The store-backed record of answered Convex mutations, as two instances (two store connections) see it.
import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { MutationLog } from '../../src/realtime/mutationLog.ts'

for (const target of storeTargets()) {
  test(`a mutation claimed on one instance is answered on another, never run twice (${target.name})`, async (t) => {
    const { store, reopen } = await target.fresh(t)
    const other = await reopen()
    t.teardown(async () => { await other.close() })
    const a = new MutationLog(store, { pollMs: 10 })
    const b = new MutationLog(other, { pollMs: 10, waitMs: 5000 })

    t.same(await a.claim('s1', 7), { run: true }, 'the first to claim runs it')
    // The repeat on B waits while A runs the mutation, and gets A's answer once A stores it.
    const repeat = b.claim('s1', 7)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await a.finish('s1', 7, '{"type":"MutationResponse","requestId":7,"success":true}')
    t.same(await repeat, { run: false, response: '{"type":"MutationResponse","requestId":7,"success":true}' })
    t.same(await a.claim('s1', 7), { run: false, response: '{"type":"MutationResponse","requestId":7,"success":true}' }, 'and so does a repeat on A')
    t.same(await b.claim('s1', 8), { run: true }, 'another request id of the session is its own mutation')
    t.same(await b.claim('s2', 7), { run: true }, 'so is the same request id of another session')
    const claims = await Promise.all([a.claim('s3', 1), b.claim('s3', 1), a.claim('s3', 1)].map(async (p) => await Promise.race([p, new Promise((resolve) => setTimeout(() => { resolve('waiting') }, 200))])))
    t.equal(claims.filter((c) => typeof c === 'object' && (c as { run: boolean }).run).length, 1, 'three racing claims: exactly one runs')
  })

  test(`a claim whose instance died before answering is reported in doubt; old records are pruned (${target.name})`, async (t) => {
    const { store } = await target.fresh(t)
    let now = 1_000_000
    const dead = new MutationLog(store, { now: () => now })
    const alive = new MutationLog(store, { now: () => now, pollMs: 10, waitMs: 100, keepMs: 60_000 })
    t.same(await dead.claim('s', 1), { run: true })
    t.same(await alive.claim('s', 1), { run: false, response: null }, 'no answer within the wait: in doubt, not run again')
    now += 61_000 + 60_000
    t.same(await alive.claim('s', 2), { run: true })
    t.equal(await store.collection('convexMutations').count({ _id: 's:1' }), 0, 'a record older than keepMs is gone')
    t.equal(await store.collection('convexMutations').count({ _id: 's:2' }), 1)
  })
}
