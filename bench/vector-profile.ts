/**
 * Where one search of bench:vector's workload (b) goes, piece by piece: builds (or reloads from PROF_DIR) the
 * heavy player's graph from the bench's own seeded data, then times Array.from of the query, hnswlib's
 * searchKnn alone, both together, the reused-array path src/vector/hnsw.ts takes, and (PROF_FLUSH=1) the
 * search right after an exact scan of the whole player. Not an npm script: a tool for measuring changes.
 *
 *   node --import tsx bench/vector-profile.ts
 *
 * Env: PROF_N (200000), PROF_DIR (vector-prof under the OS temporary directory), PROF_M (16), PROF_EFC (100), PROF_SPACE (cosine),
 * PROF_EF (64; a comma list sweeps), PROF_FLUSH (0). The first run at 200k builds for ~7 minutes.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import hnswlib from 'hnswlib-node'
import { normalized, dotAt, TopK } from '../src/vector/math.ts'
import { defaultShape, SyntheticPlayer } from '../src/vector/synthetic.ts'

const env = process.env
const N = Number(env.PROF_N ?? 200_000)
const DIR = env.PROF_DIR ?? join(tmpdir(), 'vector-prof')
const M = Number(env.PROF_M ?? 16)
const EFC = Number(env.PROF_EFC ?? 100)
const SPACE = (env.PROF_SPACE ?? 'cosine') as 'cosine' | 'ip'
const EFS = (env.PROF_EF ?? '64').split(',').map(Number)
const DIM = 1024
const Q = 1000
const K = 10

await mkdir(DIR, { recursive: true })
const gen = new SyntheticPlayer(defaultShape(DIM), 42, 0)
const dataFile = `${DIR}/data-${N}.f32`
let data: Float32Array
if (existsSync(dataFile)) {
  const buf = await readFile(dataFile)
  data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
  for (let i = 0; i < N; i++) gen.memory() // advance the generator as the bench does
} else {
  data = new Float32Array(N * DIM)
  for (let i = 0; i < N; i++) data.set(normalized(gen.memory()), i * DIM)
  await writeFile(dataFile, new Uint8Array(data.buffer))
}
const queries = Array.from({ length: Q }, () => gen.query())

const graphFile = `${DIR}/g-${N}-${SPACE}-m${M}-efc${EFC}.hnsw`
const graph = new hnswlib.HierarchicalNSW(SPACE, DIM)
if (existsSync(graphFile)) {
  await graph.readIndex(graphFile)
} else {
  const t = performance.now()
  graph.initIndex(N, M, EFC, 100)
  for (let i = 0; i < N; i++) {
    graph.addPoint(Array.from(data.subarray(i * DIM, (i + 1) * DIM)), i)
    if ((i + 1) % 20000 === 0) console.log(`built ${i + 1} in ${((performance.now() - t) / 1000).toFixed(0)} s`)
  }
  await graph.writeIndex(graphFile)
  console.log(`build ${N}: ${((performance.now() - t) / 1000).toFixed(1)} s`)
}

// Exact truth for the first 250 queries.
const truthFile = `${DIR}/truth-${N}.json`
let truth: number[][]
if (existsSync(truthFile)) truth = JSON.parse(await readFile(truthFile, 'utf8')) as number[][]
else {
  truth = queries.slice(0, 250).map((q) => {
    const u = normalized(q)
    const top = new TopK(K)
    for (let i = 0; i < N; i++) top.push(i, dotAt(u, data, i * DIM))
    return Array.from(top.slots)
  })
  await writeFile(truthFile, JSON.stringify(truth))
}

const pct = (a: number[], p: number): number => a[Math.min(a.length - 1, Math.floor(p * a.length))]
function summary (name: string, wall: number[], cpu?: number[]): void {
  wall.sort((x, y) => x - y)
  const mean = wall.reduce((s, x) => s + x, 0) / wall.length
  let line = `${name.padEnd(34)} mean ${mean.toFixed(4)} p50 ${pct(wall, 0.5).toFixed(4)} p99 ${pct(wall, 0.99).toFixed(4)} ms`
  if (cpu !== undefined) {
    cpu.sort((x, y) => x - y)
    line += ` | cpu p50 ${pct(cpu, 0.5).toFixed(3)} p99 ${pct(cpu, 0.99).toFixed(3)}`
  }
  console.log(line)
}

const arrays = queries.map(q => Array.from(normalized(q)))
const cpuNow = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
for (const ef of EFS) {
  graph.setEf(ef)
  for (const a of arrays.slice(0, 100)) graph.searchKnn(a, K)
  // Each piece in its own pass, so one does not warm the cache for the other.
  const tArr: number[] = []
  for (const q of queries) {
    const t = performance.now()
    Array.from(q)
    tArr.push(performance.now() - t)
  }
  const tRaw: number[] = []; const cRaw: number[] = []
  let recall = 0
  for (const [i, a] of arrays.entries()) {
    const c = cpuNow()
    const t = performance.now()
    const { neighbors } = graph.searchKnn(a, K)
    tRaw.push(performance.now() - t)
    cRaw.push(cpuNow() - c)
    if (i < truth.length) {
      const want = new Set(truth[i])
      recall += neighbors.filter(n => want.has(n)).length / K
    }
  }
  const tFull: number[] = []; const cFull: number[] = []
  for (const q of queries) {
    const c = cpuNow()
    const t = performance.now()
    graph.searchKnn(Array.from(q), K)
    tFull.push(performance.now() - t)
    cFull.push(cpuNow() - c)
  }
  const scratch = new Array<number>(DIM).fill(0.5)
  const tScr: number[] = []; const cScr: number[] = []
  for (const q of queries) {
    const c = cpuNow()
    const t = performance.now()
    for (let i = 0; i < DIM; i++) scratch[i] = q[i]
    graph.searchKnn(scratch, K)
    tScr.push(performance.now() - t)
    cScr.push(cpuNow() - c)
  }
  // PROF_FLUSH=1: an exact scan of the whole player before each search, as bench:vector's recall loop does.
  const tCold: number[] = []; const cCold: number[] = []
  if (env.PROF_FLUSH === '1') {
    const u = normalized(queries[0])
    for (const q of queries.slice(0, 250)) {
      let sink = 0
      for (let i = 0; i < N; i++) sink += dotAt(u, data, i * DIM)
      if (sink === 42) console.log('')
      const c = cpuNow()
      const t = performance.now()
      for (let i = 0; i < DIM; i++) scratch[i] = q[i]
      graph.searchKnn(scratch, K)
      tCold.push(performance.now() - t)
      cCold.push(cpuNow() - c)
    }
  }
  console.log(`--- ${SPACE} M ${M} efC ${EFC} efSearch ${ef}: recall@10 ${(recall / truth.length).toFixed(4)}`)
  summary('Array.from(query)', tArr)
  summary('searchKnn (pre-built array)', tRaw, cRaw)
  summary('Array.from + searchKnn (2nd pass)', tFull, cFull)
  summary('scratch + searchKnn (3rd pass)', tScr, cScr)
  if (tCold.length > 0) summary('after an exact scan (250 queries)', tCold, cCold)
}
