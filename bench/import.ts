// npm run bench:import — `townhall import-convex` on Convex exports of growing size (memories with 1024-dimension
// embeddings, the embeddings cache, and a world around them) into a fresh embedded store: documents per second
// and peak memory per size. Memory must stay flat as the export grows; goal ≥ 20,000 documents/s.
// Each import runs in its own child process (BENCH_ROLE=server), so peak RSS belongs to that import alone.
// Exports are generated once and kept in $TMPDIR/townhall-bench-import (BENCH_IMPORT_KEEP=0 removes them).
// BENCH_IMPORT_SIZES=20000,200000 (memories) sets the sizes; the largest is the one the goal is about.
// Ends with one line `RESULT {json}`.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { EmbeddedStore } from '../src/store/embedded.ts'
import { importConvexExport } from '../src/transfer/importConvex.ts'
import { writeConvexExport } from '../test/fixtures/convexExport.ts'
import { ask, forkServer, report, runRole } from './lib.ts'

interface Measured {
  type: 'done'
  documents: number
  seconds: number
  documentsPerSecond: number
  peakRssMb: number
  /** RSS at each quarter of the export's bytes: flat memory means these do not grow. */
  rssByQuarterMb: number[]
  skipped: number
  /** Process CPU (all threads): on a shared machine a steadier figure than the wall clock. */
  cpuSeconds: number
  /** The 1-minute load average when the import ended: how shared the machine was. */
  loadAverage: number
}

const sizes = (process.env.BENCH_IMPORT_SIZES ?? '20000,200000').split(',').map(Number)
const cacheDir = join(tmpdir(), 'townhall-bench-import')

async function child (): Promise<void> {
  const { BENCH_EXPORT: exportPath, BENCH_DATA: dataDir } = process.env
  const store = new EmbeddedStore({ dataDir: dataDir! })
  const quarters: number[] = []
  let peak = 0
  const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  const result = await importConvexExport(exportPath!, {
    store,
    dimension: 1024,
    embeddingModel: 'mxbai-embed-large#1024',
    onProgress: (p) => {
      const rss = process.memoryUsage().rss
      peak = Math.max(peak, rss)
      while (p.totalBytes > 0 && quarters.length < 4 && p.bytes >= p.totalBytes * (quarters.length + 1) / 4) quarters.push(Math.round(rss / 1e6))
      if (p.elapsedMs > 0 && Math.floor(p.elapsedMs / 10_000) !== Math.floor((p.elapsedMs - 250) / 10_000)) {
        process.stderr.write(`  ${p.table}: ${p.documents.toLocaleString('en-US')} documents, ${Math.round(p.documents / (p.elapsedMs / 1000)).toLocaleString('en-US')}/s, ${Math.round(100 * p.bytes / p.totalBytes)}%\n`)
      }
    }
  })
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  clearInterval(sample)
  await store.close()
  const measured: Measured = {
    type: 'done',
    documents: result.totals.read,
    seconds,
    documentsPerSecond: Math.round(result.totals.read / seconds),
    peakRssMb: Math.round(Math.max(peak, process.resourceUsage().maxRSS * 1024) / 1e6),
    rssByQuarterMb: quarters,
    skipped: result.totals.skipped,
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
    loadAverage: Number(loadavg()[0]!.toFixed(2))
  }
  process.send!(measured)
}

async function exportOf (memories: number): Promise<string> {
  await mkdir(cacheDir, { recursive: true })
  const path = join(cacheDir, `ai-town-${memories}.zip`)
  if (existsSync(path)) return path
  process.stderr.write(`generating an export with ${memories.toLocaleString('en-US')} memories (once; kept in ${cacheDir})\n`)
  const partial = `${path}.partial.zip`
  const started = performance.now()
  await writeConvexExport({ out: partial, totalMemories: memories, seed: 42 })
  const { rename } = await import('node:fs/promises')
  await rename(partial, path)
  process.stderr.write(`  ${((await stat(path)).size / 1e9).toFixed(2)} GB in ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
  return path
}

async function main (): Promise<void> {
  const rows: Array<[string, unknown]> = []
  const runs: Array<Measured & { memories: number, exportBytes: number }> = []
  for (const memories of sizes) {
    const exportPath = await exportOf(memories)
    const dataDir = await mkdtemp(join(tmpdir(), 'townhall-bench-import-data-'))
    process.stderr.write(`importing ${exportPath}\n`)
    process.env.BENCH_EXPORT = exportPath
    process.env.BENCH_DATA = dataDir
    const { child: proc, exited } = forkServer(new URL(import.meta.url).pathname)
    const measured = await ask<Measured, 'done'>(proc, 'done', 3600_000)
    await exited
    await rm(dataDir, { recursive: true, force: true })
    runs.push({ ...measured, memories, exportBytes: (await stat(exportPath)).size })
  }
  rows.push(['memories | documents | export GB | seconds | documents/s | CPU s | load | peak RSS MB | RSS at 25/50/75/100% of the export (MB)', ''])
  for (const r of runs) {
    rows.push([`${r.memories.toLocaleString('en-US').padStart(8)} | ${r.documents.toLocaleString('en-US').padStart(9)} | ${(r.exportBytes / 1e9).toFixed(2).padStart(9)} | ${r.seconds.toFixed(1).padStart(7)} | ${r.documentsPerSecond.toLocaleString('en-US').padStart(11)} | ${r.cpuSeconds.toFixed(1).padStart(5)} | ${r.loadAverage.toFixed(1).padStart(4)} | ${String(r.peakRssMb).padStart(11)} | ${r.rssByQuarterMb.join(' / ')}`, ''])
  }
  const largest = runs[runs.length - 1]!
  const smallest = runs[0]!
  const growth = largest.peakRssMb / smallest.peakRssMb
  rows.push(['', ''])
  rows.push([`goal ≥ 20,000 documents/s on the embedded store: ${largest.documentsPerSecond >= 20_000 ? 'met' : 'NOT met'} (${largest.documentsPerSecond.toLocaleString('en-US')}/s at ${largest.memories.toLocaleString('en-US')} memories)`, ''])
  rows.push([`memory flat as the export grows: peak RSS ×${growth.toFixed(2)} for ×${(largest.documents / smallest.documents).toFixed(1)} the documents`, ''])
  report('bench:import — Convex export → embedded store (1024-dimension embeddings)', rows, {
    bench: 'import',
    runs: runs.map((r) => ({ memories: r.memories, documents: r.documents, exportBytes: r.exportBytes, seconds: Number(r.seconds.toFixed(1)), documentsPerSecond: r.documentsPerSecond, peakRssMb: r.peakRssMb, rssByQuarterMb: r.rssByQuarterMb, skipped: r.skipped, cpuSeconds: r.cpuSeconds, loadAverage: r.loadAverage })),
    documentsPerSecond: largest.documentsPerSecond,
    peakRssMb: largest.peakRssMb,
    peakRssGrowth: Number(growth.toFixed(2)),
    goalDocumentsPerSecond: 20_000,
    goalMet: largest.documentsPerSecond >= 20_000,
    // Flat: at most ×1.5 the peak RSS of the smallest export, however many times the documents.
    goals: {
      documentsPerSecond: { target: 20_000, value: largest.documentsPerSecond, met: largest.documentsPerSecond >= 20_000 },
      memoryFlat: { target: 1.5, value: Number(growth.toFixed(2)), met: growth <= 1.5 }
    }
  })
  if (process.env.BENCH_IMPORT_KEEP === '0') await rm(cacheDir, { recursive: true, force: true })
}

runRole(child, main)
