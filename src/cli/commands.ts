// The townhall command's verbs, over the store; main.ts parses arguments and owns the process.
import type { Store } from '../store/types.ts'
import {
  addDebugPlayers, kickWorld, resumeWorld, stopWorld, summarizeWorld, wipe, type WorldSummary
} from '../engine/worlds.ts'
import { UsageError } from './verbs.ts'

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
