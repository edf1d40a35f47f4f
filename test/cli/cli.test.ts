// The townhall command as a user runs it: a real process against the store a server also uses.
import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { townhall } from '../helpers/cli.ts'
import { startServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/engine.ts'

test('bad arguments print usage and exit non-zero', async (t) => {
  for (const args of [[], ['frobnicate'], ['world'], ['world', 'debug-players', 'many'], ['wipe'], ['--nope']]) {
    const r = await townhall(args, {})
    t.equal(r.code, 2, `townhall ${args.join(' ')} exits 2`)
    t.match(r.stdout + r.stderr, /Usage: townhall <command>/)
  }
  const help = await townhall(['--help'], {})
  t.equal(help.code, 0)
})

for (const target of storeTargets()) {
  test(`a fresh start creates the default world; within a minute agents walk and talk (${target.name})`, { timeout: 120_000 }, async (t) => {
    const { config, store } = await target.fresh(t)
    await store.close()
    const server = await startServer(t, { ...config, LOG_LEVEL: 'info' })
    const status = await waitFor('agents walking and a conversation opened', async () => {
      const r = await townhall(['world', 'status', '--json'], config)
      if (r.code !== 0) return null
      const s = JSON.parse(r.stdout) as { agents: number, moving: number, conversations: unknown[], messages: number }
      return s.agents >= 5 && s.moving > 0 && (s.conversations.length > 0 || s.messages > 0) ? s : null
    }, 60_000)
    t.ok(status.agents >= 5, `${status.agents} agents`)
    const text = await townhall(['world', 'status'], config)
    t.match(text.stdout, /status\s+running/)
    t.match(text.stdout, /engine\s+running, generation \d+/)

    const stop = await townhall(['world', 'stop'], config)
    t.match(stop.stdout, /stopped world/)
    t.match((await townhall(['world', 'status'], config)).stdout, /status\s+stoppedByDeveloper/)
    t.match((await townhall(['world', 'resume'], config)).stdout, /resumed world/)
    t.match((await townhall(['world', 'kick'], config)).stdout, /kicked world/)
    t.match((await townhall(['world', 'debug-players', '3'], config)).stdout, /queued 3 join inputs/)
    await waitFor('debug players joined', async () => {
      const s = JSON.parse((await townhall(['world', 'status', '--json'], config)).stdout) as { players: number, agents: number }
      return s.players >= s.agents + 3
    }, 30_000)
    const stopped = await server.stop('SIGINT')
    t.equal(stopped.code, 0)

    // Data written before a restart is there after it: the same default world comes back.
    const before = JSON.parse((await townhall(['world', 'status', '--json'], config)).stdout) as { worldId: string, players: number }
    const again = await startServer(t, { ...config, LOG_LEVEL: 'info' })
    const after = JSON.parse((await townhall(['world', 'status', '--json'], config)).stdout) as { worldId: string, players: number }
    t.equal(after.worldId, before.worldId, 'the default world survives a restart')
    t.equal(after.players, before.players)
    await again.stop('SIGINT')

    t.equal((await townhall(['wipe'], config)).code, 2, 'wipe without --yes refuses')
    const wiped = await townhall(['wipe', '--yes'], config)
    t.match(wiped.stdout, /wiped \d+ documents/)
    const gone = await townhall(['world', 'status'], config)
    t.equal(gone.code, 1)
    t.match(gone.stderr, /no world default/)
  })
}
