import type { CallOptions, ChatRequest, ChatResult, LlmCallRecord, LlmClient, LlmTask, TaskLine, TaskSpeaker } from './types.ts'
import { hashString } from '../hash.ts'

// The offline provider: no network, same inputs → same outputs. Used only when no LLM is configured.

export const OFFLINE_NAME = 'offline'
export const OFFLINE_CHAT_MODEL = 'offline'
export const OFFLINE_EMBEDDING_MODEL = 'offline-hash-v1'
const MAX_LINE_CHARS = 200

export interface OfflineClientOptions {
  dimension: number
  onCall?: (record: LlmCallRecord) => void
}

export function createOfflineClient (options: OfflineClientOptions): LlmClient {
  const { dimension } = options
  const report = (record: LlmCallRecord): void => {
    try {
      options.onCall?.(record)
    } catch {
      // metrics must never break a call
    }
  }
  return {
    name: OFFLINE_NAME,
    mode: 'offline',
    dimension,
    info: {
      mode: 'offline',
      chat: { kind: 'offline', provider: OFFLINE_NAME, model: OFFLINE_CHAT_MODEL, baseUrl: '' },
      embedding: { kind: 'offline', provider: OFFLINE_NAME, model: OFFLINE_EMBEDDING_MODEL, baseUrl: '', dimension }
    },
    async chat (request: ChatRequest): Promise<ChatResult> {
      const started = performance.now()
      const text = request.task === undefined ? genericReply(request) : answerTask(request.task)
      const latencyMs = performance.now() - started
      report({ operation: 'chat', provider: OFFLINE_NAME, model: OFFLINE_CHAT_MODEL, purpose: request.purpose, attribution: request.attribution, ok: true, latencyMs, attempts: 1 })
      return { text, provider: OFFLINE_NAME, model: OFFLINE_CHAT_MODEL, usage: {}, latencyMs }
    },
    async embed (texts: string[], callOptions: CallOptions = {}): Promise<Float32Array[]> {
      const started = performance.now()
      const vectors = texts.map((text) => offlineEmbedding(text, dimension))
      report({ operation: 'embed', provider: OFFLINE_NAME, model: OFFLINE_EMBEDDING_MODEL, purpose: callOptions.purpose, attribution: callOptions.attribution, ok: true, latencyMs: performance.now() - started, attempts: 1, inputs: texts.length })
      return vectors
    }
  }
}

/** Answers a structured task the way a model asked the matching prompt would, deterministically. */
export function answerTask (task: LlmTask): string {
  switch (task.kind) {
    case 'conversation':
      if (task.phase === 'start') return startLine(task)
      if (task.phase === 'leave') return leaveLine(task)
      return continueLine(task)
    case 'summary':
      return summaryOf(task.self, task.other, task.history)
    case 'importance':
      return String(importanceOf(task.memory))
    case 'reflection':
      return JSON.stringify(reflectionOf(task.statements))
  }
}

// ---------------------------------------------------------------------------------------------
// Text helpers

const stopwords = new Set(('a about above after again all also am an and any are as at be because been before being ' +
  'below between both but by can could did do does doing down during each few for from further had has have having he ' +
  'her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now ' +
  'of off on once only or other our ours out over own same she should so some such than that the their theirs them ' +
  'then there these they this those through to too under until up very was we were what when where which while who ' +
  'whom why will with would you your yours yourself really like get got going gonna yes yeah okay ok well oh hi hello ' +
  'hey thanks thank sure maybe much many one two lot lots thing things something anything everything conversation ' +
  'talked talk talking said says today want wants know think thought make made good great nice see seen time ' +
  'utc let us we\'re i\'m it\'s that\'s don\'t didn\'t can\'t ' +
  'interesting hadn\'t haven\'t hasn\'t wasn\'t isn\'t aren\'t won\'t wouldn\'t couldn\'t shouldn\'t i\'ve i\'ll you\'re ' +
  'whole tell told fits sounds way enjoyed liked loved hear heard glad mind kind sort bit quite since still even back around').split(/\s+/))

