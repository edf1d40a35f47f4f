// The "LLM cost" panel's lines: a world's tokens and estimated cost, in total and per agent.

export interface UsageTotals { calls: number, tokens: number, costUsd: number }
export interface UsageValue {
  total: UsageTotals
  agents: Array<UsageTotals & { agentId: string, playerId: string, name: string | null }>
}

export interface UsageLine { who: string, tokens: string, cost: string }

/** Dollars with enough digits to show small amounts: $0.0004, $0.12, $12.30. */
export function formatUsd (usd: number): string {
  if (usd === 0) return '$0'
  return `$${usd.toFixed(usd < 0.01 ? 4 : 2)}`
}

export function formatTokens (tokens: number): string {
  return tokens.toLocaleString('en-US')
}

/** The total line, then one line per agent (most expensive first), named from the viewer's descriptions when known. */
export function usageLines (value: UsageValue, nameOf: (playerId: string) => string | undefined, maxAgents = 12): { total: string, agents: UsageLine[] } {
  const { total } = value
  const summary = total.calls === 0
    ? 'No LLM calls in the last 24 hours.'
    : `${formatTokens(total.tokens)} tokens · ${formatUsd(total.costUsd)} estimated · ${formatTokens(total.calls)} call${total.calls === 1 ? '' : 's'} (24 h)`
  const agents = value.agents.slice(0, maxAgents).map((a) => ({
    who: nameOf(a.playerId) ?? a.name ?? (a.agentId === '' ? 'world' : a.agentId),
    tokens: formatTokens(a.tokens),
    cost: formatUsd(a.costUsd)
  }))
  return { total: summary, agents }
}
