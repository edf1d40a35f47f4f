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

// Words that are never the topic of small talk, beyond the stop-words: vague nouns, pronouns, verb forms.
const vague = new Set(('someone somebody everyone everybody anyone anybody nobody nothing people person day days ' +
  'time times way ways thing things girl boy man woman men women lot bit part kind sort place places story stories ' +
  'town one ones others rest moment while year years week weeks morning mornings evening evenings name names ' +
  'courage whether without outright ideally forgotten unhappy find learn check ask walk collect recruit cheer ' +
  'first last next same best worst only whole other own business').split(/\s+/))

/** Content words of a text, most telling first (frequency, then length, then first appearance). */
export function keywords (text: string, exclude: Iterable<string> = []): string[] {
  const skip = new Set([...exclude].flatMap((e) => words(e).flatMap((w) => w.split('-'))))
  // capitalised words inside a sentence are taken as names, not topics
  for (const match of text.matchAll(/(?<=[\p{L}\p{N},;] )\p{Lu}[\p{Ll}]+/gu)) skip.add(words(match[0])[0])
  const counts = new Map<string, { n: number, first: number }>()
  words(text).forEach((word, i) => {
    if (word.length < 4 || stopwords.has(word) || vague.has(word) || skip.has(word) || word.includes("'") ||
      /^\d+$/.test(word) || word.endsWith('ly')) return
    const entry = counts.get(word)
    if (entry === undefined) counts.set(word, { n: 1, first: i })
    else entry.n += 1
  })
  return [...counts.entries()]
    .sort((a, b) => b[1].n - a[1].n || b[0].length - a[0].length || a[1].first - b[1].first)
    .map(([word]) => word)
}

export { hashString }

function pick<T> (options: readonly T[], seed: string): T {
  return options[hashString(seed) % options.length]
}

function upperFirst (text: string): string {
  return text === '' ? text : `${text[0].toUpperCase()}${text.slice(1)}`
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

const ABBREVIATION = /(?<!\b(?:Dr|Mr|Mrs|Ms|Mx|St|Prof)\.)/

/** Sentences of a text; "Dr. Adeyemi" stays whole. */
export function sentencesOf (text: string): string[] {
  const split = new RegExp(`(?<=[.!?])${ABBREVIATION.source}\\s+(?=["“(]?[\\p{Lu}\\d])`, 'u')
  return text.replace(/\s+/g, ' ').trim().split(split).filter((s) => s !== '')
}

/** Joins sentences into one line of at most `max` characters, dropping later sentences that do not fit. */
function line (parts: Array<string | undefined>, max = MAX_LINE_CHARS): string {
  let out = ''
  for (const part of parts) {
    if (part === undefined || part === '') continue
    const next = out === '' ? part : `${out} ${part}`
    if (next.length <= max) out = next
  }
  return out
}

const TITLES = new Set(['dr', 'mr', 'mrs', 'ms', 'mx', 'prof', 'mayor', 'sir', 'dame'])

/** What friends call someone: the first part of the name that is not a title ("Dr. Femi Adeyemi" → "Femi"). */
export function firstName (name: string): string {
  return name.split(/\s+/).find((part) => !TITLES.has(part.toLowerCase().replace(/\.$/, ''))) ?? name
}

// ---------------------------------------------------------------------------------------------
// Topics: noun phrases led by "the" ("the boat workshop"), never names, pronouns or vague words

const PHRASE_END = new Set(('on in at by of for with and or but to from into onto over under near behind beside across ' +
  'around through whose who that which where when while because before after since is was are were has have had will ' +
  'would could can should may might must than as so if not keeps keep').split(/\s+/))
const PHRASE_LEADS = new Set(['the'])

function tokens (text: string): string[] {
  return text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu) ?? []
}

const isWord = (token: string): boolean => /^[\p{L}\p{N}]/u.test(token)
const isLowerWord = (token: string): boolean => /^[\p{Ll}]/u.test(token)

