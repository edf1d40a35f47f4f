// townhall world create|list|archive|delete as a user runs them, and a delete SIGKILLed half-way that a rerun finishes.
import { test } from 'tap'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { storeTargets, tempDir } from '../helpers/stores.ts'
import { townhall } from '../helpers/cli.ts'
import { collectionNames } from '../../src/store/collections.ts'
import type { Store } from '../../src/store/types.ts'

const examples = fileURLToPath(new URL('../../examples/', import.meta.url))
const deleter = fileURLToPath(new URL('../worlds/fixtures/delete-process.ts', import.meta.url))

async function counts (store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const name of collectionNames) out[name] = await store.collection(name).count()
  return out
}

/** Runs the delete in a child process, SIGKILLs it once it has finished `stage`. */
async function deleteKilledAfter (stage: string, env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', deleter], { env: { PATH: process.env.PATH ?? '', ...env, STOP_AFTER_STAGE: stage }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => { resolve(signal) }))
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes(`STAGE ${stage}`)) resolve()
    })
    child.on('exit', () => { reject(new Error(`the delete process ended before stage ${stage}: ${out} ${err}`)) })
  })
  child.kill('SIGKILL')
  return `${await exited}`
}

for (const target of storeTargets()) {
  test(`world create, list, archive; a delete killed half-way finishes on a rerun (${target.name})`, { timeout: 120_000 }, async (t) => {
    const { store, config } = await target.fresh(t)
    const dir = await tempDir(t)
    const map = join(examples, 'tiny-map.json')
    const cast = join(examples, 'cast.json')

    // Bad files: one line naming the field, exit 2, nothing written.
    const badCast = join(dir, 'bad-cast.json')
    await writeFile(badCast, JSON.stringify([{ name: 'A', character: 'f1', identity: 'a', plan: 'b' }, { name: 'B', character: 'f1', identity: 'a', plan: 'b' }, { name: 'C', character: 'x9', identity: 'a', plan: 'b' }]))
    const badMap = join(dir, 'bad-map.json')
    await writeFile(badMap, JSON.stringify({ tileDim: 32, tileSetUrl: '/t.png', tileSetDimX: 64, tileSetDimY: 64, bgTiles: [[[0, 1, 2, 'x']]], objectTiles: [[[-1, -1, -1, -1]]] }))
    const before = await counts(store)
    const r1 = await townhall(['world', 'create', '--map', map, '--cast', badCast], config)
    t.equal(r1.code, 2)
    t.equal(r1.stderr, 'townhall: cast[2].character: expected one of f1..f8, got "x9"\n')
    const r2 = await townhall(['world', 'create', '--map', badMap, '--cast', cast], config)
    t.equal(r2.code, 2)
    t.equal(r2.stderr, 'townhall: map.bgTiles[0][0][3]: expected an integer from -1 to 3, got "x"\n')
    const r3 = await townhall(['world', 'create', '--map', join(dir, 'missing.json'), '--cast', cast], config)
    t.equal(r3.code, 2)
    t.match(r3.stderr, /^townhall: cannot read the map file .*missing\.json: ENOENT\n$/)
    t.equal((await townhall(['world', 'create', '--map', map], config)).code, 2, 'create needs --cast')
    t.equal((await townhall(['world', 'create', '--map', map, '--cast', cast, '--agents', '9'], config)).stderr, 'townhall: agents: expected an integer from 0 to 3, got 9\n')
    t.same(await counts(store), before, 'nothing was written')

    const made = await townhall(['world', 'create', '--map', map, '--cast', cast, '--name', 'Saltmarsh', '--agents', '2', '--seed', '7', '--json'], config)
    t.equal(made.code, 0, made.stderr)
    const world = JSON.parse(made.stdout) as { worldId: string, engineId: string }
    const other = await townhall(['world', 'create', '--map', map, '--cast', cast, '--name', 'Harbour'], config)
    t.match(other.stdout, /^created world \S+ "Harbour": a running instance picks it up within seconds/)
    const list = await townhall(['world', 'list'], config)
    t.match(list.stdout, /running\s+Saltmarsh/)
    t.match(list.stdout, /running\s+Harbour/)
    const listed = JSON.parse((await townhall(['world', 'list', '--json'], config)).stdout) as Array<{ name: string, status: string }>
    t.same(listed.map((w) => w.name), ['Saltmarsh', 'Harbour'])

    const harbour = listed[1] as unknown as { worldId: string }
    t.equal((await townhall(['world', 'archive'], config)).code, 2, 'archive needs --world')
    t.match((await townhall(['world', 'archive', '--world', harbour.worldId], config)).stdout, /archived world .* "Harbour": stopped, data kept, read-only/)
    t.match((await townhall(['world', 'list'], config)).stdout, /archived\s+Harbour/)
    t.match((await townhall(['world', 'resume', '--world', harbour.worldId], config)).stderr, /is archived: it is read-only/, 'an archived world is not resumed')

    // Data the world owns beyond what creation wrote: messages, memories, usage.
    await store.collection('messages').insertMany(Array.from({ length: 50 }, (_, i) => ({ worldId: world.worldId, conversationId: 'c:1', messageUuid: `m${i}`, author: 'p:0', text: `hello ${i}` })))
    await store.collection('llmUsage').insertOne({ worldId: world.worldId, hour: 1, calls: 3 })
    await store.collection('playerDescriptions').insertOne({ worldId: world.worldId, playerId: 'p:90', name: 'Only here', description: 'x', character: 'f1' })
    const e = await store.collection('memoryEmbeddings').insertOne({ worldId: world.worldId, playerId: 'p:90', embedding: [0.5, 0.5] })
    await store.collection('memories').insertOne({ worldId: world.worldId, playerId: 'p:90', embeddingId: e._id, description: 'a memory', importance: 1, lastAccess: 1, data: { type: 'reflection', relatedMemoryIds: [] } })

    t.equal((await townhall(['world', 'delete', '--world', world.worldId], config)).code, 2, 'delete needs --yes')
    const signal = await deleteKilledAfter('inputs', { ...config, WORLD_ID: world.worldId })
    t.equal(signal, 'SIGKILL', 'the delete process was killed')
    t.match((await townhall(['world', 'list'], config)).stdout, /deleting\s+Saltmarsh/, 'the world shows as being deleted')
    t.equal(await store.collection('inputs').count({ engineId: world.engineId }), 0, 'the stages before the kill are done')
    t.equal(await store.collection('memories').count({ playerId: 'p:90' }), 0)
    t.equal(await store.collection('messages').count({ worldId: world.worldId }), 50, 'the stages after it are not')

    const rerun = await townhall(['world', 'delete', '--world', world.worldId, '--yes'], config)
    t.equal(rerun.code, 0, rerun.stderr)
    t.match(rerun.stdout, /^deleted world \S+: \d+ documents/)
    for (const name of collectionNames) {
      const c = store.collection(name)
      const left = await c.count({ worldId: world.worldId }) + await c.count({ _id: world.worldId }) + await c.count({ engineId: world.engineId }) + await c.count({ _id: world.engineId })
      t.equal(left, 0, `nothing of the world is left in ${name}`)
    }
    t.equal(await store.collection('memoryEmbeddings').count({ playerId: 'p:90' }), 0)
    const after = JSON.parse((await townhall(['world', 'list', '--json'], config)).stdout) as Array<{ name: string }>
    t.same(after.map((w) => w.name), ['Harbour'], 'the other world is untouched')
    t.ok(await store.collection('messages').count() === 0 && await store.collection('worlds').count() === 1)
    const again = await townhall(['world', 'delete', '--world', world.worldId, '--yes'], config)
    t.equal(again.code, 1)
    t.match(again.stderr, /no world /)
  })
}
