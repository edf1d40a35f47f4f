// A runner killed while its agents wait on the language model: the next runner restarts those operations from
// the agents' own markers at once, instead of leaving the agents stuck until the 120 s operation timeout.
import { test } from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { storeTargets } from '../helpers/stores.ts'
import { readWorld, waitFor } from '../helpers/engine.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'

const fixture = fileURLToPath(new URL('./fixtures/hanging-brain-runner-process.ts', import.meta.url))

function startRunnerProcess (env: Record<string, string>): { kill: () => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'silent' }, stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve() }))
  return { async kill () { if (child.exitCode === null) child.kill('SIGKILL'); await exited } }
}

for (const target of storeTargets()) {
  test(`SIGKILL with language-model operations in flight: the next runner restarts them (${target.name})`, { timeout: 180_000 }, async (t) => {
    const { store, config } = await target.fresh(t)
    const status = await createWorldRecords(store, { now: Date.now(), agents: 8, seed: 3 })
    const hanging = startRunnerProcess({ ...config, HANGING_BRAIN: '1' })
    t.teardown(hanging.kill)
    // The hanging brain never answers: wait until an agent is typing a message that will never come.
    const stuck = await waitFor('an agent waiting on its message', async () => {
      const w = await readWorld(store, status.worldId)
      const ops = w.agents.filter((a) => a.inProgressOperation?.name === 'generateMessage')
      return ops.length > 0 ? ops.map((a) => a.inProgressOperation!.operationId) : null
    }, 120_000)
    await hanging.kill()
    const killedAt = Date.now()
    const next = startRunnerProcess(config)
    t.teardown(next.kill)
    await waitFor('the stuck operations finished by the next runner', async () => {
      const w = await readWorld(store, status.worldId)
      return w.agents.every((a) => a.inProgressOperation === undefined || !stuck.includes(a.inProgressOperation.operationId))
    }, 60_000)
    t.ok(Date.now() - killedAt < 60_000, `restarted and finished in ${Date.now() - killedAt} ms, far inside the 120 s timeout`)
    t.ok(await store.collection('messages').count({ worldId: status.worldId }) > 0, 'the restarted operation wrote its message')
    await next.kill()
  })
}
