// import-convex, validate-import, backup and restore as a user runs them: real processes, exit codes, reports.
import { test } from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { townhall as runTownhall, type CommandResult } from '../helpers/cli.ts'
import { writeConvexExport } from '../fixtures/convexExport.ts'

/** townhall with the settings these tests share (the export fixture's embedding size). */
async function townhall (args: string[], env: Record<string, string>): Promise<CommandResult> {
  return await runTownhall(args, { EMBEDDING_DIMENSION: '1024', VECTOR_INDEX: 'auto', ...env })
}

function checksums (text: string): string[] {
  return text.split('\n').filter((line) => /^ {2}\w+ +[\d,]+ {2}[0-9a-f]{16}$/.test(line)).map((line) => line.trim().replace(/ +/g, ' ')).sort()
}

for (const target of storeTargets()) {
  test(`import → validate → backup → wipe → restore → validate through the command (${target.name})`, { timeout: 300_000 }, async (t) => {
    const dir = await tempDir(t)
    const zip = join(dir, 'snapshot.zip')
    await writeConvexExport({ out: zip, seed: 8, memoriesPerAgent: 6 })
    const { store, config } = await target.fresh(t)
    await store.close()

    const dry = await townhall(['import-convex', zip, '--dry-run'], config)
    t.equal(dry.code, 0, dry.stderr)
    t.match(dry.stdout, /dry run of the import of/)
    const imported = await townhall(['import-convex', zip], config)
    t.equal(imported.code, 0, imported.stderr)
    t.match(imported.stdout, /memories +30 +30 +0 +0/, 'the report counts each table')
    t.match(imported.stdout, /documents\/s\)/)
    if (target.name === 'embedded') t.match(imported.stderr, /vector index \(hnsw\) holds 30 memory embeddings/, 'the persisted vector index is rebuilt')
    const importSums = checksums(imported.stdout)
    t.ok(importSums.length >= 14, 'a checksum per collection')

    const validated = await townhall(['validate-import'], config)
    t.equal(validated.code, 0, validated.stderr)
    t.match(validated.stdout, /references hold/)
    const validSums = checksums(validated.stdout)
    for (const line of importSums) t.ok(validSums.includes(line), `validate-import agrees: ${line}`)

    const json = JSON.parse((await townhall(['validate-import', '--json'], config)).stdout) as { ok: boolean, collections: Record<string, unknown> }
    t.ok(json.ok)

    const file = join(dir, 'town.thb')
    const backup = await townhall(['backup', file], config)
    t.equal(backup.code, 0, backup.stderr)
    const refused = await townhall(['restore', file], config)
    t.equal(refused.code, 1, 'restore into a deployment with data exits 1')
    t.match(refused.stderr, /empty deployment.*wipe --yes/)
    t.equal((await townhall(['wipe', '--yes'], config)).code, 0)
    const restored = await townhall(['restore', file], config)
    t.equal(restored.code, 0, restored.stderr)
    const after = await townhall(['validate-import'], config)
    t.same(checksums(after.stdout), validSums, 'the same checksums after the restore')

    const again = await townhall(['import-convex', zip], config)
    t.equal(again.code, 0)
    t.match(again.stdout, /total +\d+ +0 +\d+ +0/, 'a second import finds everything present')
  })
}

test('skipped documents make the import exit 1 unless --allow-skips; usage errors exit 2', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t)
  const out = join(dir, 'export')
  await writeConvexExport({ out, memoriesPerAgent: 2 })
  const file = join(out, 'messages', 'documents.jsonl')
  const lines = (await readFile(file, 'utf8')).split('\n')
  lines[0] = 'not json'
  await writeFile(file, lines.join('\n'))
  const config = { DATA_DIR: join(dir, 'data') }
  const strict = await townhall(['import-convex', out], config)
  t.equal(strict.code, 1)
  t.match(strict.stdout, /messages\/documents\.jsonl:1: not valid JSON/, 'the report names file and line')
  t.match(strict.stderr, /1 documents were skipped.*--allow-skips/)
  const lenient = await townhall(['import-convex', out, '--allow-skips'], { ...config, DATA_DIR: join(dir, 'data2') })
  t.equal(lenient.code, 0)
  const truncated = await townhall(['import-convex', join(dir, 'nothing.zip'), '--allow-skips'], config)
  t.equal(truncated.code, 1, 'an unreadable export fails even with --allow-skips')
  t.match(truncated.stdout, /no such file or directory/)
  for (const args of [['import-convex'], ['backup'], ['restore']]) {
    const r = await townhall(args, config)
    t.equal(r.code, 2, `townhall ${args.join(' ')} exits 2`)
    t.match(r.stderr, /needs/)
  }
  const bad = await townhall(['restore', join(dir, 'missing.thb')], config)
  t.equal(bad.code, 1)
})
