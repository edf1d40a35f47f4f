// Ten minutes of a simulated town with the default cast and the offline provider: what a newcomer reads must be
// short, plausible small talk. Each check below is one defect seen in an offline run (issue 14).
import { test } from 'tap'
import { storeTargets } from '../helpers/stores.ts'
import { quietLog, waitFor } from '../helpers/engine.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import { answerTask, createOfflineClient } from '../../src/llm/offline.ts'
import type { ChatRequest, LlmClient } from '../../src/llm/types.ts'
import { startSimulatedRunner } from '../helpers/simulatedTown.ts'
import { MemoryService, type MemoryDoc } from '../../src/agents/memory.ts'
import { llmBrain } from '../../src/agents/brain.ts'
import { storeEmbeddingCache } from '../../src/agents/embeddingStore.ts'
import { createExactIndex } from '../../src/vector/exact.ts'
import { defaultCast } from '../../src/game/data/index.ts'

const embedded = storeTargets()[0]!
const TOWN_MS = 10 * 60_000

// Words that are never a topic of small talk: function words, pronouns, vague words, verb forms and adverbs.
const notTopics = new Set(('a about above after again all also am an and any are as at be because been before being ' +
  'below between both but by can could did do does doing down during each either ever every few for from had has have ' +
  'he her here hers him his how i if in into is it its just me more most my no nor not now of off on once only or ' +
  'other our out over own same she should so some such than that the their them then there these they this those ' +
  'through to too under until up very was we were what when where which while who whom why will with would you your ' +
  'someone something somebody anyone anything everyone everything everybody nobody nothing thing things stuff ' +
  'people today conversation talk talked chat said told know think thought want wanted wants find learn check ask ' +
  'asking tell walk collect recruit cheer look went gone away whether without outright ideally quietly forgotten ' +
  'unhappy trust could ever really like well sure lot lots much many one two way kind sort bit').split(/\s+/))

/** Every part of every character's name, lower case ("reyes", "hale", "dr", "femi", …). */
const nameParts = new Set(defaultCast.flatMap((c) => c.name.toLowerCase().split(/[^\p{L}]+/u).filter((p) => p !== '')))