/** "the boat workshop", "the mill pond": at most three lower-case words after "the", ending before a boundary. */
export function phrasesOf (text: string): string[] {
  const all = tokens(text)
  const out: string[] = []
  for (let i = 0; i < all.length; i++) {
    // "Ada is the librarian": a role, not something to talk about
    if (!PHRASE_LEADS.has(all[i].toLowerCase()) || /^(?:is|am|are|was|were)$/i.test(all[i - 1] ?? '')) continue
    const body: string[] = []
    let j = i + 1
    while (j < all.length && body.length < 3 && isLowerWord(all[j]) && !PHRASE_END.has(all[j]) && !stopwords.has(all[j]) &&
      !(body.length > 0 && /(?:ing|ed)$/.test(all[j]))) {
      body.push(all[j])
      j++
    }
    const next = all[j]
    const ends = next === undefined || !isWord(next) || PHRASE_END.has(next.toLowerCase()) || stopwords.has(next.toLowerCase()) || /(?:ing|ed)$/.test(next)
    // a word before "my"/"the" is a verb: "the storm broke my mast"
    const verbNext = next !== undefined && /^(?:the|a|an|my|your|his|her|their|its|our)$/i.test(next)
    if (!ends || verbNext || (next === 'of' && /^(?:north|south|east|west)$/.test(body.at(-1) ?? ''))) body.pop() // the word before a verb or a name is taken as the verb: "the clinic works Dr. …"
    // a list of adjectives ("the broad, quiet man") is not a topic
    if (body.length === 1 && next === ',' && all[j + 1] !== undefined && isLowerWord(all[j + 1]) && !PHRASE_END.has(all[j + 1]) && !stopwords.has(all[j + 1])) continue
    const head = body.at(-1)
    if (head === undefined || head.length < 3 || vague.has(head) || head.endsWith("'s") || head.endsWith('ly')) continue
    const phrase = `the ${body.join(' ')}`
    if (!out.includes(phrase)) out.push(phrase)
  }
  return out
}

/** Topics a memory talks about: its noun phrases, and what "I talked with X about A and B." names. */
function memoryTopics (memory: string): string[] {
  const body = memoryBody(memory)
  const out = phrasesOf(body)
  const about = /\babout ([\p{Ll}][\p{L}' -]*?)(?: and ([\p{Ll}][\p{L}' -]*?))?[.!?]/u.exec(body)
  if (about !== null) {
    for (const topic of [about[1], about[2]]) {
      if (topic === undefined || out.includes(topic)) continue
      const head = words(topic).at(-1)
      if (head !== undefined && !stopwords.has(head) && !vague.has(head) && topic.split(' ').length <= 4) out.push(topic)
    }
  }
  return out
}

/** The body of a memory description ("Conversation with X at T: body"), or the whole text. */
function memoryBody (description: string): string {
  const match = /^Conversation with .+? at .+?: ([\s\S]*)$/.exec(description)
  return match === null ? description : match[1]
}

function mentions (text: string, topic: string): boolean {
  return new RegExp(`\\b${escapeRegExp(topic)}\\b`, 'i').test(text)
}

// ---------------------------------------------------------------------------------------------
// A character in their own words, from the identity and plan they are given

interface Persona {
  first: string
  /** First-person sentences from the identity, not the secret. */
  facts: string[]
  /** The identity's last sentence (the cast gives everyone one secret), in the first person. */
  secret?: string
  /** The plan, in the first person ("I've been meaning to …"). */
  plan?: string
  /** Noun phrases from the identity, then from the plan. */
  topics: string[]
  aims: string[]
}

const SUBJECTS = { she: ['she', 'her', 'herself', 'hers'], he: ['he', 'his', 'himself', 'his'], they: ['they', 'their', 'themselves', 'theirs'] } as const
type Pronoun = keyof typeof SUBJECTS
const ADVERBS = '(?:still|also|never|often|always|quietly|secretly|privately|really|usually|sometimes)'

/** "runs" → "run", "has" → "have", "is" → "am", for a subject that becomes "I". */
function asMine (verb: string): string {
  const lower = verb.toLowerCase()
  const irregular: Record<string, string> = { is: 'am', are: 'am', has: 'have', does: 'do', goes: 'go', were: 'was' }
  if (irregular[lower] !== undefined) return irregular[lower]
  if (/[^aeiou]ies$/.test(lower)) return lower.slice(0, -3) + 'y'
  if (/(?:ch|sh|ss|x|z|o)es$/.test(lower)) return lower.slice(0, -2)
  if (/[^su]s$/.test(lower) && lower.length > 3) return lower.slice(0, -1)
  return lower
}

function pronounOf (identity: string): Pronoun | undefined {
  const match = /\b(she|he|they)\b/i.exec(identity)
  return match === null ? undefined : match[1].toLowerCase() as Pronoun
}

