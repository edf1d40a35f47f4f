import { test } from 'tap'
import {
  cleanReply, continueConversationPrompt, conversationStops, formatHistory, formatTime, importancePrompt, leaveConversationPrompt,
  memoryDescription, parseImportance, parseReflection, reflectionPrompt, startConversationPrompt, summaryPrompt, timeAgo
} from '../../src/agents/prompts.ts'
import { createOfflineClient } from '../../src/llm/offline.ts'

const HOUR = 3_600_000
const now = Date.UTC(2026, 10, 22, 18, 0)
const self = { name: 'Alice', identity: 'Alice is a botanist.', plan: 'You want to learn about the harbour.' }
const other = { name: 'Bob', description: 'Bob is a retired sailor.' }
const history = [
  { author: 'Alice', text: 'Hi Bob!' },
  { author: 'Bob', text: 'Hello Alice, lovely weather for sailing.' }
]

test('start prompt: identity, plan, the other, last talk, memories, greeting with a callback', async (t) => {
  const request = startConversationPrompt({ self, other, now, lastConversationAt: now - 3 * HOUR, memories: ['Conversation with Bob at 2026-11-21 10:00 UTC: we talked about knots.'] })
  const prompt = request.messages[0].content
  t.match(prompt, /You are Alice\./)
  t.match(prompt, /About you: Alice is a botanist\./)
  t.match(prompt, /Your plan: You want to learn about the harbour\./)
  t.match(prompt, /About Bob: Bob is a retired sailor\./)
  t.match(prompt, /You last talked with Bob 3 hours ago\./)
  t.match(prompt, /- Conversation with Bob at 2026-11-21 10:00 UTC: we talked about knots\./)
  t.match(prompt, /Greet Bob and bring up something from a past conversation/)
  t.ok(prompt.endsWith('Alice to Bob:'))
  t.same(request.stop, ['Bob to Alice:', 'bob to alice:'])
  t.match(request.task, { kind: 'conversation', phase: 'start', lastTalkedAt: now - 3 * HOUR })

  const first = startConversationPrompt({ self, other, now }).messages[0].content
  t.match(first, /You have not talked with Bob before\./)
  t.notMatch(first, /past conversation/)
  t.notMatch(first, /remember/)
})

test('continue prompt: history as "A to B" lines, brief, no re-greeting', async (t) => {
  const request = continueConversationPrompt({ self, other, now, history })
  const prompt = request.messages[0].content
  t.match(prompt, /Alice to Bob: Hi Bob!\nBob to Alice: Hello Alice, lovely weather for sailing\./)
  t.match(prompt, /under 200 characters/)
  t.match(prompt, /do not greet again/)
  t.same(request.stop, ['Bob to Alice:', 'bob to alice:'])
  t.equal(request.task?.kind, 'conversation')
})

test('leave prompt: a polite goodbye', async (t) => {
  const prompt = leaveConversationPrompt({ self, other, now, history }).messages[0].content
  t.match(prompt, /Politely say goodbye to Bob/)
  t.match(prompt, /Bob to Alice: Hello Alice/)
})

test('history, stops and reply cleaning', async (t) => {
  t.same(formatHistory([{ author: 'Bob', text: 'two\nlines' }], 'Alice', 'Bob'), ['Bob to Alice: two lines'])
  t.same(conversationStops('al', 'bo'), ['bo to al:'])
  t.equal(cleanReply('Alice to Bob: Hi there!', 'Alice', 'Bob'), 'Hi there!')
  t.equal(cleanReply('  **alice to bob:** Hi there!', 'Alice', 'Bob'), 'Hi there!')
  t.equal(cleanReply('"Hi there!"', 'Alice', 'Bob'), 'Hi there!')
  t.equal(cleanReply('Sure thing.\nBob to Alice: I will answer myself', 'Alice', 'Bob'), 'Sure thing.')
  t.equal(cleanReply('I told Alice to Bob: no', 'Alice', 'Bob'), 'I told Alice to Bob: no', 'only a leading prefix is stripped')
  t.equal(cleanReply('Hi (friend) [x]', 'A.', 'B*'), 'Hi (friend) [x]', 'names are matched literally')
})

