// townhall llm pause|resume|status|budget as a user runs it: a real process on a store, on every store.
import { test } from 'tap'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import { storeTargets } from '../helpers/stores.ts'
import { townhall } from '../helpers/cli.ts'

for (const target of storeTargets()) {
  test(`${target.name}: townhall llm pauses, resumes and budgets a world or the deployment`, { timeout: 120_000 }, async (t) => {
    const { store, config } = await target.fresh(t)
    const world = await createWorldRecords(store, { now: Date.now(), agents: 0, seed: 1, isDefault: true })
    const env = { ...config, LLM_BUDGET_USD_PER_DAY: '2.5' }
    const status = async (): Promise<Record<string, unknown>> => {
      const r = await townhall(['llm', 'status', '--json'], env)
      t.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout) as Record<string, unknown>
    }

    const pause = await townhall(['llm', 'pause'], env)
    t.equal(pause.code, 0, pause.stderr)
    t.match(pause.stdout, /LLM use paused for the whole deployment/)
    t.match(await status(), { worldId: world.worldId, deploymentPaused: true, paused: false, budget: { usdPerDay: 2.5, tokensPerHour: null } })
    t.match((await townhall(['world', 'status'], env)).stdout, /llm\s+paused/)

    t.equal((await townhall(['llm', 'resume'], env)).code, 0)
    const one = await townhall(['llm', 'pause', '--world', world.worldId], env)
    t.match(one.stdout, new RegExp(`paused for world ${world.worldId}`))
    t.match(await status(), { deploymentPaused: false, paused: true })
    t.equal((await townhall(['llm', 'resume', '--world', world.worldId], env)).code, 0)
    t.match(await status(), { paused: false })

    const budget = await townhall(['llm', 'budget', 'tokens-per-hour=500', 'usd-per-day=none'], env)
    t.equal(budget.code, 0, budget.stderr)
    t.match(budget.stdout, /tokensPerHour\s+0 of 500\n/)
    t.match(await status(), { budget: { tokensPerHour: 500, usdPerDay: null }, override: { tokensPerHour: 500, usdPerDay: null } })
    t.equal((await townhall(['llm', 'budget', 'usd-per-day=default'], env)).code, 0)
    t.match(await status(), { budget: { tokensPerHour: 500, usdPerDay: 2.5 } })
    const stored = await store.collection('llmControls').findOne({ _id: `world:${world.worldId}` })
    t.same(stored?.budget, { tokensPerHour: 500 }, 'the override is in the store')

    for (const [args, message] of [
      [['llm', 'budget', 'tokens-per-hour=-1'], /tokens-per-hour: expected a non-negative number or none, got "-1"/],
      [['llm', 'budget', 'tokens=5'], /bad limit "tokens=5"/],
      [['llm', 'budget'], /needs at least one/],
      [['llm', 'pause', '--world', 'no-such-world'], /no world no-such-world/],
      [['llm', 'pause', 'now'], /takes no arguments/],
      [['llm', 'frobnicate'], /unknown llm command "frobnicate"/]
    ] as Array<[string[], RegExp]>) {
      const r = await townhall(args, env)
      t.equal(r.code, 2, `townhall ${args.join(' ')} exits 2`)
      t.match(r.stderr, message)
    }
  })
}