/** "Marisol runs the bakery and has …" → "I run the bakery and have …"; undefined when it is not about them. */
function firstPerson (sentence: string, first: string, pronoun: Pronoun | undefined): string | undefined {
  let text = sentence.trim().replace(/^(?:her|his|their|my)\s+secret\s*:\s*/i, '')
  const subjects = [escapeRegExp(first), ...(pronoun === undefined ? [] : [pronoun])].join('|')
  const conjugated = pronoun === 'they' ? (v: string): string => (/^(?:are|were)$/i.test(v) ? asMine(v) : v.toLowerCase()) : asMine
  const lead = new RegExp(`^(?:${subjects})\\s+(${ADVERBS}\\s+)?([\\p{L}']+)`, 'iu')
  const possessive = pronoun === undefined ? undefined : new RegExp(`^${SUBJECTS[pronoun][1]}\\s+`, 'i')
  const byName = new RegExp(`^${escapeRegExp(first)}\\s`, 'i').test(text)
  if (lead.test(text)) text = text.replace(lead, (_m, adverb: string | undefined, verb: string) => `I ${adverb ?? ''}${(byName ? asMine : conjugated)(verb)}`)
  else if (possessive?.test(text) === true) text = text.replace(possessive, 'My ')
  else return undefined
  if (pronoun !== undefined) {
    const [subject, owner, self] = SUBJECTS[pronoun]
    text = text
      .replace(new RegExp(`\\b${subject}\\s+(${ADVERBS}\\s+)?([\\p{L}']+)`, 'giu'), (_m, adverb: string | undefined, verb: string) => `I ${adverb ?? ''}${conjugated(verb)}`)
      .replace(new RegExp(`\\b${self}\\b`, 'gi'), 'myself')
    if (pronoun === 'she') {
      // "her workshop" is mine; "taught her to" is me
      text = text.replace(/\bher\b(\s+)([\p{L}']+)/giu, (_m, space: string, next: string) => `${PHRASE_END.has(next.toLowerCase()) || stopwords.has(next.toLowerCase()) ? 'me' : 'my'}${space}${next}`)
        .replace(/\bher\b/gi, 'me')
    } else {
      text = text.replace(new RegExp(`\\b${owner}\\b`, 'gi'), 'my').replace(pronoun === 'he' ? /\bhim\b/gi : /\bthem\b/gi, 'me')
    }
  }
  // "… and still rebuilds the fences" → "… and still rebuild the fences"
  text = text.replace(new RegExp(`\\b(and|but)\\s+(${ADVERBS}\\s+)?(has|is|does|[\\p{L}]+s(?=\\s+(?:the|a|an|my|it|its|every|from|to|at|in|on|with|people|small|been|more)\\b))`, 'giu'),
    (_m, conj: string, adverb: string | undefined, verb: string) => `${conj} ${adverb ?? ''}${asMine(verb)}`)
    // "I and Mayor Priya were rivals" → "Mayor Priya and I were rivals"
    .replace(/^I and ([^,]+?) (were|are)\b/, '$1 and I $2')
  text = upperFirst(text.replace(/[\s,;:]+$/, ''))
  return /[.!?]$/.test(text) ? text : `${text}.`
}

/** Keeps a sentence under `max` characters by ending it at an earlier clause. */
function shortSentence (sentence: string, max = 150): string {
  if (sentence.length <= max) return sentence
  const cut = sentence.slice(0, max)
  const at = Math.max(cut.lastIndexOf(', and '), cut.lastIndexOf(', '), cut.lastIndexOf(' and '))
  return at > 20 ? `${cut.slice(0, at).replace(/[\s,;:]+$/, '')}.` : sentence
}

/** A plan written to the agent ("You want to …") in their own words ("I've been meaning to …"). */
function ownPlan (plan: string | undefined): string | undefined {
  if (plan === undefined || plan.trim() === '') return undefined
  const first = sentencesOf(plan.trim())[0]?.replace(/[.!?]+$/, '') ?? ''
  if (first === '') return undefined
  const mine = first
    .replace(/^you\s+(?:want|would like|hope|plan|intend)\s+to\b/i, "I've been meaning to")
    .replace(/^you are\b/i, 'I am')
    .replace(/^you\b/i, 'I')
    .replace(/\byour\b/gi, 'my')
    .replace(/\byourself\b/gi, 'myself')
    .replace(/\b(if|when|that|where|because|and|so|as|whether|place|someone|something|anyone|everyone|what|who|than)\s+you\b/gi, '$1 I')
    .replace(/\byou\b/gi, 'me')
  return shortSentence(`${upperFirst(mine)}.`, 170)
}

function personaOf (speaker: TaskSpeaker): Persona {
  const first = firstName(speaker.name)
  const identity = (speaker.identity ?? speaker.description ?? '').trim()
  const pronoun = pronounOf(identity)
  const all = sentencesOf(identity)
  const secretAt = all.length >= 3 ? all.length - 1 : -1
  const facts: string[] = []
  let secret: string | undefined
  all.forEach((sentence, i) => {
    const mine = firstPerson(sentence, first, pronoun)
    if (mine === undefined) return
    if (i === secretAt || /\bsecret|privately|told no one/i.test(sentence)) secret ??= shortSentence(mine, 160)
    else facts.push(shortSentence(mine))
  })
  const plan = ownPlan(speaker.plan)
  const topics = phrasesOf(all.filter((_s, i) => i !== secretAt).join(' '))
  const aims = phrasesOf(speaker.plan ?? '')
  return { first, facts, secret, plan, topics, aims }
}

// ---------------------------------------------------------------------------------------------
// Dialogue: greet with a question, answer what was asked, react to what was said, ask back

type ConversationTask = Extract<LlmTask, { kind: 'conversation' }>

function greetingFor (now: number, name: string, seed: string): string {
  const hour = new Date(now).getUTCHours()
  const part = hour < 5 ? 'Evening' : hour < 12 ? 'Morning' : hour < 18 ? 'Afternoon' : 'Evening'
  return pick([`${part}, ${name}!`, `Hi ${name}!`, `Hello, ${name}!`, `Good to see you, ${name}!`], seed)
}

const ask = {
  how: (topic: string) => `How are things with ${topic}?`,
  make: (topic: string) => `What do you make of ${topic}?`,
  lately: (topic: string) => `Have you been by ${topic} lately?`,
  news: (topic: string) => `Any news about ${topic} since we last talked?`,
  busy: (name: string) => `What keeps you busy these days, ${name}?`,
  secret: 'Can you keep a secret?'
}

type Question = { kind: 'how' | 'make' | 'lately' | 'news', topic: string } | { kind: 'busy' | 'other', topic?: string }

/** What the other asked, when the line has a question: one of ours by its shape, or any other question. */
function questionIn (text: string): Question | undefined {
  const question = sentencesOf(text).find((s) => s.endsWith('?'))
  if (question === undefined) return undefined
  const forms: Array<[Question['kind'], RegExp]> = [
    ['how', /^How are things with (.+)\?$/], ['make', /^What do you make of (.+)\?$/],
    ['lately', /^Have you been by (.+) lately\?$/], ['news', /^Any news about (.+) since we last talked\?$/]
  ]
  for (const [kind, form] of forms) {
    const match = form.exec(question)
    if (match !== null) return { kind, topic: match[1] } as Question
  }
  if (/^What keeps you busy/.test(question)) return { kind: 'busy' }
  return { kind: 'other', topic: phrasesOf(question)[0] }
}

interface Turn {
  task: ConversationTask
  me: Persona
  them: Persona
  name: string
  seed: string
  /** Every sentence already said in this conversation, so nothing is said twice. */
  said: Set<string>
  spoken: string
}

function fresh (turn: Turn, options: Array<string | undefined>, seed: string): string | undefined {
  const open = options.filter((o): o is string => o !== undefined && !turn.said.has(o))
  return open.length === 0 ? undefined : pick(open, `${turn.seed}|${seed}`)
}

/** A fact of mine about the topic, or an opinion of it. */
function answerAbout (turn: Turn, question: Question): string | undefined {
  const { me, name } = turn
  if (question.kind === 'other' && question.topic === undefined) {
    // someone else's question (a human player's): a thoughtful opener, then something true about me
    const opener = pick([`Good question, ${name}.`, `Let me think about that, ${name}.`, `Hard to say, ${name}.`], `${turn.seed}|other`)
    return `${opener} ${fresh(turn, me.facts, 'other') ?? me.plan ?? ''}`.trim()
  }
  if (question.kind === 'busy' || question.topic === undefined) {
    const fact = fresh(turn, me.facts, 'busy')
    const busy = pick(['I keep busy enough.', 'Plenty keeps me busy.', 'Busy as ever, thanks.'], `${turn.seed}|usual`)
    return `${busy} ${fact ?? me.plan ?? 'Mostly the same as always.'}`
  }
  const topic = question.topic
  const mine = me.facts.find((f) => mentions(f, topic) && !turn.said.has(f))
  if (mine !== undefined) return `${pick(['Ah,', 'Oh,', 'Well,'], `${turn.seed}|ah`)} ${topic}! ${mine}`
  const options = question.kind === 'lately'
    ? [`Not lately, but I keep meaning to go by ${topic}.`, `Yes, just the other day; ${topic} looked busy.`, `Only in passing; ${topic} seemed quiet to me.`]
    : question.kind === 'news'
      ? [`Nothing much has changed with ${topic}, I'm afraid.`, `A little! I've been thinking about ${topic} since we spoke.`, `Not really, ${name}; nothing new with ${topic}.`]
      : [`To me, ${topic} means a lot to this town.`, `To be honest, I don't know much about ${topic}, but I'd like to.`,
          `All is well with ${topic}, thanks for asking.`, `I've heard people speak well of ${topic}.`, `I'd say ${topic} could use a little more attention.`]
  return fresh(turn, options, `answer|${topic}`) ?? `I'm still making up my mind about ${topic}.`
}

/** A reaction to a statement: it names what was said. */
function reactTo (turn: Turn, heard: string): string | undefined {
  const { name } = turn
  if (/keep a secret/i.test(heard)) return `Of course, ${name}. Your secret is safe with me.`
  const topics = phrasesOf(heard)
  const topic = topics.find((t) => !mentions(turn.task.history.filter((l) => l.author === turn.task.self.name).map((l) => l.text).join(' '), t)) ?? topics[0]
  if (topic === undefined) {
    const yours = yourWords(heard)
    if (yours !== undefined) return fresh(turn, [`So you ${yours}; I didn't know that, ${name}.`, `I never knew you ${yours}, ${name}.`], `yours|${yours}`)
    const word = keywords(heard, [turn.task.self.name, turn.task.other.name])[0]
    return word === undefined ? undefined : `You said ${word}, ${name}? I'll remember that.`
  }
  return fresh(turn, [
    `I didn't know that about ${topic}.`, `${upperFirst(topic)} must keep you busy.`,
    `That explains why I see you around ${topic} so often.`, `I'd love to see ${topic} some time.`,
    `It's good to hear about ${topic}, ${name}.`, `You always have something to say about ${topic}.`
  ], `react|${topic}`) ?? `Tell me more about ${topic}, ${name}.`
}

/** The other's last "I …" sentence, its first clause turned to "you …": "I am patient, gentle …" → "are patient". */
function yourWords (heard: string): string | undefined {
  const mine = sentencesOf(heard).filter((s) => /^I (?!hadn't|didn't|never knew|know what)/.test(s)).at(-1)
  if (mine === undefined) return undefined
  const clause = mine.replace(/^I /, '').split(/,| and | but |;/)[0].replace(/[.!?]+$/, '').trim()
  if (clause.split(' ').length < 2) return undefined
  return clause.replace(/^am\b/, 'are').replace(/^was\b/, 'were').replace(/\bmy\b/g, 'your').replace(/\bmyself\b/g, 'yourself').replace(/\bme\b/g, 'you')
}

/** Something to say next: a question about their life or my plan, my plan, a fact, or (rarely, between friends) my secret. */
function followUp (turn: Turn): string | undefined {
  const { task, me, them, name } = turn
  const unmentioned = (topics: string[]): string[] => topics.filter((t) => !mentions(turn.spoken, t))
  const theirs = unmentioned(them.topics)
  const aims = unmentioned(me.aims)
  const friends = task.lastTalkedAt !== undefined && task.history.length >= 4
  if (friends && me.secret !== undefined && !turn.spoken.includes(ask.secret) && hashString(`${turn.seed}|${me.secret}`) % 12 === 0) {
    return `${ask.secret} ${me.secret}`
  }
  const options = [
    theirs[0] === undefined ? undefined : ask.how(theirs[0]),
    aims[0] === undefined ? undefined : pick([ask.make, ask.lately], `${turn.seed}|aim`)(aims[0]),
    theirs[1] === undefined ? undefined : ask.make(theirs[1]),
    turn.spoken.includes('keeps you busy') ? undefined : ask.busy(name),
    me.plan,
    ...me.facts.slice(0, 2)
  ]
  return fresh(turn, options, 'follow')
}

function turnOf (task: ConversationTask): Turn {
  const last = task.history.at(-1)
  const spoken = task.history.map((l) => l.text).join(' ')
  return {
    task,
    me: personaOf(task.self),
    them: personaOf(task.other),
    name: firstName(task.other.name),
    seed: `${task.self.name}|${task.other.name}|${task.history.length}|${last?.text ?? ''}`,
    said: new Set(task.history.flatMap((l) => sentencesOf(l.text))),
    spoken
  }
}

function startLine (task: ConversationTask): string {
  const turn = turnOf(task)
  const { me, them, name, seed } = turn
  const greeting = greetingFor(task.now, name, seed)
  const remembered = task.memories.flatMap(memoryTopics)[0]
  if (remembered !== undefined) return line([greeting, ask.news(remembered)])
  const stranger = task.lastTalkedAt === undefined
  const intro = stranger ? pick([`I don't think we've really talked before; I'm ${me.first}.`, `I'm ${me.first}, by the way.`], `${seed}|intro`) : undefined
  const question = pick([
    them.topics[0] === undefined ? undefined : ask.how(them.topics[0]),
    me.aims[0] === undefined ? undefined : ask.lately(me.aims[0]),
    ask.busy(name)
  ].filter((q): q is string => q !== undefined), `${seed}|ask`)
  return line([greeting, intro, question])
}

function continueLine (task: ConversationTask): string {
  const turn = turnOf(task)
  const last = task.history.at(-1)
  const heard = last !== undefined && last.author !== task.self.name ? last.text : undefined
  const question = heard === undefined ? undefined : questionIn(heard)
  const reply = heard === undefined ? undefined : question !== undefined && !/keep a secret/i.test(heard) ? answerAbout(turn, question) : reactTo(turn, heard)
  if (reply !== undefined) turn.said.add(reply)
  const next = followUp(turn)
  const text = line([reply, next])
  return text !== '' ? text : line([`I know what you mean, ${turn.name}.`, turn.me.facts[0]])
}

function leaveLine (task: ConversationTask): string {
  const turn = turnOf(task)
  const { name, seed } = turn
  const heard = task.history.filter((l) => l.author !== task.self.name).map((l) => l.text).join(' ')
  const topic = topicsByWeight(heard, [])[0]
  const thanks = topic === undefined
    ? pick(['It was good to talk.', 'Thanks for the chat.'], seed)
    : pick([`Thanks for telling me about ${topic}.`, `I enjoyed hearing about ${topic}.`], seed)
  return line([pick([`I should get going, ${name}.`, `I need to head off now, ${name}.`, `I had better get on, ${name}.`], `${seed}|go`), thanks, 'See you around!'])
}

/** Noun phrases of a text, most mentioned first, then first mentioned. */
function topicsByWeight (text: string, exclude: string[]): string[] {
  const found = phrasesOf(text).filter((p) => !exclude.includes(p))
  const count = (p: string): number => text.toLowerCase().split(p).length - 1
  return found.map((p, i) => ({ p, i, n: count(p) })).sort((a, b) => b.n - a.n || a.i - b.i).map(({ p }) => p)
}

// ---------------------------------------------------------------------------------------------
// Remembering

const warmWords = new Set(['love', 'loved', 'enjoy', 'enjoyed', 'happy', 'glad', 'great', 'fun', 'wonderful', 'thanks',
  'interesting', 'beautiful', 'friend', 'kind', 'excited', 'nice', 'agree', 'laugh', 'haha', 'safe', 'best', 'fond'])
const coldWords = new Set(['hate', 'angry', 'annoying', 'boring', 'bored', 'sad', 'awful', 'terrible', 'never',
  'stop', 'wrong', 'upset', 'disagree', 'rude', 'sorry'])
const poignantWords = new Set(['love', 'died', 'death', 'dead', 'married', 'marry', 'wedding', 'baby', 'born', 'divorce',
  'breakup', 'fired', 'hired', 'accepted', 'rejected', 'secret', 'confided', 'afraid', 'fear', 'fears', 'dream', 'dreams',
  'promise', 'sick', 'hospital', 'fight', 'lost', 'won', 'moving', 'leaving', 'goodbye', 'forever', 'heart', 'betrayed',
  'proud', 'family', 'war', 'failing', 'terrible'])

function summaryOf (self: TaskSpeaker, other: TaskSpeaker, history: TaskLine[]): string {
  const name = firstName(other.name)
  if (history.length === 0) return `I met ${name}, but we did not really talk.`
  const all = history.map((l) => l.text).join(' ')
  const theirs = history.filter((l) => l.author === other.name)
  const [first, second] = topicsByWeight(all, [])
  const fallback = keywords(all, [self.name, other.name]).find((w) => !warmWords.has(w) && !coldWords.has(w))
  const about = first === undefined
    ? (fallback === undefined ? `I had a short chat with ${name}.` : `I talked with ${name} about ${fallback}.`)
    : `I talked with ${name} about ${first}${second === undefined ? '' : ` and ${second}`}.`
  const secretLine = theirs.find((l) => l.text.includes(ask.secret))
  const planLine = theirs.flatMap((l) => sentencesOf(l.text)).find((s) => s.startsWith("I've been meaning to"))
  const mineSecret = history.some((l) => l.author === self.name && l.text.includes(ask.secret))
  const detail = secretLine !== undefined
    ? `${name} confided a secret in me: "${clip(secretLine.text.slice(secretLine.text.indexOf(ask.secret) + ask.secret.length).trim(), 110)}"`
    : mineSecret
      ? `I told ${name} a secret and hope it stays between us.`
      : planLine !== undefined
        ? `${name} told me: "${clip(planLine, 110)}"`
        : undefined
  const tone = words(all).reduce((sum, w) => sum + (warmWords.has(w) ? 1 : coldWords.has(w) ? -1 : 0), 0)
  const closing = secretLine !== undefined
    ? 'I will keep it to myself, and I am glad they trust me.'
    : tone < 0
      ? 'I did not enjoy the conversation much.'
      : history.length < 5
        ? 'It was short, but friendly.'
        : pick([`I like talking with ${name}.`, 'I enjoyed it.', `It was a pleasant chat, and I learned something about ${name}.`, `I would happily talk with ${name} again.`], all)
  return [about, detail, closing].filter((s) => s !== undefined).join(' ')
}

function clip (text: string, max: number): string {
  return shortSentence(sentencesOf(text)[0] ?? text, max)
}

/** Importance 0–9: what a memory is about (how many things, a plan, a secret, strong feelings) and how short it was. */
export function importanceOf (memory: string): number {
  const body = memoryBody(memory)
  const all = words(body)
  const poignant = all.filter((w) => poignantWords.has(w)).length
  const feeling = all.filter((w) => warmWords.has(w) || coldWords.has(w)).length
  const things = phrasesOf(body).length
  const score = 1 + Math.min(4, poignant * 2) + Math.min(2, feeling) + Math.min(2, Math.floor(things / 2)) +
    (/meaning to|plan|want/i.test(body) ? 1 : 0) + (all.length > 40 ? 1 : 0) - (/short, but/.test(body) ? 1 : 0)
  return Math.max(0, Math.min(9, score))
}

interface Insight { insight: string, statementIds: number[] }

function reflectionOf (statements: string[]): Insight[] {
  const byTopic = new Map<string, number[]>()
  statements.forEach((statement, id) => {
    const topics = memoryTopics(statement)
    const found = topics.length > 0 ? topics : keywords(memoryBody(statement)).slice(0, 3)
    for (const topic of new Set(found)) byTopic.set(topic, [...(byTopic.get(topic) ?? []), id])
  })
  const ranked = [...byTopic.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
  const insights: Insight[] = []
  const used = new Set<string>()
  for (const [topic, ids] of ranked) {
    if (insights.length === 3) break
    const key = ids.join(',')
    if (used.has(key)) continue
    used.add(key)
    insights.push({
      insight: ids.length > 1 ? `I keep coming back to ${topic}; it matters to me.` : `I remember talking about ${topic} clearly.`,
      statementIds: ids.slice(0, 5)
    })
  }
  return insights
}

function genericReply (request: ChatRequest): string {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? ''
  const topic = phrasesOf(lastUser)[0] ?? keywords(lastUser)[0]
  return topic === undefined ? 'OK.' : `OK, about ${topic}.`
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