test('summary prompt and memory description', async (t) => {
  const request = summaryPrompt({ self: { name: 'Alice' }, other: { name: 'Bob' }, history })
  const prompt = request.messages[0].content
  t.match(prompt, /You are Alice, and you just finished a conversation with Bob\./)
  t.match(prompt, /first person/)
  t.match(prompt, /liked or disliked/)
  t.match(prompt, /Bob to Alice: Hello Alice/)
  t.equal(memoryDescription('Bob', now, ' I liked it. '), 'Conversation with Bob at 2026-11-22 18:00 UTC: I liked it.')
  t.equal(formatTime(0), '1970-01-01 00:00 UTC')
  t.equal(timeAgo(now, now), 'just now')
  t.equal(timeAgo(now - 60_000, now), '1 minute ago')
  t.equal(timeAgo(now - 49 * HOUR, now), '2 days ago')
})

test('importance prompt and parseImportance edge cases', async (t) => {
  const prompt = importancePrompt('I met Bob.').messages[0].content
  t.match(prompt, /0 to 9/)
  t.match(prompt, /Memory: I met Bob\./)
  t.match(prompt, /one number/)
  t.equal(parseImportance('7'), 7)
  t.equal(parseImportance('Rating: 3/9'), 3)
  t.equal(parseImportance('  8.6 '), 9)
  t.equal(parseImportance('12'), 9)
  t.equal(parseImportance('-4'), 0)
  t.equal(parseImportance('zero'), 5)
  t.equal(parseImportance(''), 5)
  t.equal(parseImportance('I would say 2, maybe 3'), 2)
})

test('reflection prompt numbers the statements and asks for JSON with statement ids', async (t) => {
  const request = reflectionPrompt('Alice', ['likes tea', 'dislikes rain'])
  const prompt = request.messages[0].content
  t.match(prompt, /0\. likes tea\n1\. dislikes rain/)
  t.match(prompt, /3 high-level insights/)
  t.match(prompt, /"statementIds"/)
})

test('parseReflection: clean, fenced, wrapped, sloppy and hopeless replies; never throws', async (t) => {
  const ids = ['m0', 'm1', 'm2']
  const clean = parseReflection('[{"insight":"Alice loves tea","statementIds":[0,2]}]', ids)
  t.same(clean, { insights: [{ insight: 'Alice loves tea', statementIds: [0, 2], relatedMemoryIds: ['m0', 'm2'] }] })

  const fenced = parseReflection('Here you go:\n```json\n[{"insight": "A", "statementIds": [1]}]\n```\nHope it helps', ids)
  t.same(fenced.insights.map((i) => i.relatedMemoryIds), [['m1']])

  const wrapped = parseReflection('{"insights": [{"insight": "A", "statementIds": ["0", 1]}]}', ids)
  t.same(wrapped.insights[0].statementIds, [0, 1])

  const sloppy = parseReflection("[{insight: 'Alice\\'s garden matters', statementIds: [0, 1,],},]", ids)
  t.equal(sloppy.insights[0]?.insight, "Alice's garden matters")
  t.equal(parseReflection('[{insight: "Alice\'s garden", statementIds: [0]}]').insights[0]?.insight, "Alice's garden")

  const outOfRange = parseReflection('[{"insight":"A","statementIds":[0,7,-1,0]}]', ids)
  t.same(outOfRange.insights[0].statementIds, [0])

  const many = parseReflection(JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ insight: `I${i}`, statementIds: [0] }))))
  t.equal(many.insights.length, 3)

  const partly = parseReflection('[{"insight":"A","statementIds":[0]},{"text":"no"}]')
  t.equal(partly.insights.length, 1)
  t.match(partly.reason, /1 malformed/)

  for (const bad of ['', 'I cannot do that.', '[{"insight": "A", statementIds: [0}', '"just a string"', '[1, 2, 3]', '{"a": 1}', 'null', '[']) {
    const result = parseReflection(bad)
    t.same(result.insights, [], `no insights from ${JSON.stringify(bad)}`)
    t.type(result.reason, 'string')
  }
})

test('the offline provider answers these prompts in the form they ask for', async (t) => {
  const client = createOfflineClient({ dimension: 16 })
  const start = await client.chat(startConversationPrompt({ self, other, now, lastConversationAt: now - HOUR, memories: ['Conversation with Bob at 2026-11-21 10:00 UTC: I talked with Bob about knots and anchors.'] }))
  t.match(start.text, /knots|anchors/)
  t.ok(cleanReply(start.text, 'Alice', 'Bob').length <= 200)
  const importance = await client.chat(importancePrompt('Bob told me a secret about his family.'))
  t.ok(parseImportance(importance.text) >= 0)
  const reflection = await client.chat(reflectionPrompt('Alice', ['I talked with Bob about knots.', 'I talked with Carol about knots.']))
  const parsed = parseReflection(reflection.text, ['a', 'b'])
  t.equal(parsed.reason, undefined)
  t.same(parsed.insights[0].relatedMemoryIds, ['a', 'b'])
})
