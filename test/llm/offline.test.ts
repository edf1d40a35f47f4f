import { test } from 'tap'
import { createLlmClient } from '../../src/llm/client.ts'
import { answerTask, cosineSimilarity, createOfflineClient, firstName, importanceOf, offlineEmbedding, phrasesOf } from '../../src/llm/offline.ts'
import type { LlmCallRecord, LlmTask, TaskLine } from '../../src/llm/types.ts'

const alice = { name: 'Alice', identity: 'Alice is a botanist who loves her greenhouse.', plan: 'You want to find out what everyone thinks about the new park.' }
const bob = { name: 'Bob', description: 'Bob is a retired sailor who repairs boats.' }
const memories = ['Conversation with Bob at 2026-11-20 10:00 UTC: I talked with Bob about sailing and lighthouses. I liked the conversation.']

function conversation (phase: 'start' | 'continue' | 'leave', history: TaskLine[] = [], withMemories = true): Extract<LlmTask, { kind: 'conversation' }> {
  return { kind: 'conversation', phase, self: alice, other: bob, memories: withMemories ? memories : [], history, lastTalkedAt: withMemories ? 1 : undefined, now: 2 }
}

test('the offline client is labelled offline and deterministic', async (t) => {
  const records: LlmCallRecord[] = []
  const client = createOfflineClient({ dimension: 64, onCall: (r) => records.push(r) })
  t.equal(client.name, 'offline')
  t.equal(client.mode, 'offline')
  t.equal(client.info.chat.provider, 'offline')
  const request = { messages: [{ role: 'user' as const, content: 'prompt' }], task: conversation('start') }
  const a = await client.chat(request)
  const b = await client.chat(request)
  t.equal(a.text, b.text)
  t.equal(a.provider, 'offline')
  const [v1] = await client.embed(['the same text'])
  const [v2] = await createOfflineClient({ dimension: 64 }).embed(['the same text'])
  t.same([...v1], [...v2])
  t.equal(records.length, 3)
  t.match(records[0], { operation: 'chat', provider: 'offline', ok: true })
})

test('createLlmClient returns the offline client for offline endpoints', async (t) => {
  const offline = { kind: 'offline' as const, name: 'offline', baseUrl: '', model: 'offline' }
  const client = createLlmClient({ chat: offline, embedding: { ...offline, model: 'offline-hash-v1', dimension: 32 } })
  t.equal(client.mode, 'offline')
  t.equal((await client.embed(['x']))[0].length, 32)
})

test('start lines greet, mention a remembered topic when memories are given, and stay short', async (t) => {
  const remembered = answerTask(conversation('start'))
  t.match(remembered, /Bob/)
  t.match(remembered, /sailing|lighthouses/)
  t.ok(remembered.length <= 200)
  const stranger = answerTask(conversation('start', [], false))
  t.match(stranger, /Bob/)
  t.match(stranger, /Alice/, 'introduces herself to a stranger')
  t.notMatch(stranger, /sailing/)
})

test('continue lines vary with the conversation, never exceed 200 chars', async (t) => {
  const history: TaskLine[] = [{ author: 'Alice', text: 'Hi Bob!' }]
  const lines = new Set<string>()
  const topics = ['boat engine', 'harbour seagulls', 'winter storms', 'fishing nets', 'old compass', 'lighthouse keeper']
  for (const topic of topics) {
    history.push({ author: 'Bob', text: `I spent the morning thinking about the ${topic}.` })
    const line = answerTask(conversation('continue', history))
    t.ok(line.length > 0 && line.length <= 200, line)
    t.notMatch(line, /^Alice to Bob:/)
    lines.add(line)
    history.push({ author: 'Alice', text: line })
  }
  t.ok(lines.size >= topics.length - 1, 'lines differ as the conversation moves on')
  const long = answerTask({ ...conversation('continue', [{ author: 'Bob', text: 'x'.repeat(500) + ' supercalifragilistic'.repeat(30) }]), self: { ...alice, plan: 'You want '.concat('very '.repeat(100)) } })
  t.ok(long.length <= 200)
})

test('leave lines say goodbye politely', async (t) => {
  const line = answerTask(conversation('leave', [{ author: 'Bob', text: 'The storm broke my mast.' }]))
  t.match(line, /Bob/)
  t.match(line, /get going|head off|get on/)
  t.match(line, /the storm\b/, 'names what was talked about')
  t.notMatch(line, /storm broke/, 'not a verb taken into the topic')
  t.match(line, /See you/)
  t.ok(line.length <= 200)
})

test('summaries are first person and say whether it was liked; importance is a digit', async (t) => {
  const warm = answerTask({ kind: 'summary', self: alice, other: bob, history: [{ author: 'Bob', text: 'I love sailing, it makes me happy.' }, { author: 'Alice', text: 'That is wonderful!' }] })
  t.match(warm, /^I talked with Bob about sailing\./)
  t.match(warm, /friendly|enjoyed|like|pleasant|happily/)
  const cold = answerTask({ kind: 'summary', self: alice, other: bob, history: [{ author: 'Bob', text: 'I hate this boring park, it is awful.' }] })
  t.match(cold, /did not enjoy/)
  const mundane = Number(answerTask({ kind: 'importance', memory: 'I talked with Bob about the weather.' }))
  const poignant = Number(answerTask({ kind: 'importance', memory: 'Bob told me his wife died and he is afraid; I love him like family.' }))
  t.ok(Number.isInteger(mundane) && mundane >= 0 && mundane <= 9)
  t.ok(poignant > mundane)
  t.ok(poignant <= 9)
})

