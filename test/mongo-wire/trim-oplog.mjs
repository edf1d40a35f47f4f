// Keeps the MongoDB-wire server's oplog to its last 20 s (OPLOG_KEEP_MS), as a real replica set's capped oplog
// bounds it. mongo-java-server's oplog is unbounded and every change-stream poll scans all of it, so over a long
// test suite its change streams slowed until they delivered nothing within 30 s; at 100 worlds (about 400 entries
// a second) a minute's oplog made each poll scan some 25,000 entries. 20 s still covers a stream that reopens
// after a stall (10 s) and the longest backoff (5 s). Exits when the server process does.
// Usage: node trim-oplog.mjs <port> <server pid>
import { MongoClient } from 'mongodb'

const [port, pid] = process.argv.slice(2).map(Number)
const KEEP_MS = Number(process.env.OPLOG_KEEP_MS ?? 20_000)
const EVERY_MS = 5000
const alive = () => { try { process.kill(pid, 0); return true } catch { return false } }
const client = new MongoClient(`mongodb://127.0.0.1:${port}/?directConnection=true`, { serverSelectionTimeoutMS: 2000 })
while (alive()) {
  try {
    await client.db('local').collection('oplog.rs').deleteMany({ wall: { $lt: new Date(Date.now() - KEEP_MS) } })
  } catch {
    // Not listening yet, or busy: the next round tries again.
  }
  await new Promise((resolve) => setTimeout(resolve, EVERY_MS))
}
await client.close().catch(() => {})