function words (text: string): string[] {
  return text.toLowerCase().match(/[\p{L}]+(?:'[\p{L}]+)?/gu) ?? []
}

/** Content stems of a text: words of four letters or more that are neither non-topics nor names, cut to five letters. */
function stems (text: string): Set<string> {
  return new Set(words(text).filter((w) => w.length >= 4 && !notTopics.has(w) && !nameParts.has(w.replace(/'s$/, ''))).map((w) => w.slice(0, 5)))
}

function shares (a: Set<string>, b: Set<string>): boolean {
  for (const x of a) if (b.has(x)) return true
  return false
}

const PHRASE = "(?:the\\s+|my\\s+|your\\s+)?((?:[\\p{L}'-]+\\s+){0,2}?[\\p{L}'-]+)"
// "talked about X", "tell me more about X and Y", "speaking of X", "reminds me of X", "what do you like most about X?"
const TOPIC_SLOT = new RegExp('\\b(?:talk|talked|talking|chat|chatted|thinking|thought|tell me|tell me more|telling me|hearing|heard|news|know|know much|' +
  `like most|to say|speak|spoke|speaking|reminds me|remember|remind me) (?:about|of)\\s+${PHRASE}(?:\\s+and\\s+${PHRASE})?(?=\\s*[.?!,;]|$)`, 'giu')

/** The head word (last word) of each phrase a line presents as a topic, as written. */
function topicsIn (text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(TOPIC_SLOT)) {
    for (const phrase of [m[1], m[2]]) if (phrase !== undefined) out.push(phrase.split(/\s+/).at(-1)!)
  }
  return out
}

const CONTRACTIONS = new Set(["it's", "that's", "what's", "there's", "he's", "she's", "who's", "let's", "here's"])

/** Why a spoken line is not a whole, clean sentence, or undefined. */
function shapeDefect (text: string): string | undefined {
  if (text.trim() !== text || text.length === 0) return 'empty or padded'
  if (text.length > 200) return 'longer than 200 characters'
  if (/…|\.\.\./.test(text)) return 'cut off'
  if (!/[.!?]["”)]?$/.test(text)) return 'no closing punctuation'
  for (const sentence of text.split(/(?<=[.!?])(?<!\b(?:Dr|Mr|Mrs|Ms)\.)\s+/)) {
    if (!/^["“(]?[\p{Lu}\d]/u.test(sentence)) return `a sentence starts in lower case: "${sentence}"`
    if (words(sentence).length < 2) return `a one-word sentence: "${sentence}"`
  }
  const all = words(text)
  for (let i = 1; i < all.length; i++) if (all[i] === all[i - 1]) return `a doubled word "${all[i]}"`
  return undefined
}

/** Why a word is not a topic, or undefined. A capitalised name is a person talked about, which is fine. */
function topicDefect (topic: string): string | undefined {
  const bare = topic.replace(/'s$/, '')
  if (topic !== bare && !CONTRACTIONS.has(topic.toLowerCase())) return 'a possessive'
  if (notTopics.has(bare.toLowerCase())) return 'a stop-word'
  if (nameParts.has(bare) || (nameParts.has(bare.toLowerCase()) && !/^\p{Lu}/u.test(bare))) return 'a name fragment'
  if (bare.endsWith('ly')) return 'an adverb'
  return undefined
}

/** A name fragment written in lower case inside a line was taken for a word ("hale" from Reyes-Hale). */
function lowerCaseNamePart (text: string): string | undefined {
  return text.match(/[\p{L}]+/gu)?.find((w) => w === w.toLowerCase() && nameParts.has(w) && w.length > 2)
}

interface Line { author: string, text: string }
interface Answered { request: ChatRequest, text: string }

function answering (inner: LlmClient, answered: Answered[]): LlmClient {
  return {
    ...inner,
    chat: async (request) => {
      const result = await inner.chat(request)
      answered.push({ request, text: result.text })
      return result
    }
  }
}

test('ten minutes of the offline town read like small talk', { timeout: 300_000 }, async (t) => {
  const { store } = await embedded.fresh(t)
  const answered: Answered[] = []
  const llm = answering(createOfflineClient({ dimension: 64 }), answered)
  let clock = Date.parse('2026-11-22T09:00:00Z')
  const started = clock
  const now = (): number => clock
  const memories = new MemoryService({ store, llm, cache: storeEmbeddingCache(store), index: createExactIndex({ dimension: 64 }), now, log: quietLog })
  const brain = llmBrain({ store, llm, memories, now })
  const status = await createWorldRecords(store, { now: clock, cast: defaultCast, agents: defaultCast.length, seed: 14 })
  const runner = startSimulatedRunner(t, { store, worldId: status.worldId, brain, now, advance: () => { clock += 1000 } })
  await waitFor('ten minutes of game time', async () => clock >= started + TOWN_MS, 240_000)
  await runner.stop()

  const names = new Map((await store.collection('playerDescriptions').find({ worldId: status.worldId })).map((d) => [d.playerId as string, d.name as string]))
  const messages = await store.collection('messages').find({ worldId: status.worldId }, { sort: { _creationTime: 1 } })
  const conversations = new Map<string, Line[]>()
  for (const m of messages) {
    const lines = conversations.get(m.conversationId as string) ?? []
    lines.push({ author: names.get(m.author as string) ?? (m.author as string), text: m.text as string })
    conversations.set(m.conversationId as string, lines)
  }
  const remembered = (await store.collection<MemoryDoc>('memories').find({})).filter((m) => m.data.type === 'conversation')
  const transcript = [...conversations.values()].map((lines) => lines.map((l) => `${l.author}: ${l.text}`).join('\n')).join('\n\n')
  t.comment(`${conversations.size} conversations, ${messages.length} lines, ${remembered.length} memories`)
  if (process.env.OFFLINE_TOWN_SAMPLE !== undefined) {
    console.log(transcript)
    for (const m of remembered) console.log(`[${m.importance}] ${m.description}`)
  }
  t.ok(conversations.size >= 4, 'the town talks: at least four conversations in ten minutes')
  t.ok(remembered.length >= 4, 'and remembers them')

  const defects = (label: string, found: string[]): void => {
    t.same(found.slice(0, 10), [], `${label} (${found.length} found)`)
  }

  defects('every line is whole sentences', messages.flatMap((m) => {
    const why = shapeDefect(m.text as string)
    return why === undefined ? [] : [`${why}: ${m.text as string}`]
  }))

  defects('no stop-word, possessive or name fragment is a topic', messages.flatMap((m) => topicsIn(m.text as string).flatMap((topic) => {
    const why = topicDefect(topic)
    return why === undefined ? [] : [`"${topic}" is ${why}: ${m.text as string}`]
  })))

  defects('no name fragment is used as a word', [...messages, ...remembered.map((m) => ({ text: m.description }))].flatMap((m) => {
    const part = lowerCaseNamePart(m.text as string)
    return part === undefined ? [] : [`"${part}": ${m.text as string}`]
  }))

  const replies: string[] = []
  const unanswered: string[] = []
  const repeated: string[] = []
  for (const lines of conversations.values()) {
    const seen = new Set<string>()
    lines.forEach((line, i) => {
      if (seen.has(line.text)) repeated.push(line.text)
      seen.add(line.text)
      const previous = lines[i - 1]
      if (previous === undefined || previous.author === line.author || i === lines.length - 1) return
      if (!shares(stems(line.text), stems(previous.text))) replies.push(`"${line.text}" after "${previous.text}"`)
      // a question gets an answer first, not a question back
      if (/\?/.test(previous.text) && /^[^.!]*\?/.test(line.text)) unanswered.push(`"${line.text}" after "${previous.text}"`)
    })
  }
  defects('every reply shares content with the line it answers', replies)
  defects('a question is answered before anything is asked back', unanswered)
  defects('nobody repeats a line in one conversation', repeated)

  const summaries: string[] = []
  for (const memory of remembered) {
    const lines = memory.data.type === 'conversation' ? conversations.get(memory.data.conversationId) : undefined
    if (lines === undefined) continue
    const spoken = stems(lines.map((l) => l.text).join(' '))
    const body = memory.description.replace(/^Conversation with .+? at .+? UTC: /, '')
    if (shapeDefect(body.slice(0, 200)) !== undefined && body.length <= 200) summaries.push(`${shapeDefect(body)}: ${body}`)
    if (!shares(stems(body), spoken)) summaries.push(`mentions nothing that was said: ${body}`)
    for (const topic of topicsIn(body)) {
      if (topicDefect(topic) !== undefined) summaries.push(`"${topic}" is ${topicDefect(topic)!}: ${body}`)
      else if (!spoken.has(topic.toLowerCase().slice(0, 5)) && !nameParts.has(topic.toLowerCase())) summaries.push(`"${topic}" was never spoken: ${body}`)
    }
  }
  defects('summaries say what was actually talked about', summaries)

  const endings = new Map<string, number>()
  for (const m of remembered) {
    // the memory's own closing sentence, not a quote
    const last = m.description.replace(/"[^"]*"/g, '|').split(/(?<=[.!?])\s+|\|\s*/).at(-1)!
    endings.set(last, (endings.get(last) ?? 0) + 1)
  }
  const commonest = Math.max(...endings.values())
  t.ok(commonest <= Math.ceil(remembered.length / 3), `no stock closing sentence: the commonest ends ${commonest} of ${remembered.length} memories`)

  const importances = remembered.map((m) => m.importance)
  const distinct = new Set(importances)
  t.ok(distinct.size >= 3 && Math.max(...importances) - Math.min(...importances) >= 3,
    `importance varies with what happened: ${[...distinct].sort().join(', ')}`)

  // each speaker draws on their own identity and plan: one of their lines uses a word from them
  const own = new Map(defaultCast.map((c) => [c.name, stems(`${c.identity} ${c.plan}`)]))
  const silent: string[] = []
  for (const [name, mine] of own) {
    const lines = messages.filter((m) => names.get(m.author as string) === name).map((m) => m.text as string)
    if (lines.length > 0 && !lines.some((text) => shares(stems(text), mine))) silent.push(name)
  }
  defects('each speaker talks about their own life', silent)

  const differing = answered.filter(({ request, text }) => request.task !== undefined && answerTask(request.task) !== text)
  t.equal(differing.length, 0, `deterministic: every one of ${answered.length} answers repeats for the same request`)
  t.ok(answered.every(({ request }) => request.task !== undefined), 'every prompt carries its task')
})
