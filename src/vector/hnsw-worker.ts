/**
 * The worker that builds one player's graph off the main thread for `rebuild`. It is evaluated from
 * source (not loaded from a file) so it runs the same under tsx, tap and the compiled build.
 * Rows arrive unit-length in slot order (label = slot); the graph goes to `file` for readIndex.
 */

export interface BuildJob {
  job: number
  dimension: number
  count: number
  capacity: number
  m: number
  efConstruction: number
  data: Float32Array
  file: string
}

export type BuildReply =
  | { job: number, ok: true }
  | { job: number, ok: false, message: string }
  /** Sent every 4,096 inserts so a big player's build can report progress. */
  | { job: number, indexed: number }

/** CommonJS source for `new Worker(source, { eval: true, workerData: { hnswlibPath } })`. */
export const buildWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const hnswlib = require(workerData.hnswlibPath)
// One graph object per worker, re-initialised per job: initIndex frees the previous graph at once,
// where a fresh object per job would keep its native memory until this small heap happens to GC.
let graph
parentPort.on('message', (msg) => {
  const { job, dimension, count, capacity, m, efConstruction, data, file } = msg
  try {
    if (graph === undefined || graph.getNumDimensions() !== dimension) graph = new hnswlib.HierarchicalNSW('cosine', dimension)
    graph.initIndex(capacity, m, efConstruction, 100)
    for (let slot = 0; slot < count; slot++) {
      graph.addPoint(Array.from(data.subarray(slot * dimension, (slot + 1) * dimension)), slot)
      if ((slot + 1) % 4096 === 0) parentPort.postMessage({ job, indexed: 4096 })
    }
    graph.writeIndexSync(file)
    graph.initIndex(1, m, efConstruction, 100)
    parentPort.postMessage({ job, ok: true })
  } catch (err) {
    parentPort.postMessage({ job, ok: false, message: String(err && err.message || err) })
  }
})
`