export function words (text: string): string[] {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? []
}

/** Content words of a text, most telling first (frequency, then length, then first appearance). */
export function keywords (text: string, exclude: Iterable<string> = []): string[] {
  const skip = new Set([...exclude].flatMap((e) => words(e)))
  // capitalised words inside a sentence are taken as names, not topics
  for (const match of text.matchAll(/(?<=[\p{L}\p{N},;] )\p{Lu}[\p{Ll}]+/gu)) skip.add(words(match[0])[0])
  const counts = new Map<string, { n: number, first: number }>()
  words(text).forEach((word, i) => {
    if (word.length < 4 || stopwords.has(word) || skip.has(word) || /^\d+$/.test(word) || word.endsWith('ly')) return
    const entry = counts.get(word)
    if (entry === undefined) counts.set(word, { n: 1, first: i })
    else entry.n += 1
  })
  return [...counts.entries()]
    .sort((a, b) => b[1].n - a[1].n || b[0].length - a[0].length || a[1].first - b[1].first)
    .map(([word]) => word)
}

/** The body of a memory description ("Conversation with X at T: body"), or the whole text. */
function memoryBody (description: string): string {
  const match = /^Conversation with .+? at .+?: ([\s\S]*)$/.exec(description)
  return match === null ? description : match[1]
}

function topicOf (memories: string[], exclude: string[]): string | undefined {
  for (const memory of memories) {
    const [first, second] = keywords(memoryBody(memory), exclude)
    if (first !== undefined) return second === undefined ? first : `${first} and ${second}`
  }
  return undefined
}

export { hashString }

function pick<T> (options: readonly T[], seed: string): T {
  return options[hashString(seed) % options.length]
}

function clip (text: string, max = MAX_LINE_CHARS): string {
  const clean = text.replace(/\s+/g, ' ').trim()
  if (clean.length <= max) return clean
  const cut = clean.slice(0, max - 1)
  const space = cut.lastIndexOf(' ')
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.—-]+$/, '')}…`
}

/** Turns a plan written to the agent ("You want to …") into the agent's own words, short. */
function ownPlan (plan: string | undefined): string | undefined {
  if (plan === undefined || plan.trim() === '') return undefined
  const first = plan.trim().split(/(?<=[.!?])\s/)[0].replace(/[.!?]+$/, '')
  const mine = first
    .replace(/^you are\b/i, 'I am')
    .replace(/^you\b/i, 'I')
    .replace(/\byour\b/gi, 'my')
    .replace(/\byourself\b/gi, 'myself')
    .replace(/\byou\b/gi, 'me')
  return clip(mine, 90)
}

function lastFrom (history: TaskLine[], author: string): TaskLine | undefined {
  for (let i = history.length - 1; i >= 0; i--) if (history[i].author === author) return history[i]
  return undefined
}

function transcriptSeed (task: { self: TaskSpeaker, other: TaskSpeaker, history: TaskLine[] }): string {
  const last = task.history[task.history.length - 1]
  return `${task.self.name}|${task.other.name}|${task.history.length}|${last?.text ?? ''}`
}

// ---------------------------------------------------------------------------------------------
// Dialogue

type ConversationTask = Extract<LlmTask, { kind: 'conversation' }>

function startLine (task: ConversationTask): string {
  const { self, other } = task
  const names = [self.name, other.name]
  const topic = topicOf(task.memories, names)
  const plan = ownPlan(self.plan)
  const seed = transcriptSeed(task)
  const greeting = task.lastTalkedAt === undefined && topic === undefined
    ? pick([`Hi ${other.name}, I'm ${self.name}. Nice to meet you!`, `Hello ${other.name}! I don't think we've met. I'm ${self.name}.`], seed)
    : pick([`Hi ${other.name}, good to see you again!`, `${other.name}! Nice to run into you again.`, `Hey ${other.name}, how have you been?`], seed)
  const callback = topic === undefined
    ? undefined
    : pick([`Last time we talked about ${topic}; any news?`, `I keep thinking about ${topic} since we last spoke.`, `Have you thought more about ${topic}?`], `${seed}|topic`)
  const planLine = plan === undefined ? undefined : `${plan}.`
  return clip([greeting, callback ?? planLine].filter((s) => s !== undefined).join(' '))
}

function continueLine (task: ConversationTask): string {
  const { self, other, history } = task
  const names = [self.name, other.name]
  const heard = lastFrom(history, other.name)
  const said = new Set(history.filter((l) => l.author === self.name).flatMap((l) => keywords(l.text, names)))
  const fresh = heard === undefined ? [] : keywords(heard.text, names)
  const subject = fresh.find((w) => !said.has(w)) ?? fresh[0]
  const topic = topicOf(task.memories, names)
  const plan = ownPlan(self.plan)
  const seed = transcriptSeed(task)
  const lines: string[] = []
  if (subject !== undefined) {
    lines.push(
      `Interesting, tell me more about ${subject}.`,
      `I hadn't thought about ${subject} that way, ${other.name}.`,
      `What do you like most about ${subject}?`,
      `${subject[0].toUpperCase()}${subject.slice(1)}? That sounds like you, ${other.name}.`
    )
    if (topic !== undefined) lines.push(`Speaking of ${subject}, it reminds me of ${topic}.`)
    if (plan !== undefined) lines.push(`That fits with ${subject}. As for me, ${lowerFirst(plan)}.`)
  } else {
    lines.push(`I see. What have you been up to, ${other.name}?`, 'Go on, I am listening.')
    if (topic !== undefined) lines.push(`By the way, I still remember what you said about ${topic}.`)
    if (plan !== undefined) lines.push(`Honestly, ${lowerFirst(plan)}.`)
  }
  return clip(pick(lines, seed))
}

