// The MongoDB change feed against a server that answers an empty poll at once (the MongoDB-wire server does):
// a quiet stream pauses between polls instead of keeping the server busy, and still delivers promptly.
import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { mongoUrl } from '../helpers/stores.ts'
import { MongoChangeFeed } from '../../src/store/mongoChangeFeed.ts'
import type { ChangeEvent } from '../../src/store/types.ts'

const skip = mongoUrl === undefined || mongoUrl === '' ? 'MONGODB_URL is not set (CI sets it to the MongoDB-wire test server)' : false

test('a quiet stream on a server that does not hold empty polls is polled a few times a second, not in a loop', { skip }, async (t) => {
  const client = new MongoClient(mongoUrl!, { monitorCommands: true })
  await client.connect()
  const db = client.db(`townhall_feed_${randomBytes(4).toString('hex')}`)
  const feed = new MongoChangeFeed(db, {})
  t.teardown(async () => {
    await feed.close()
    await db.dropDatabase().catch(() => {})
    await client.close()
  })
  let polls = 0
  client.on('commandStarted', (event) => { if (event.commandName === 'getMore' && event.databaseName === db.databaseName) polls++ })
  const events: ChangeEvent[] = []
  feed.subscribe(['llmControls'], (event) => { events.push(event) })
  await feed.ready()
  polls = 0
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const quiet = polls
  // A MongoDB server holds each poll for maxAwaitTimeMS (500 ms): about 4 in 2 s. One that answers at once is
  // paused 20 ms doubling to 160 ms: about 16. Without the pause, each answer was followed by the next poll.
  t.ok(quiet <= 30, `${quiet} polls in 2 s of silence (at most 30)`)
  const sent = Date.now()
  await db.collection('llmControls').insertOne({ _id: 'probe' as never, _creationTime: sent })
  const deadline = Date.now() + 5000
  while (events.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(events.length, 1, 'the insert is delivered')
  t.ok(Date.now() - sent < 1000, `delivered ${Date.now() - sent} ms after the write (under 1 s)`)
})

test('a stream that breaks before the server gave it a resume token loses none of the changes made while it was down', { skip }, async (t) => {
  const client = new MongoClient(mongoUrl!)
  await client.connect()
  const db = client.db(`townhall_feed_${randomBytes(4).toString('hex')}`)
  // A second before the reopen: every write below lands while the stream is down.
  const reopened: number[] = []
  const log = { warn: () => {}, info: (_obj: object, msg: string) => { if (msg === 'change stream reopened') reopened.push(Date.now()) } }
  const feed = new MongoChangeFeed(db, { minBackoffMs: 2000, maxBackoffMs: 2000, log })
  t.teardown(async () => {
    await feed.close()
    await db.dropDatabase().catch(() => {})
    await client.close()
  })
  const seen = new Set<string>()
  feed.subscribe(['messages'], (event) => { seen.add(event.id) })
  await feed.ready()
  // No change yet: a server that gives a token only with an event (the MongoDB-wire server) has given none.
  await feed.interrupt('messages')
  for (let i = 0; i < 5; i++) await db.collection('messages').insertOne({ _id: `down${i}` as never, text: 'while down' })
  const written = Date.now()
  const deadline = Date.now() + 10_000
  while ((seen.size < 5 || reopened.length === 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(reopened.length > 0 && reopened[0] > written, `the stream reopened ${(reopened[0] ?? NaN) - written} ms after the writes`)
  t.same([...seen].sort(), ['down0', 'down1', 'down2', 'down3', 'down4'], 'every change made while the stream was down is delivered')
})
