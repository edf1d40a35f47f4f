// townhall llm pause|resume|status|budget: the kill switch and budgets, written straight to the store
// (running instances apply them through the change feed, or within LLM_CONTROL_CACHE_MS).
import type { Config } from '../config.ts'
import type { Store } from '../store/types.ts'
import { worldStatus, WorldNotFoundError } from '../engine/worlds.ts'
import {
  BUDGET_KEYS, LlmControls, parseLimit, setBudget, setPaused, type Budget, type BudgetKey, type LlmControlDoc, type WorldLlmState
} from '../llm/controls.ts'
import { UsageError } from './verbs.ts'

const FLAGS: Record<string, BudgetKey> = {
  'tokens-per-hour': 'tokensPerHour',
  'tokens-per-day': 'tokensPerDay',
  'usd-per-hour': 'usdPerHour',
  'usd-per-day': 'usdPerDay'
}

export function configBudget (config: Config): Budget {
  const values = { tokensPerHour: config.LLM_BUDGET_TOKENS_PER_HOUR, tokensPerDay: config.LLM_BUDGET_TOKENS_PER_DAY, usdPerHour: config.LLM_BUDGET_USD_PER_HOUR, usdPerDay: config.LLM_BUDGET_USD_PER_DAY }
  const out: Budget = {}
  for (const key of BUDGET_KEYS) if (values[key] !== undefined) out[key] = values[key]
  return out
}

async function resolveWorld (store: Store, world: string | undefined): Promise<string> {
  try {
    return (await worldStatus(store, world)).worldId
  } catch (err) {
    if (err instanceof WorldNotFoundError) throw new UsageError(`no world ${world ?? '(default)'}: give an existing world with --world <id>`)
    throw err
  }
}

const limitText = (v: number | null, usd: boolean): string => v === null ? 'none' : usd ? `$${v}` : String(v)

export function formatLlmState (s: WorldLlmState): string {
  const line = (key: BudgetKey, spent: number, usd: boolean): string => {
    const own = Object.hasOwn(s.override, key) ? '' : ' (default)'
    return `  ${key.padEnd(14)} ${(usd ? `$${spent.toFixed(4)}` : String(spent)).padStart(12)} of ${limitText(s.budget[key], usd)}${own}`
  }
  return [
    `world       ${s.worldId}`,
    `llm         ${s.deploymentPaused ? 'paused (whole deployment)' : s.paused ? 'paused (this world)' : s.budgetExceeded ? `budget exceeded (${s.exceeded ?? ''})` : 'allowed'}`,
    'budget      spent / limit',
    line('tokensPerHour', s.spent.hour.tokens, false),
    line('tokensPerDay', s.spent.day.tokens, false),
    line('usdPerHour', s.spent.hour.costUsd, true),
    line('usdPerDay', s.spent.day.costUsd, true)
  ].join('\n')
}

export async function runLlmCommand (store: Store, config: Config, args: { positionals: string[], world?: string, json: boolean }, now: () => number): Promise<string> {
  const [, sub, ...rest] = args.positionals
  switch (sub) {
    case 'pause':
    case 'resume': {
      if (rest.length > 0) throw new UsageError(`llm ${sub} takes no arguments (use --world <id> for one world)`)
      const worldId = args.world === undefined ? undefined : await resolveWorld(store, args.world)
      await setPaused(store, worldId, sub === 'pause', now())
      const what = worldId === undefined ? 'the whole deployment' : `world ${worldId}`
      return `LLM use ${sub === 'pause' ? 'paused' : 'resumed'} for ${what}; running instances apply it within seconds`
    }
    case 'status': {
      const worldId = await resolveWorld(store, args.world)
      const controls = new LlmControls({ store, defaults: configBudget(config), prices: config.llmPrices, now, cacheMs: 0 })
      const state = await controls.state(worldId)
      return args.json ? JSON.stringify(state, null, 2) : formatLlmState(state)
    }
    case 'budget': {
      if (rest.length === 0) throw new UsageError('llm budget needs at least one <limit>=<value>, e.g. tokens-per-hour=20000 or usd-per-day=none')
      const worldId = await resolveWorld(store, args.world)
      const existing = await store.collection<LlmControlDoc>('llmControls').findOne({ _id: `world:${worldId}` })
      const budget: Budget = { ...existing?.budget }
      for (const pair of rest) {
        const at = pair.indexOf('=')
        const key = FLAGS[at === -1 ? pair : pair.slice(0, at)]
        if (at === -1 || key === undefined) throw new UsageError(`bad limit ${JSON.stringify(pair)}: expected one of ${Object.keys(FLAGS).join(', ')} followed by =<value>`)
        const raw = pair.slice(at + 1)
        if (raw.trim().toLowerCase() === 'default') {
          delete budget[key]
          continue
        }
        try {
          budget[key] = parseLimit(raw)
        } catch (err) {
          throw new UsageError(`${pair.slice(0, at)}: ${(err as Error).message}`)
        }
      }
      await setBudget(store, worldId, budget, now())
      const controls = new LlmControls({ store, defaults: configBudget(config), prices: config.llmPrices, now, cacheMs: 0 })
      return formatLlmState(await controls.state(worldId))
    }
    default: throw new UsageError(`unknown llm command ${JSON.stringify(sub ?? '')}: expected pause, resume, status or budget`)
  }
}
