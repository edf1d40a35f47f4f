import type { ChatRequest, TaskLine } from '../llm/types.ts'

// Prompts for conversations, remembering and reflecting. Pure: time comes in as arguments.

export const MAX_MESSAGE_CHARS = 200

export interface PromptSelf {
  name: string
  identity: string
  plan: string
}

export interface PromptOther {
  name: string
  description?: string
}

export interface PromptMessage {
  /** The author's name. */
  author: string
  text: string
}

export interface ConversationPromptInput {
  self: PromptSelf
  other: PromptOther
  /** Now, in ms; used to say how long ago they last talked. */
  now: number
  /** When the two last finished a conversation (ms), if ever. */
  lastConversationAt?: number
  /** Descriptions of related memories, most relevant first. */
  memories?: string[]
  /** Messages so far, oldest first. */
  history?: PromptMessage[]
}

/** "A to B: text", one line per message; the author's partner is the other participant. */
export function formatHistory (history: PromptMessage[], selfName: string, otherName: string): string[] {
  return history.map((m) => {
    const to = m.author === selfName ? otherName : selfName
    return `${m.author} to ${to}: ${m.text.replace(/\s+/g, ' ').trim()}`
  })
}

/** Stop on the other speaker's turn prefix, so the model writes one message only. */
export function conversationStops (selfName: string, otherName: string): string[] {
  const prefix = `${otherName} to ${selfName}:`
  return prefix === prefix.toLowerCase() ? [prefix] : [prefix, prefix.toLowerCase()]
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Cleans a model reply: drops a leading "A to B:" (also bold or quoted), anything from the other
 * speaker's "B to A:" on (for providers that ignore stop), and wrapping quotes.
 */
export function cleanReply (text: string, selfName: string, otherName: string): string {
  let reply = text.trim()
  const own = new RegExp(`^[*_"'\\s]*${escapeRegExp(selfName)}\\s+to\\s+${escapeRegExp(otherName)}\\s*:[*_]*\\s*`, 'i')
  reply = reply.replace(own, '')
  const theirs = new RegExp(`(^|\\n|\\s)[*_]*${escapeRegExp(otherName)}\\s+to\\s+${escapeRegExp(selfName)}\\s*:`, 'i')
  const cut = theirs.exec(reply)
  if (cut !== null) reply = reply.slice(0, cut.index)
  reply = reply.trim()
  if (reply.length >= 2 && /^["“]/.test(reply) && /["”]$/.test(reply)) reply = reply.slice(1, -1).trim()
  return reply
}

/** "just now", "5 minutes ago", "3 hours ago", "2 days ago". */
export function timeAgo (then: number, now: number): string {
  const minutes = Math.max(0, Math.floor((now - then) / 60_000))
  if (minutes < 1) return 'just now'
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'} ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours} hour${hours === 1 ? '' : 's'} ago`
  const days = Math.floor(hours / 24)
  return `${days} day${days === 1 ? '' : 's'} ago`
}

/** "2026-11-22 18:05 UTC": the same text on every machine, unlike toLocaleString. */
export function formatTime (ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

function aboutLines (input: ConversationPromptInput): string[] {
  const { self, other } = input
  const lines = [`You are ${self.name}.`]
  if (self.identity.trim() !== '') lines.push(`About you: ${self.identity.trim()}`)
  if (self.plan.trim() !== '') lines.push(`Your plan: ${self.plan.trim()}`)
  if (other.description !== undefined && other.description.trim() !== '') lines.push(`About ${other.name}: ${other.description.trim()}`)
  return lines
}

function memoryLines (input: ConversationPromptInput): string[] {
  const memories = (input.memories ?? []).filter((m) => m.trim() !== '')
  if (memories.length === 0) return []
  return ['Things you remember that may matter here:', ...memories.map((m) => `- ${m.trim()}`)]
}

function conversationRequest (input: ConversationPromptInput, phase: 'start' | 'continue' | 'leave', lines: string[]): ChatRequest {
  const { self, other } = input
  const history = input.history ?? []
  const task: TaskLine[] = history.map((m) => ({ author: m.author, text: m.text }))
  return {
    messages: [{ role: 'user', content: [...lines, '', `${self.name} to ${other.name}:`].join('\n') }],
    stop: conversationStops(self.name, other.name),
    purpose: `conversation.${phase}`,
    task: {
      kind: 'conversation',
      phase,
      self: { name: self.name, identity: self.identity, plan: self.plan },
      other: { name: other.name, description: other.description },
      memories: input.memories ?? [],
      history: task,
      lastTalkedAt: input.lastConversationAt,
      now: input.now
    }
  }
}

/** Opening line: who you are, your plan, who they are, when you last talked, what you remember. */
export function startConversationPrompt (input: ConversationPromptInput): ChatRequest {
  const { other } = input
  const met = input.lastConversationAt === undefined
    ? `You have not talked with ${other.name} before.`
    : `You last talked with ${other.name} ${timeAgo(input.lastConversationAt, input.now)}.`
  const remembered = (input.memories ?? []).length > 0
  const lines = [
    ...aboutLines(input),
    `You are starting a conversation with ${other.name}. ${met}`,
    ...memoryLines(input),
    `Greet ${other.name}${remembered ? ' and bring up something from a past conversation' : ''}. ` +
      `Keep it under ${MAX_MESSAGE_CHARS} characters and write only what you say.`
  ]
  return conversationRequest(input, 'start', lines)
}

/** Next line: the history so far, brief, no second greeting. */
export function continueConversationPrompt (input: ConversationPromptInput): ChatRequest {
  const { self, other } = input
  const lines = [
    ...aboutLines(input),
    `You are in a conversation with ${other.name}.`,
    ...memoryLines(input),
    'The conversation so far:',
    ...formatHistory(input.history ?? [], self.name, other.name),
    '',
    `Reply to ${other.name}. Be brief (under ${MAX_MESSAGE_CHARS} characters), do not greet again, do not repeat yourself, ` +
      'and write only what you say.'
  ]
  return conversationRequest(input, 'continue', lines)
}

/** Last line: a polite goodbye. */
export function leaveConversationPrompt (input: ConversationPromptInput): ChatRequest {
  const { self, other } = input
  const lines = [
    ...aboutLines(input),
    `You are in a conversation with ${other.name} and have decided to leave it.`,
    'The conversation so far:',
    ...formatHistory(input.history ?? [], self.name, other.name),
    '',
    `Politely say goodbye to ${other.name}, in under ${MAX_MESSAGE_CHARS} characters. Write only what you say.`
  ]
  return conversationRequest(input, 'leave', lines)
}

// ---------------------------------------------------------------------------------------------
// Remembering

export interface SummaryPromptInput {
  self: { name: string }
  other: { name: string }
  history: PromptMessage[]
}

/** Summary of a finished conversation from the agent's side, first person, with whether they liked it. */
export function summaryPrompt (input: SummaryPromptInput): ChatRequest {
  const { self, other, history } = input
  const content = [
    `You are ${self.name}, and you just finished a conversation with ${other.name}.`,
    'The conversation:',
    ...formatHistory(history, self.name, other.name),
    '',
    `Summarise the conversation from ${self.name}'s point of view in the first person ("I ..."), in at most three sentences, ` +
      'and say whether you liked or disliked it.'
  ].join('\n')
  return {
    messages: [{ role: 'user', content }],
    purpose: 'memory.summary',
    task: { kind: 'summary', self: { name: self.name }, other: { name: other.name }, history: history.map((m) => ({ author: m.author, text: m.text })) }
  }
}

/** "Conversation with NAME at TIME: SUMMARY". */
export function memoryDescription (otherName: string, at: number, summary: string): string {
  return `Conversation with ${otherName} at ${formatTime(at)}: ${summary.trim()}`
}

export const DEFAULT_IMPORTANCE = 5

export function importancePrompt (memory: string): ChatRequest {
  const content = [
    'How important is this memory, on a scale from 0 to 9? 0 is entirely mundane (brushing teeth, making the bed);',
    '9 is deeply poignant (a break-up, a college acceptance).',
    `Memory: ${memory.trim()}`,
    'Answer with one number from 0 to 9 and nothing else.'
  ].join('\n')
  return { messages: [{ role: 'user', content }], purpose: 'memory.importance', task: { kind: 'importance', memory } }
}

/** The first number in a reply, rounded and clamped to 0–9; 5 when there is none. */
export function parseImportance (text: string): number {
  const match = /-?\d+(?:\.\d+)?/.exec(text)
  if (match === null) return DEFAULT_IMPORTANCE
  const value = Math.round(Number(match[0]))
  if (!Number.isFinite(value)) return DEFAULT_IMPORTANCE
  return Math.min(9, Math.max(0, value))
}

// ---------------------------------------------------------------------------------------------
// Reflecting

export const REFLECTION_INSIGHTS = 3

/** Asks for three insights as JSON, each naming the numbered statements it rests on. */
export function reflectionPrompt (name: string, statements: string[]): ChatRequest {
  const content = [
    `Statements about ${name}:`,
    ...statements.map((s, i) => `${i}. ${s.replace(/\s+/g, ' ').trim()}`),
    '',
    `What ${REFLECTION_INSIGHTS} high-level insights about ${name} can you infer from these statements?`,
    `Answer with JSON only, no code fence: an array of ${REFLECTION_INSIGHTS} objects, each with "insight" (one sentence) ` +
      'and "statementIds" (the numbers of the statements it rests on).',
    'Example: [{"insight": "...", "statementIds": [0, 2]}]'
  ].join('\n')
  return { messages: [{ role: 'user', content }], purpose: 'memory.reflection', task: { kind: 'reflection', name, statements } }
}

export interface ReflectionInsight {
  insight: string
  statementIds: number[]
  /** The memory ids behind statementIds, when the ids were given to parseReflection. */
  relatedMemoryIds: string[]
}

export interface ParsedReflection {
  insights: ReflectionInsight[]
  /** Why nothing (or less) came out, for a log line; absent when the reply parsed cleanly. */
  reason?: string
}

function jsonCandidates (text: string): string[] {
  const out: string[] = []
  const fenced = /```(?:json|javascript|js)?\s*([\s\S]*?)```/i.exec(text)
  const body = fenced === null ? text : fenced[1]
  const start = body.search(/[[{]/)
  if (start !== -1) {
    const close = body[start] === '[' ? ']' : '}'
    const end = body.lastIndexOf(close)
    if (end > start) out.push(body.slice(start, end + 1))
  }
  return out
}

/** Loose repairs for almost-JSON: single quotes, bare keys, trailing commas, smart quotes. */
function repairJson (text: string): string {
  return text
    .replace(/[“”]/g, '"')
    .replace(/[‘’]/g, "'")
    .replace(/([[{:,]\s*)'((?:[^'\\]|\\.)*)'/g, (_m, lead: string, inner: string) => lead + JSON.stringify(inner.replace(/\\'/g, "'")))
    .replace(/([{,]\s*)([A-Za-z_][\w]*)\s*:/g, '$1"$2":')
    .replace(/,\s*([\]}])/g, '$1')
}

