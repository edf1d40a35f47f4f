// The MongoDB change feed against a server that answers an empty poll at once (the MongoDB-wire server does):
// a quiet stream pauses between polls instead of keeping the server busy, and still delivers promptly.
import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { mongoUrl } from '../helpers/stores.ts'
import { MongoChangeFeed } from '../../src/store/mongoChangeFeed.ts'
import type { ChangeEvent } from '../../src/store/types.ts'

test('a quiet stream on a server that does not hold empty polls is polled a few times a second, not in a loop', { skip: mongoUrl === undefined || mongoUrl === '' ? 'MONGODB_URL is not set' : false }, async (t) => {
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
