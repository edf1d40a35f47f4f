// townhall world export-history|import-history as a user runs them: progress on stderr, the report on stdout,
// and one line with exit 2 for a missing argument, an unknown world, a damaged file or a world already there.
import { test } from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { townhall } from '../helpers/cli.ts'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import { takeSnapshot } from '../../src/engine/snapshots.ts'

for (const target of storeTargets()) {
  test(`townhall world export-history and import-history (${target.name})`, { timeout: 120_000 }, async (t) => {
    const { store, config } = await target.fresh(t)
    const dir = await tempDir(t)
    const now = Date.parse('2026-11-22T09:00:00Z')
    const status = await createWorldRecords(store, { now, agents: 2, seed: 3 })
    const file = join(dir, 'town.jsonl.gz')

    const unsnapshotted = await townhall(['world', 'export-history', status.worldId, '--out', file], config)
    t.equal(unsnapshotted.code, 2)
    t.match(unsnapshotted.stderr, /townhall: world \S+ has no snapshots: a history starts at one/)
    await takeSnapshot(store, status.worldId, 'demand', { keep: 5 }, now)

    const exported = await townhall(['world', 'export-history', status.worldId, '--out', file], config)
    t.equal(exported.code, 0, exported.stderr)
    t.match(exported.stdout, `exported the history of world ${status.worldId} (steps 0 to 0) to ${file}`)
    t.match(exported.stderr, /export: inputs 2 documents/, 'progress on stderr')

    const there = await target.fresh(t)
    const imported = await townhall(['world', 'import-history', file], there.config)
    t.equal(imported.code, 0, imported.stderr)
    t.match(imported.stdout, `imported the history of world ${status.worldId}`)
    t.match(imported.stderr, /import: worlds 1 documents written/, 'progress on stderr')
    const replay = await townhall(['world', 'replay', status.worldId, '--verify'], there.config)
    t.equal(replay.code, 0, replay.stderr)
    t.match(replay.stdout, /^identical/)

    const cases: Array<[string, string[], RegExp]> = [
      ['no world id', ['world', 'export-history'], /^townhall: world export-history needs a world id/],
      ['an unknown world', ['world', 'export-history', 'no-such-world'], /^townhall: no world no-such-world \(see townhall world list\)\n$/],
      ['an --out folder that is not there', ['world', 'export-history', status.worldId, '--out', join(dir, 'no', 'such', 'h.gz')], /^townhall: cannot write .*h\.gz: its folder .* does not exist or is not writable\n$/],
      ['no file', ['world', 'import-history'], /^townhall: world import-history needs a file/],
      ['a missing file', ['world', 'import-history', join(dir, 'nothing.gz')], /^townhall: .*nothing\.gz: unreadable after line 0: ENOENT/],
      ['a world already there', ['world', 'import-history', file], /^townhall: world \S+ already exists in .* delete it first/]
    ]
    const bytes = await readFile(file)
    const cut = join(dir, 'cut.jsonl.gz')
    await writeFile(cut, bytes.subarray(0, bytes.length - 9))
    cases.push(['a truncated file', ['world', 'import-history', cut], /^townhall: .*cut\.jsonl\.gz: .*(truncated|damaged)/])
    const foreign = join(dir, 'not-history.json')
    await writeFile(foreign, '{"hello":1}\n')
    cases.push(['not a history file', ['world', 'import-history', foreign], /^townhall: .*not-history\.json: /])
    for (const [what, args, message] of cases) {
      const r = await townhall(args, there.config)
      t.equal(r.code, 2, `${what}: exit 2`)
      t.match(r.stderr, message, what)
      t.equal(r.stderr.split('\n').length, 2, `${what}: one line`)
    }
  })
}