test('reflection output is the JSON form a model is asked for', async (t) => {
  const statements = [memories[0], 'I talked with Carol about gardening and sailing.', 'I talked with Dan about gardening.']
  const parsed = JSON.parse(answerTask({ kind: 'reflection', name: 'Alice', statements })) as Array<{ insight: string, statementIds: number[] }>
  t.ok(parsed.length > 0 && parsed.length <= 3)
  for (const item of parsed) {
    t.type(item.insight, 'string')
    t.ok(item.statementIds.every((id) => Number.isInteger(id) && id >= 0 && id < statements.length))
  }
  t.same(parsed[0].statementIds, [1, 2], 'the theme shared most comes first')
})

test('offline embeddings: configured dimension, unit length, similar texts closer', async (t) => {
  const a = offlineEmbedding('I love gardening and growing tomatoes in my greenhouse', 1024)
  const b = offlineEmbedding('Growing tomatoes in the greenhouse is my favourite kind of gardening', 1024)
  const c = offlineEmbedding('The harbour master fined the fishing boat for late fees', 1024)
  t.equal(a.length, 1024)
  let norm = 0
  for (const x of a) norm += x * x
  t.ok(Math.abs(norm - 1) < 1e-5)
  t.ok(cosineSimilarity(a, b) > cosineSimilarity(a, c) + 0.2, `similar ${cosineSimilarity(a, b)} vs dissimilar ${cosineSimilarity(a, c)}`)
  t.ok(cosineSimilarity(offlineEmbedding('gardener', 256), offlineEmbedding('gardening', 256)) > cosineSimilarity(offlineEmbedding('gardener', 256), offlineEmbedding('sailor', 256)), 'trigrams relate word forms')
  t.same([...offlineEmbedding('same', 16)], [...offlineEmbedding('same', 16)])
  const empty = offlineEmbedding('', 16)
  t.ok(empty.every((x) => Number.isFinite(x)))
  t.ok(empty.some((x) => x !== 0), 'never a zero vector')
})

test('topics are noun phrases: no names, roles, verbs or stop-words', async (t) => {
  t.same(phrasesOf('Tomasz Reyes-Hale is the town blacksmith. He mends the gates and the occasional bicycle, and the clinic works Dr. Adeyemi too hard.'),
    ['the gates', 'the occasional bicycle', 'the clinic'])
  t.same(phrasesOf('The storm broke my mast by the old harbour.'), ['the storm', 'the old harbour'], 'not the storm broke')
  t.same(phrasesOf('She told someone about it, and then the thing happened.'), [])
  t.equal(firstName('Dr. Femi Adeyemi'), 'Femi')
})

test('a question is answered from the identity, in the first person, before anything is asked back', async (t) => {
  const gardener = { name: 'Alice Moreau-Lind', identity: 'Alice is a botanist who loves her greenhouse. She grows tomatoes for the market and sells them on Saturdays. Her secret: she hates tomatoes.', plan: 'You want to find someone who would help you in the greenhouse.' }
  const ask = (text: string): string => answerTask({ ...conversation('continue', [{ author: 'Alice Moreau-Lind', text: 'Hi Bob!' }, { author: 'Bob', text }]), self: gardener })
  const busy = ask('What keeps you busy these days, Alice?')
  t.match(busy, /busy/i, 'says what keeps her busy')
  t.match(busy, /I am a botanist who loves my greenhouse|I grow tomatoes for the market and sell them/)
  t.notMatch(busy, /hates tomatoes/, 'the secret is not small talk with a stranger')
  const greenhouse = ask('What do you make of the greenhouse?')
  t.match(greenhouse, /^[^?]*greenhouse[^?]*[.!]/, 'the answer names the greenhouse before any question')
  t.notMatch(greenhouse, /\b(?:moreau|lind)\b/, 'no name fragment as a word')
  const heard = ask('I spent the morning mending the fishing nets.')
  t.match(heard, /the fishing nets/i, 'a reaction names what was said')
  const plan = answerTask({ ...conversation('continue', [{ author: 'Bob', text: 'Hello.' }]), self: { ...gardener, identity: '' } })
  t.notMatch(plan, /\bhelp me in\b|\bme would\b/, 'the plan is turned into my own words')
  for (const line of [busy, greenhouse, heard, plan]) t.match(line, /^[A-Z].*[.!?]$/, `a whole sentence: ${line}`)
})

test('importance follows what happened: a confided secret outweighs a short chat', async (t) => {
  const short = importanceOf('Conversation with Bob at 2026-11-20 10:00 UTC: I had a short chat with Bob. It was short, but friendly.')
  const plans = importanceOf('Conversation with Bob at 2026-11-20 10:00 UTC: I talked with Bob about the harbour and the boats. Bob told me: "I\'ve been meaning to sell the boat." I enjoyed it.')
  const secret = importanceOf('Conversation with Bob at 2026-11-20 10:00 UTC: I talked with Bob about the harbour. Bob confided a secret in me: "I am afraid of the sea." I will keep it to myself, and I am glad they trust me.')
  t.ok(short < plans && plans < secret, `short ${short} < plans ${plans} < secret ${secret}`)
})
