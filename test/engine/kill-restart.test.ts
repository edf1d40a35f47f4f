// A runner process killed with SIGKILL at random moments and restarted neither loses nor repeats anything.
import { test } from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { storeTargets } from '../helpers/stores.ts'
import { allInputs, emptyWorld, readWorld, waitFor } from '../helpers/engine.ts'
import { submitInput } from '../../src/engine/inputs.ts'

const fixture = fileURLToPath(new URL('./fixtures/runner-process.ts', import.meta.url))

function startRunnerProcess (env: Record<string, string>): { kill: () => Promise<void>, stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let err = ''
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve() }))
  return {
    async kill () { child.kill('SIGKILL'); await exited },
    stderr: () => err
  }
}

for (const target of storeTargets()) {
  test(`SIGKILL mid-run and restart: nothing lost, nothing repeated (${target.name})`, { timeout: 180_000 }, async (t) => {
    const { store, config } = await target.fresh(t)
    const status = await emptyWorld(store)
    let joins = 0
    let leaves = 0
    const state = { submitting: true }
    // Inputs keep arriving while the runner is killed and restarted.
    const producer = (async () => {
      while (state.submitting) {
        await submitInput(store, status.engineId, 'join', { name: `J${joins}`, character: 'f2', description: 'kill test' })
        joins++
        if (joins % 3 === 0) {
          await submitInput(store, status.engineId, 'leave', { playerId: `p:${leaves * 3}` })
          leaves++
        }
        await new Promise((resolve) => setTimeout(resolve, 15))
      }
    })()
    for (let round = 0; round < 5; round++) {
      const child = startRunnerProcess(config)
      t.teardown(child.kill)
      await new Promise((resolve) => setTimeout(resolve, 900 + Math.random() * 900))
      await child.kill()
      t.notMatch(child.stderr(), /runner crashed|Error/, `round ${round}: no crash before the kill`)
    }
    state.submitting = false
    await producer
    const last = startRunnerProcess(config)
    t.teardown(last.kill)
    const inputs = await waitFor('every input answered', async () => {
      const all = await allInputs(store, status.engineId)
      const world = await readWorld(store, status.worldId)
      return world.outbox === undefined && all.every((i) => i.returnValue !== undefined) ? all : null
    }, 60_000)
    await last.kill()

    t.equal(inputs.length, joins + leaves, 'every submitted input is stored once')
    t.same(inputs.map((i) => i.number), inputs.map((_, i) => i + 1), 'numbers are gapless')
    const okJoins = inputs.filter((i) => i.name === 'join' && i.returnValue?.kind === 'ok')
    const okLeaves = inputs.filter((i) => i.name === 'leave' && i.returnValue?.kind === 'ok')
    t.equal(okJoins.length, joins, 'every join succeeded once')
    const world = await readWorld(store, status.worldId)
    const archived = await store.collection('archivedPlayers').find({ worldId: status.worldId })
    t.equal(archived.length, okLeaves.length, 'one archive row per applied leave')
    t.equal(world.players.length, okJoins.length - okLeaves.length, 'no join or leave applied twice or lost')
    const ids = new Set([...world.players.map((p) => p.id), ...archived.map((a) => a.id as string)])
    t.equal(ids.size, okJoins.length, 'every joined player is live or archived, exactly once')
    t.same(new Set(okJoins.map((i) => (i.returnValue as { value: string }).value)), ids)
    t.equal(world.step.processedInputNumber, inputs.length)
    t.equal(await store.collection('playerDescriptions').count({ worldId: status.worldId }), okJoins.length)
  })
}