function toIds (value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return undefined
  const ids = value.map((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v))
  return ids.every((v) => typeof v === 'number' && Number.isInteger(v)) ? ids as number[] : undefined
}

/**
 * Reads the model's reflection reply. Tolerates code fences, prose around the JSON, an object
 * wrapper and common JSON slips; never throws: returns no insights and a reason instead.
 */
export function parseReflection (text: string, memoryIds?: readonly string[]): ParsedReflection {
  const candidates = jsonCandidates(text)
  if (candidates.length === 0) return { insights: [], reason: 'no JSON found in the reply' }
  let value: unknown
  let parsed = false
  for (const candidate of candidates) {
    for (const attempt of [candidate, repairJson(candidate)]) {
      try {
        value = JSON.parse(attempt)
        parsed = true
        break
      } catch {}
    }
    if (parsed) break
  }
  if (!parsed) return { insights: [], reason: 'the reply is not valid JSON' }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const inner = Object.values(value).find(Array.isArray)
    value = inner ?? [value]
  }
  if (!Array.isArray(value)) return { insights: [], reason: 'the JSON is not a list of insights' }

  const insights: ReflectionInsight[] = []
  let dropped = 0
  for (const item of value) {
    const record = (item ?? {}) as Record<string, unknown>
    const insight = typeof record.insight === 'string' ? record.insight.trim() : ''
    const rawIds = toIds(record.statementIds ?? record.statement_ids ?? record.ids)
    if (insight === '' || rawIds === undefined) {
      dropped += 1
      continue
    }
    const statementIds = [...new Set(rawIds)].filter((id) => id >= 0 && (memoryIds === undefined || id < memoryIds.length))
    insights.push({ insight, statementIds, relatedMemoryIds: memoryIds === undefined ? [] : statementIds.map((id) => memoryIds[id]) })
    if (insights.length === REFLECTION_INSIGHTS) break
  }
  if (insights.length === 0) return { insights, reason: 'no item has an "insight" and "statementIds"' }
  return dropped > 0 ? { insights, reason: `${dropped} malformed item(s) skipped` } : { insights }
}
