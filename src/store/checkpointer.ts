// WAL checkpoints in a background thread, for a long run of writes (an import). A checkpoint copies the WAL
// into the database file and syncs both; done by the writing connection (SQLite's autocheckpoint, every
// 1,000 pages) it blocked the writer on the disk for most of an import's SQLite time. Here a second
// connection in a worker thread runs PASSIVE checkpoints, which never block the writer, while the writer's
// autocheckpoint is off; durability is the same (synchronous=NORMAL: a checkpoint syncs as before).
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

const source = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.sqlitePath)
const db = new Database(workerData.path)
db.pragma('busy_timeout = 10000')
db.pragma('synchronous = NORMAL')
let stopping = false
parentPort.on('message', () => { stopping = true })
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
async function run () {
  // After the stop, a few more tries: a reader holding an old snapshot can keep frames from being copied, and
  // the writer's own autocheckpoint takes over from here anyway.
  let tries = 50
  for (;;) {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)')
    const behind = result.log - result.checkpointed
    if (stopping && (behind <= 0 || --tries === 0)) break
    // Caught up: wait for the writer to add pages. Behind: go on, letting the stop message in between.
    await pause(behind < 256 ? 20 : 0)
  }
  db.close()
  parentPort.postMessage('stopped')
}
run().catch((err) => { parentPort.postMessage({ failed: err.message }) })
`

const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3')

export interface Checkpointer {
  /** Checkpoints what is left in the WAL, then ends the thread. */
  stop: () => Promise<void>
}

export function startCheckpointer (path: string): Checkpointer {
  const worker = new Worker(source, { eval: true, execArgv: [], workerData: { path, sqlitePath } })
  const ended = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: unknown) => {
      if (m === 'stopped') resolve()
      else reject(new Error(`background checkpoint failed: ${(m as { failed: string }).failed}`))
    })
    worker.on('error', reject)
    worker.on('exit', (code) => { if (code !== 0) reject(new Error(`the checkpoint thread exited with code ${code}`)) })
  })
  // A failure is reported by stop(); until then the writer goes on (SQLite checkpoints again afterwards).
  ended.catch(() => {})
  return {
    async stop () {
      worker.postMessage('stop')
      try {
        await ended
      } finally {
        await worker.terminate()
      }
    }
  }
}
