// A town run with the offline provider and a human's inputs, its history exported and imported into an empty
// deployment of the other store (embedded→mongodb, mongodb→embedded): replay --verify there is identical. A
// damaged file (a flipped byte, cut short, an input left out) writes nothing; importing a world twice is refused.
import { test } from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { townhall } from '../helpers/cli.ts'
import { storeTargets, tempDir, type StoreTarget } from '../helpers/stores.ts'
import { readWorld } from '../helpers/engine.ts'
import { runOfflineTown } from '../helpers/simulatedTown.ts'
import { replayWorld } from '../../src/engine/replay.ts'
import { listSnapshots } from '../../src/engine/snapshots.ts'
import { exportHistory, HISTORY_PARTS, HistoryFileError, importHistory } from '../../src/engine/history.ts'
import type { EngineDoc, InputDoc, WorldStatusDoc } from '../../src/engine/types.ts'
import type { Store } from '../../src/store/types.ts'
import { CollectionChecksum } from '../../src/transfer/checksum.ts'
import { decodeDoc } from '../../src/store/codec.ts'

const TOWN_MS = 2 * 60_000
const EVERY = 30
const KEEP = 3

async function partCounts (store: Store): Promise<number> {
  let total = 0
  for (const part of HISTORY_PARTS) total += await store.collection(part).count()
  return total
}

/** Rewrites a history file with `keep` deciding which document lines stay, and the end marker recomputed to match. */
async function rewrite (from: string, to: string, keep: (line: { p: string, d: { number?: number } }) => boolean): Promise<void> {
  const lines = gunzipSync(await readFile(from)).toString('utf8').split('\n').filter((l) => l !== '')
  const sums = new Map<string, CollectionChecksum>(HISTORY_PARTS.map((p) => [p, new CollectionChecksum()]))
  const out = [lines[0]!]
  for (const line of lines.slice(1, -1)) {
    const v = decodeDoc(line) as { p: string, d: { number?: number } }
    if (!keep(v)) continue
    sums.get(v.p)!.add(v.d)
    out.push(line)
  }
  out.push(JSON.stringify({ end: true, parts: Object.fromEntries([...sums].map(([p, s]) => [p, s.result()])) }))
  await writeFile(to, gzipSync(`${out.join('\n')}\n`))
}

const targets = storeTargets()
const other = (target: StoreTarget): StoreTarget => targets.find((t) => t.name !== target.name) ?? target

for (const target of targets) {
  const destination = other(target)
  test(`a town's history exported from ${target.name} and imported into ${destination.name} replays identically`, { timeout: 300_000 }, async (t) => {
    const { store } = await target.fresh(t)
    const dir = await tempDir(t)
    const { status, moves, now } = await runOfflineTown(t, store, { ms: TOWN_MS + 7_000, moveEveryMs: 10_000, seed: 15, isDefault: true, runner: { snapshots: { everySteps: EVERY, keep: KEEP } } })
    const clock = now()
    const world = await readWorld(store, status.worldId)
    const snapshots = await listSnapshots(store, status.worldId)
    t.equal(snapshots.length, KEEP, 'the kept snapshots')
    t.ok(moves >= 8, `the human walked (${moves} moveTo inputs)`)

    const file = join(dir, 'history.jsonl.gz')
    const exported = await exportHistory(store, status.worldId, file, { now })
    t.same(exported.header.steps, { from: snapshots[0]!.step, to: world.step.number }, 'the header names the replayable range')
    t.equal(exported.parts.snapshots.documents, KEEP)
    t.equal(exported.parts.inputs.documents, await store.collection('inputs').count({ engineId: status.engineId, number: { $gt: snapshots[0]!.processedInputNumber } }),
      'the inputs from the oldest kept snapshot on')
    t.ok(exported.parts.messages.documents > 0, `messages (${exported.parts.messages.documents})`)
    t.comment(`history file: ${exported.bytes} bytes for steps ${exported.header.steps.from} to ${exported.header.steps.to}`)

    t.test(`imported into an empty ${destination.name} deployment: archived, and replay --verify is identical`, async (t) => {
      const { store: there, config } = await destination.fresh(t)
      const report = await importHistory(there, file, { now: clock })
      t.equal(report.worldId, status.worldId, 'the world keeps its id')
      const imported = await there.collection<WorldStatusDoc>('worldStatus').findOne({ worldId: status.worldId })
      t.equal(imported?.status, 'archived', 'the imported world does not run')
      t.equal(imported?.isDefault, false, 'and is not this deployment\'s default world')
      t.equal((await there.collection<EngineDoc>('engines').findOne({ _id: status.engineId }))?.running, false)
      for (const part of HISTORY_PARTS) t.equal(report.parts[part].written, exported.parts[part].documents, `${part}: every document written`)
      const replay = await replayWorld(there, status.worldId, { verify: true })
      t.equal(replay.divergence, undefined, 'no divergence')
      t.equal(replay.steps, world.step.number - snapshots[0]!.step, 'every step after the oldest snapshot')
      const cli = await townhall(['world', 'replay', status.worldId, '--verify'], config)
      t.equal(cli.code, 0, cli.stderr)
      t.match(cli.stdout, /^identical: replayed steps \d+ to \d+/, 'townhall world replay --verify prints identical')
      await t.rejects(importHistory(there, file, { now: clock }), { name: 'HistoryConflictError', statusCode: 409, message: /already exists/ }, 'importing the same world again is refused')
    })

    t.test('a damaged file writes nothing', async (t) => {
      const { store: there } = await destination.fresh(t)
      const bytes = await readFile(file)
      const flipped = join(dir, 'flipped.jsonl.gz')
      const at = Math.floor(bytes.length / 2)
      await writeFile(flipped, Buffer.concat([bytes.subarray(0, at), Buffer.from([bytes[at]! ^ 0x20]), bytes.subarray(at + 1)]))
      await t.rejects(importHistory(there, flipped, { now: clock }), HistoryFileError, 'a flipped byte')
      const truncated = join(dir, 'truncated.jsonl.gz')
      await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.8)))
      await t.rejects(importHistory(there, truncated, { now: clock }), { name: 'HistoryFileError', message: /truncated|damaged/ }, 'cut short')
      const needed = await store.collection<InputDoc>('inputs').findOne({ engineId: status.engineId, number: { $gt: snapshots[0]!.processedInputNumber } }, { sort: { number: 1 } })
      const missing = join(dir, 'missing.jsonl.gz')
      await rewrite(file, missing, (l) => !(l.p === 'inputs' && l.d.number === needed!.number))
      await t.rejects(importHistory(there, missing, { now: clock }), { name: 'HistoryFileError', message: `input ${needed!.number} is missing` }, 'an input the snapshots need, left out (counts and checksums made to match)')
      t.equal(await partCounts(there), 0, 'nothing was written')
    })
  })
}