function leaveLine (task: ConversationTask): string {
  const { self, other, history } = task
  const names = [self.name, other.name]
  const subject = keywords(history.map((l) => l.text).join(' '), names)[0]
  const seed = transcriptSeed(task)
  const thanks = subject === undefined
    ? pick(['It was good talking with you.', 'Thanks for the chat.'], seed)
    : pick([`I enjoyed talking about ${subject}.`, `Thanks for the chat about ${subject}.`], seed)
  return clip(`${pick([`I should get going, ${other.name}.`, `I need to head off now, ${other.name}.`], `${seed}|go`)} ${thanks} See you around!`)
}

function lowerFirst (text: string): string {
  return text.startsWith('I ') || text.startsWith("I'") ? text : `${text[0].toLowerCase()}${text.slice(1)}`
}

// ---------------------------------------------------------------------------------------------
// Remembering

const warmWords = new Set(['love', 'loved', 'enjoy', 'enjoyed', 'happy', 'glad', 'great', 'fun', 'wonderful', 'thanks',
  'interesting', 'beautiful', 'friend', 'kind', 'excited', 'nice', 'agree', 'laugh', 'haha'])
const coldWords = new Set(['hate', 'angry', 'annoying', 'boring', 'bored', 'sad', 'awful', 'terrible', 'no', 'never',
  'leave', 'stop', 'wrong', 'upset', 'disagree', 'rude', 'sorry'])
const poignantWords = new Set(['love', 'died', 'death', 'dead', 'married', 'marry', 'wedding', 'baby', 'born', 'divorce',
  'breakup', 'fired', 'hired', 'accepted', 'rejected', 'secret', 'afraid', 'fear', 'dream', 'dreams', 'promise', 'sick',
  'hospital', 'fight', 'lost', 'won', 'moving', 'goodbye', 'forever', 'heart', 'betrayed', 'proud', 'family', 'war'])

