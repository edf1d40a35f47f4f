// townhall world fork <worldId> --at-step N as a user runs it: a new world forked from the original; an unknown
// world, a step outside the kept range or a bad --at-step is one line and exit 2, and writes nothing.
import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { townhall } from '../helpers/cli.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import { takeSnapshot } from '../../src/engine/snapshots.ts'

for (const target of storeTargets()) {
  test(`townhall world fork (${target.name})`, { timeout: 120_000 }, async (t) => {
    const { store, config } = await target.fresh(t)
    const now = Date.now()
    const world = await createWorldRecords(store, { now, agents: 1, seed: 9, name: 'Saltmarsh' })
    const statuses = async (): Promise<number> => await store.collection('worldStatus').count()

    const noSnapshots = await townhall(['world', 'fork', world.worldId, '--at-step', '0'], config)
    t.equal(noSnapshots.code, 2)
    t.match(noSnapshots.stderr, /^townhall: world \S+ has no snapshots to fork from/)
    await takeSnapshot(store, world.worldId, 'demand', { keep: 5 }, now)
    const before = await statuses()
    const bad: Array<[string[], RegExp]> = [
      [['world', 'fork', 'no-such-world', '--at-step', '0'], /^townhall: no world no-such-world \(see townhall world list\)\n$/],
      [['world', 'fork', world.worldId, '--at-step', '4'], /^townhall: step 4 is outside what world \S+ keeps: the kept range is steps 0 to 0\n$/],
      [['world', 'fork', world.worldId, '--at-step', 'x'], /^townhall: --at-step expects a step number \(a whole number\), got "x"\n$/],
      [['world', 'fork', world.worldId], /^townhall: world fork needs the step to fork at: townhall world fork \S+ --at-step N/],
      [['world', 'fork', '--at-step', '0'], /^townhall: world fork needs a world id/]
    ]
    for (const [args, message] of bad) {
      const r = await townhall(args, config)
      t.equal(r.code, 2, args.join(' '))
      t.match(r.stderr, message)
      t.equal(r.stderr.split('\n').length, 2, 'one line')
    }
    t.equal(await statuses(), before, 'nothing written')

    const plain = await townhall(['world', 'fork', world.worldId, '--at-step', '0'], config)
    t.equal(plain.code, 0, plain.stderr)
    t.match(plain.stdout, new RegExp(`^forked world ${world.worldId} at step 0 into world \\S+ "Saltmarsh \\(fork at step 0\\)"`))
    const json = await townhall(['world', 'fork', world.worldId, '--at-step', '0', '--name', 'What if', '--json'], config)
    t.equal(json.code, 0, json.stderr)
    t.match(JSON.parse(json.stdout), { name: 'What if', status: 'running', forkedFrom: { worldId: world.worldId, step: 0 } })
    const list = await townhall(['world', 'list'], config)
    t.match(list.stdout, /What if\s+fork of Saltmarsh at step 0/, 'world list shows where the fork came from')
  })
}
