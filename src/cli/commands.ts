// The townhall command's verbs, over the store; main.ts parses arguments and owns the process.
import type { Store } from '../store/types.ts'
import {
  addDebugPlayers, kickWorld, resumeWorld, stopWorld, summarizeWorld, wipe, type WorldSummary
} from '../engine/worlds.ts'
import { worldsUsage } from './worlds.ts'
import { replayUsage } from './replay.ts'
import { historyUsage } from './history.ts'

export const usage = `Usage: townhall <command> [options]

Commands:
  start                          start the server (same as npm start)
  world status [--json]          the world's status, engine, players and conversations
  world stop                     stop the world's engine (stays stopped until resumed)
  world resume                   resume a stopped or inactive world
  world kick                     restart the world's engine with a fresh runner
  world debug-players <N>        add N debug players that wander the town
${worldsUsage}
${replayUsage}
${historyUsage}
  llm pause|resume [--world <id>]  pause or resume all LLM use of a world, or of the deployment
  llm status [--world <id>] [--json]  paused or not, the budget in force and what was spent
  llm budget [--world <id>] <limit>=<value>...  set a world's budget: tokens-per-hour,
        tokens-per-day, usd-per-hour, usd-per-day = a number, none, or default
  wipe --yes                     delete all data except the embeddings cache
  import-convex <export>         import an AI Town Convex export (.zip or directory)
        [--dry-run] [--allow-skips] [--json]
  validate-import [--json]       counts, checksums and reference checks of what is stored
  backup <file>                  write every collection to a gzip'd snapshot file
  restore <file>                 restore a backup into an empty deployment

Options:
  --world <id>                   act on this world instead of the default one
  --dry-run                      import-convex: read and check everything, write nothing
  --allow-skips                  import-convex: exit 0 even when documents were skipped
  --from-step N, --to-step M     world replay: the steps to rebuild (default: all kept)
  --at-step N                    world fork: the step to fork at
  --verify                       world replay: compare with the snapshots and the committed world
  --out FILE                     world export-history: the file to write
  --json                         print the report as JSON
  -h, --help                     show this help

Configuration comes from the environment and .env, as for the server (see .env.example).`

export class UsageError extends Error {}

function ago (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  return s < 120 ? `${s}s ago` : `${Math.round(s / 60)}m ago`
}

export function formatSummary (s: WorldSummary, now: number): string {
  const lines = [
    `world       ${s.worldId}${s.isDefault ? ' (default)' : ''}`,
    `status      ${s.status}, last viewed ${ago(now - s.lastViewed)}`,
    `engine      ${s.engine.running ? 'running' : 'stopped'}, generation ${s.engine.generationNumber}, clock ${ago(now - s.engine.currentTime)}` +
      (s.engine.runner !== null ? `, runner ${s.engine.runner.instanceId.slice(0, 8)}` : ''),
    `players     ${s.players} (${s.agents} agents, ${s.humans} humans), ${s.moving} walking`,
    `inputs      ${s.engine.processedInputNumber} processed, ${s.pendingInputs} pending`,
    `messages    ${s.messages}`,
    `llm         ${s.llmPaused ? 'paused' : s.budgetExceeded ? 'budgetExceeded: agents wander without conversations' : 'allowed'}`,
    `conversations ${s.conversations.length}`
  ]
  for (const c of s.conversations) {
    lines.push(`  ${c.id}: ${c.participants.map((p) => `${p.name} (${p.status})`).join(' & ')}, ${c.numMessages} messages`)
  }
  return lines.join('\n')
}

export async function runCommand (store: Store, args: { positionals: string[], world?: string, yes: boolean, json: boolean }, now: () => number): Promise<string> {
  const [command, sub, arg] = args.positionals
  if (command === 'wipe') {
    if (!args.yes) throw new UsageError('wipe deletes every world, player, message and memory: confirm with --yes')
    const removed = await wipe(store)
    return `wiped ${Object.values(removed).reduce((a, b) => a + b, 0)} documents (the embeddings cache was kept)`
  }
  if (command !== 'world') throw new UsageError(`unknown command ${JSON.stringify(command ?? '')}`)
  switch (sub) {
    case 'status': {
      const summary = await summarizeWorld(store, args.world)
      return args.json ? JSON.stringify(summary, null, 2) : formatSummary(summary, now())
    }
    case 'stop': return `stopped world ${(await stopWorld(store, args.world, now())).worldId}`
    case 'resume': return `resumed world ${(await resumeWorld(store, args.world, now())).worldId}`
    case 'kick': return `kicked world ${(await kickWorld(store, args.world)).worldId}: a fresh runner takes over within seconds`
    case 'debug-players': {
      const count = Number(arg)
      if (!Number.isInteger(count) || count < 1 || count > 1000) throw new UsageError('debug-players needs a whole number from 1 to 1000')
      const inputs = await addDebugPlayers(store, args.world, count, now)
      return `queued ${inputs.length} join inputs (numbers ${inputs[0]!.number}-${inputs[inputs.length - 1]!.number})`
    }
    default: throw new UsageError(`unknown world command ${JSON.stringify(sub ?? '')}`)
  }
}