function summaryOf (self: TaskSpeaker, other: TaskSpeaker, history: TaskLine[]): string {
  const names = [self.name, other.name]
  if (history.length === 0) return `I met ${other.name}, but we did not really talk.`
  const all = history.map((l) => l.text).join(' ')
  const [first, second] = keywords(all, names)
  const about = first === undefined ? 'this and that' : second === undefined ? first : `${first} and ${second}`
  const theirs = lastFrom(history, other.name)
  const quote = theirs === undefined ? '' : ` ${other.name} said: "${clip(theirs.text, 80)}"`
  const tone = words(all).reduce((sum, w) => sum + (warmWords.has(w) ? 1 : coldWords.has(w) ? -1 : 0), 0)
  const feeling = tone >= 0 ? 'I liked the conversation.' : 'I did not enjoy the conversation much.'
  return `I talked with ${other.name} about ${about}.${quote} ${feeling}`
}

/** Importance 0–9 from how poignant and how long a memory is. */
export function importanceOf (memory: string): number {
  const all = words(memory)
  const poignant = all.filter((w) => poignantWords.has(w)).length
  const feeling = all.filter((w) => warmWords.has(w) || coldWords.has(w)).length
  const score = 2 + Math.min(4, poignant * 2) + Math.min(2, feeling) + (all.length > 60 ? 1 : 0)
  return Math.max(0, Math.min(9, score))
}

interface Insight { insight: string, statementIds: number[] }

function reflectionOf (statements: string[]): Insight[] {
  const bodies = statements.map(memoryBody)
  const byWord = new Map<string, number[]>()
  bodies.forEach((body, id) => {
    for (const word of new Set(keywords(body))) byWord.set(word, [...(byWord.get(word) ?? []), id])
  })
  const ranked = [...byWord.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
  const insights: Insight[] = []
  const used = new Set<string>()
  for (const [word, ids] of ranked) {
    if (insights.length === 3) break
    const key = ids.join(',')
    if (used.has(key)) continue
    used.add(key)
    insights.push({
      insight: ids.length > 1 ? `I keep coming back to ${word}; it matters to me.` : `I remember ${word} clearly.`,
      statementIds: ids.slice(0, 5)
    })
  }
  return insights
}

function genericReply (request: ChatRequest): string {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? ''
  const [topic] = keywords(lastUser)
  return topic === undefined ? 'OK.' : clip(`OK, about ${topic}.`)
}

// ---------------------------------------------------------------------------------------------
// Embeddings

const UNIGRAM = 0x1f123bb5
const BIGRAM = 0x2a9f4e33
const TRIGRAM = 0x3c6ef372
const SIGN = 0x5bd1e995

function addFeature (vector: Float32Array, feature: string, seed: number, weight: number): void {
  const h = hashString(feature, seed)
  const sign = (hashString(feature, SIGN ^ seed) & 1) === 0 ? 1 : -1
  vector[h % vector.length] += sign * weight
}

/**
 * Local embedding: signed feature hashing of word unigrams, word bigrams and character trigrams,
 * L2-normalised. Texts sharing words and word fragments get a higher cosine similarity.
 */
export function offlineEmbedding (text: string, dimension: number): Float32Array {
  const vector = new Float32Array(dimension)
  const tokens = words(text)
  const content = tokens.filter((t) => !stopwords.has(t))
  for (const token of content) addFeature(vector, token, UNIGRAM, 1)
  for (let i = 1; i < tokens.length; i++) addFeature(vector, `${tokens[i - 1]} ${tokens[i]}`, BIGRAM, 0.5)
  for (const token of content) {
    const padded = `#${token}#`
    for (let i = 0; i + 3 <= padded.length; i++) addFeature(vector, padded.slice(i, i + 3), TRIGRAM, 0.25)
  }
  let norm = 0
  for (const x of vector) norm += x * x
  if (norm === 0) {
    // no usable features (empty text, only stopwords): a fixed direction instead of a zero vector
    addFeature(vector, `<${tokens.join(' ')}>`, UNIGRAM, 1)
    norm = 1
  }
  const scale = 1 / Math.sqrt(norm)
  for (let i = 0; i < vector.length; i++) vector[i] *= scale
  return vector
}

export function cosineSimilarity (a: Float32Array, b: Float32Array): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}
