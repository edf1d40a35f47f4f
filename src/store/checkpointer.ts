// The embedded store's WAL checkpoints, in a thread of their own once the store writes in bulk (an import, a
// restore, a busy town). SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages: it
// copies those pages into the database file and syncs it, on the writing thread. For an import of embeddings
// that was half of all the time spent in SQLite. Here a worker thread with its own connection checkpoints
// (PASSIVE: it never waits for or blocks a reader or writer) shortly after commits, while this thread goes on.
//
// The WAL file restarts from its beginning only when a write transaction begins with every frame copied. A
// writer that never pauses can keep that from happening, so when the WAL passes `restartFrames` the worker asks
// this thread to checkpoint the little that is left itself, between two of its own transactions.
// Whoever opens the worker closes it: close() before the store's connection, whose close then runs the last
// checkpoint and removes the WAL as before. If the worker fails, automatic checkpoints come back.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Database as SqliteDatabase } from 'better-sqlite3'

export interface CheckpointerOptions {
  /** Bytes written (since the store opened) before checkpoints move to the worker (default 4 MiB). */
  startBytes?: number
  /** WAL frames (pages) past which this thread finishes a checkpoint itself, so the WAL restarts (default 32,768: 128 MiB at 4 KiB pages). */
  restartFrames?: number
}
/** A checkpoint waits this long after the commit that asked for it, so a run of commits shares one. */
const DELAY_MS = 10

const source = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.sqlitePath)
const db = new Database(workerData.file)
db.pragma('synchronous = NORMAL')
db.pragma('busy_timeout = 10000')
let timer = null
let again = false
function checkpoint () {
  timer = null
  again = false
  const [result] = db.pragma('wal_checkpoint(PASSIVE)')
  if (result.log >= workerData.restartFrames) parentPort.postMessage('restart')
  if (again) timer = setTimeout(checkpoint, workerData.delayMs)
}
parentPort.on('message', (m) => {
  if (m === 'close') {
    if (timer !== null) clearTimeout(timer)
    db.close()
    parentPort.close()
    return
  }
  if (timer === null) timer = setTimeout(checkpoint, workerData.delayMs)
  else again = true
})
`

const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3')

export class Checkpointer {
  readonly #db: SqliteDatabase
  readonly #file: string
  readonly #startBytes: number
  readonly #restartFrames: number
  #worker: Worker | null = null
  #written = 0
  #restart = false
  #failed = false

  constructor (db: SqliteDatabase, file: string, options: CheckpointerOptions = {}) {
    this.#db = db
    this.#file = file
    this.#startBytes = options.startBytes ?? 4 << 20
    this.#restartFrames = options.restartFrames ?? 32_768
  }

  /** After a write transaction of about `bytes`: starts the worker once the store writes in bulk, and nudges it. */
  wrote (bytes: number): void {
    if (this.#worker === null) {
      this.#written += bytes
      if (this.#failed || this.#written < this.#startBytes) return
      this.#start()
    }
    if (this.#restart && !this.#db.inTransaction) {
      this.#restart = false
      // Copies what the worker has not yet; the next write transaction then starts the WAL over. If the worker
      // is checkpointing right now this does nothing (SQLITE_BUSY is a result here, not an error), and the
      // worker asks again. A checkpoint never fails the write before it.
      try { this.#db.pragma('wal_checkpoint(PASSIVE)') } catch { /* the worker asks again */ }
    }
    this.#worker!.postMessage(0)
  }

  #start (): void {
    const worker = new Worker(source, {
      eval: true,
      execArgv: [],
      workerData: { file: this.#file, sqlitePath, restartFrames: this.#restartFrames, delayMs: DELAY_MS }
    })
    worker.unref()
    worker.on('message', () => { this.#restart = true })
    worker.on('error', () => { this.#stop(true) })
    worker.on('exit', () => { if (this.#worker === worker) this.#stop(true) })
    this.#worker = worker
    this.#db.pragma('wal_autocheckpoint = 0')
  }

  /** Back to SQLite's own checkpoints (the worker failed or is closed). */
  #stop (failed: boolean): void {
    this.#worker = null
    if (failed) this.#failed = true
    if (this.#db.open) this.#db.pragma('wal_autocheckpoint = 1000')
  }

  async close (): Promise<void> {
    const worker = this.#worker
    if (worker === null) return
    this.#stop(false)
    const exited = new Promise<void>((resolve) => worker.once('exit', () => { resolve() }))
    worker.ref() // until it has closed its connection
    worker.postMessage('close')
    await exited
  }
}
