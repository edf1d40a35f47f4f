// The viewer's "LLM cost" panel: its lines, and the live page through Debian's Chromium.
import { test } from 'tap'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import { formatUsd, usageLines } from '../../src/viewer/usage.ts'
import { createWorldRecords } from '../../src/engine/worlds.ts'
import { buildApp } from '../helpers/app.ts'
import { storeTargets } from '../helpers/stores.ts'
import { chatReply, embeddingReply, startFakeProvider, vectorOf } from '../helpers/fakeProvider.ts'

test('the panel shows total tokens and estimated dollars, then each agent by name, most expensive first', async (t) => {
  t.equal(formatUsd(0), '$0')
  t.equal(formatUsd(0.000403), '$0.0004')
  t.equal(formatUsd(12.3), '$12.30')
  const names = new Map([['p:1', 'Alma']])
  const lines = usageLines({
    total: { calls: 1234, tokens: 98765, costUsd: 0.0512 },
    agents: [
      { agentId: 'a:1', playerId: 'p:1', name: 'Old name', calls: 1000, tokens: 90000, costUsd: 0.05 },
      { agentId: 'a:2', playerId: 'p:2', name: 'Bruno', calls: 200, tokens: 8000, costUsd: 0.0012 },
      { agentId: 'a:3', playerId: 'p:3', name: null, calls: 34, tokens: 765, costUsd: 0 }
    ]
  }, (id) => names.get(id))
  t.equal(lines.total, '98,765 tokens · $0.05 estimated · 1,234 calls (24 h)')
  t.same(lines.agents, [
    { who: 'Alma', tokens: '90,000', cost: '$0.05' },
    { who: 'Bruno', tokens: '8,000', cost: '$0.0012' },
    { who: 'a:3', tokens: '765', cost: '$0' }
  ])
  t.equal(usageLines({ total: { calls: 0, tokens: 0, costUsd: 0 }, agents: [] }, () => undefined).total, 'No LLM calls in the last 24 hours.')
})

const CHROMIUM = '/usr/bin/chromium'
const noBrowser = !existsSync(CHROMIUM) && process.env.CI === undefined
test('the page shows the world\'s LLM cost live', {
  skip: noBrowser ? `${CHROMIUM} is missing (apt-get install -y chromium); required when CI is set` : false,
  timeout: 60_000
}, async (t) => {
  const provider = await startFakeProvider((req) => {
    if (req.path.endsWith('/embeddings')) return embeddingReply((req.body.input as string[]).map((_, i) => vectorOf(32, i + 1)))
    const reply = chatReply('Good morning!') as { json: Record<string, unknown> }
    return { json: { ...reply.json, usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 } } }
  })
  t.teardown(provider.close)
  // No engine: the cost shown is exactly the one call below.
  const app = await buildApp(t, storeTargets()[0]!, {
    ENGINE_ENABLED: 'false',
    LLM_API_URL: provider.url,
    LLM_MODEL: 'tiny-chat',
    LLM_EMBEDDING_MODEL: 'tiny-embed',
    EMBEDDING_DIMENSION: '32',
    LLM_PRICES: '{"tiny-chat": {"input": 1, "output": 2}}'
  })
  const { worldId } = await createWorldRecords(app.store, { now: Date.now(), agents: 0, seed: 3, isDefault: true })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run'] })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage()
  await page.goto(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  await page.waitForSelector('#usage-total')
  t.equal(await page.textContent('#usage-total'), 'No LLM calls in the last 24 hours.')
  await app.llm.chat({ messages: [{ role: 'user', content: 'Hello' }], attribution: { worldId, agentId: 'a:1', playerId: 'p:1' } })
  await page.waitForFunction(() => (globalThis as unknown as { __townhall: { usage: { calls: number } | null } }).__townhall.usage?.calls === 1, undefined, { timeout: 20_000 })
  // 1000 prompt tokens at $1 and 500 completion tokens at $2 per million: $0.002.
  t.equal(await page.textContent('#usage-total'), '1,500 tokens · $0.0020 estimated · 1 call (24 h)')
  t.equal(await page.textContent('#usage-agents .usage-row'), 'a:11,500 tok$0.0020')
})
