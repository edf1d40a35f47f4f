// A world whose runner process was SIGKILLed three times mid-run (kill-restart.test.ts's approach) still
// replays identically from its first snapshot: no step the crashes cut short is missing from the record.
import { test } from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { storeTargets } from '../helpers/stores.ts'
import { townhall } from '../helpers/cli.ts'
import { readWorld, waitFor } from '../helpers/engine.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import { submitInput } from '../../src/engine/inputs.ts'
import { listSnapshots } from '../../src/engine/snapshots.ts'
import { replayWorld } from '../../src/engine/replay.ts'
import type { StoredWorldDoc } from '../../src/engine/worldDoc.ts'

const fixture = fileURLToPath(new URL('./fixtures/runner-process.ts', import.meta.url))

function startRunnerProcess (env: Record<string, string>): { started: Promise<void>, kill: () => Promise<void>, stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let err = ''
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve() }))
  const started = new Promise<void>((resolve) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('runner-process started')) resolve() })
    exited.then(resolve, resolve)
  })
  return {
    started,
    async kill () { child.kill('SIGKILL'); await exited },
    stderr: () => err
  }
}

for (const target of storeTargets()) {
  test(`replay after 3 SIGKILLs of the runner: identical (${target.name})`, { timeout: 300_000 }, async (t) => {
    const { store, config } = await target.fresh(t)
    const env = { ...config, SNAPSHOT_EVERY_STEPS: '5', SNAPSHOT_KEEP: '1000' }
    const status = await createWorldRecords(store, { now: Date.now(), agents: 3, seed: 3 })
    let joins = 0
    const state = { submitting: true }
    // A human's inputs keep arriving while the runner is killed and restarted.
    const producer = (async () => {
      while (state.submitting) {
        if (joins < 6) await submitInput(store, status.engineId, 'join', { name: `Visitor ${joins}`, character: 'f2', description: 'kill test', tokenIdentifier: `human:${joins}` })
        joins++
        const world = await readWorld(store, status.worldId)
        const human = world.players.find((p) => p.human !== undefined)
        if (human !== undefined) await submitInput(store, status.engineId, 'moveTo', { playerId: human.id, destination: { x: 2 + joins % 25, y: 2 + (joins * 3) % 15 } })
        await new Promise((resolve) => setTimeout(resolve, 120))
      }
    })()
    for (let round = 0; round < 3; round++) {
      const child = startRunnerProcess(env)
      t.teardown(child.kill)
      // Killed while it steps: some time after it has started.
      await child.started
      await new Promise((resolve) => setTimeout(resolve, 1000 + Math.random() * 1000))
      await child.kill()
      t.notMatch(child.stderr(), /runner crashed|Error/, `round ${round}: no crash before the kill`)
    }
    state.submitting = false
    await producer
    const last = startRunnerProcess(env)
    t.teardown(last.kill)
    let progress = ''
    await waitFor('every input processed and a few more steps', async () => {
      const doc = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: status.worldId })
      const newest = await store.collection('inputs').findOne({ engineId: status.engineId }, { sort: { number: -1 } })
      progress = `step ${doc!.step.number}, inputs ${doc!.step.processedInputNumber} of ${newest!.number}, outbox ${doc!.outbox !== undefined}; ${last.stderr()}`
      return doc!.outbox === undefined && doc!.step.processedInputNumber === newest!.number && (await listSnapshots(store, status.worldId)).length >= 6
    }, 60_000).catch((err: Error) => { throw new Error(`${err.message}: ${progress}`) })
    await last.kill()

    const world = await readWorld(store, status.worldId)
    const snapshots = await listSnapshots(store, status.worldId)
    t.equal(snapshots[0]!.reason, 'first', 'the chain starts where the world started')
    t.equal(snapshots[0]!.step, 0)
    t.ok(world.players.some((p) => p.human !== undefined), 'a human took part')
    const report = await replayWorld(store, status.worldId, { verify: true })
    t.equal(report.divergence, undefined, 'identical')
    t.equal(report.steps, world.step.number, 'every step from the world\'s start was replayed')
    t.ok(report.checked.length >= snapshots.length, `compared with ${report.checked.length} checkpoints`)
    const doc = await store.collection<StoredWorldDoc>('worlds').findOne({ _id: status.worldId })
    const skipped = [...snapshots.flatMap((s) => Object.values(s.steps)), ...Object.values(doc!.stepLog ?? {})].filter((r) => r[2] !== undefined).length
    t.ok(skipped >= 3, `the restarts skipped their gaps, and replay redid them (${skipped} skipped gaps)`)
    const cli = await townhall(['world', 'replay', status.worldId, '--verify'], env)
    t.equal(cli.code, 0, cli.stderr)
    t.match(cli.stdout, `identical: replayed steps 0 to ${world.step.number}`)
  })
}
