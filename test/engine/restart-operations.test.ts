// A runner killed while its agents wait on the language model: the next runner restarts those operations from
// the agents' own markers at once, instead of leaving the agents stuck until the 120 s operation timeout.
import { test } from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { storeTargets } from '../helpers/stores.ts'
import { readWorld, waitFor } from '../helpers/engine.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import type { EngineDoc, InputDoc } from '../../src/engine/types.ts'
import type { Store } from '../../src/store/types.ts'

const fixture = fileURLToPath(new URL('./fixtures/hanging-brain-runner-process.ts', import.meta.url))

/** A runner process; what it writes to stderr (its errors) is kept for the report of a failed wait. */
function startRunnerProcess (env: Record<string, string>): { kill: () => Promise<void>, stderr: () => string, exitCode: () => number | null } {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve() }))
  return {
    async kill () { if (child.exitCode === null) child.kill('SIGKILL'); await exited },
    stderr: () => stderr,
    exitCode: () => child.exitCode
  }
}

/** What a failed wait needs to be explained: the agents' markers, who is typing, the lease and the input queue. */
async function describeWorld (store: Store, worldId: string): Promise<string> {
  const w = await readWorld(store, worldId)
  const engine = await store.collection<EngineDoc>('engines').findOne({ _id: w.engineId })
  const queued = await store.collection<InputDoc>('inputs').find({ engineId: w.engineId, number: { $gt: w.step.processedInputNumber } }, { sort: { number: 1 } })
  return JSON.stringify({
    step: w.step,
    operations: w.agents.map((a) => ({ agentId: a.id, playerId: a.playerId, op: a.inProgressOperation })),
    typing: w.conversations.map((c) => ({ id: c.id, isTyping: c.isTyping, participants: c.participants.map((m) => m.playerId) })),
    runner: engine?.runner,
    generation: engine?.generationNumber,
    queued: queued.map((i) => ({ number: i.number, name: i.name, returnValue: i.returnValue }))
  })
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
    }, 60_000).catch(async (err: unknown) => {
      // Say why: a runner that died, or the world as the next runner left it.
      t.comment(`stuck operations: ${stuck.join(', ')}; the next runner ${next.exitCode() === null ? 'is running' : `exited with ${next.exitCode()}`}`)
      t.comment(`its stderr: ${next.stderr() || '(empty)'}`)
      t.comment(`the world: ${await describeWorld(store, status.worldId)}`)
      throw err
    })
    t.ok(Date.now() - killedAt < 60_000, `restarted and finished in ${Date.now() - killedAt} ms, far inside the 120 s timeout`)
    t.ok(await store.collection('messages').count({ worldId: status.worldId }) > 0, 'the restarted operation wrote its message')
    await next.kill()
  })
}
