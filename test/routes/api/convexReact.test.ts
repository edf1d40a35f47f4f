// ConvexReactClient in a real browser: a page built on convex/react's useQuery and useMutation (bundled here with
// esbuild), served from another origin, loaded in Debian's Chromium through playwright-core, against townhall.
import t from 'tap'
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { storeTargets } from '../../helpers/stores.ts'
import { listeningApp } from '../../helpers/api.ts'

const CHROMIUM = '/usr/bin/chromium'
const noBrowser = !existsSync(CHROMIUM) && process.env.CI === undefined

t.test('convex/react hooks run a page against townhall: live world, join, input status', {
  skip: noBrowser ? `${CHROMIUM} is missing (apt-get install -y chromium); required when CI is set` : false,
  timeout: 120_000
}, async (t) => {
  const { url } = await listeningApp(t, storeTargets()[0]!)
  const bundle = await build({
    entryPoints: [new URL('../../fixtures/convexReact/page.mjs', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent'
  })
  const script = bundle.outputFiles[0]!.text
  const page = `<!doctype html><div id="root"></div><script>window.TOWNHALL_URL = ${JSON.stringify(url)}</script><script type="module" src="/page.js"></script>`
  const site = createServer((req, res) => {
    if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    else res.writeHead(200, { 'content-type': 'text/html' }).end(page)
  })
  await new Promise<void>((resolve) => { site.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { site.close() })
  const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(async () => { await browser.close() })
  const tab = await browser.newPage()
  const pageErrors: string[] = []
  tab.on('pageerror', (err) => { pageErrors.push(err.message) })
  tab.on('console', (msg) => { if (msg.type() === 'error') pageErrors.push(msg.text()) })
  await tab.goto(origin)

  const text = async (id: string): Promise<string> => await tab.locator(`#${id}`).innerText()
  // Predicates run in the page, written as page code (this file is type-checked without the DOM library).
  const shows = async (condition: string): Promise<void> => { await tab.waitForFunction(condition, undefined, { timeout: 30_000 }) }
  await shows('document.getElementById("time")?.textContent !== "loading"')
  const first = Number(await text('time'))
  await shows(`Number(document.getElementById("time")?.textContent) > ${first}`)
  t.pass('useQuery(world:worldState) follows the steps')
  t.ok(Number(await text('players')) > 0, 'the town has players')
  t.equal(await text('named'), await text('players'), 'every player has its description')

  await tab.click('#join')
  await shows('document.getElementById("joined")?.textContent === "ok"')
  await shows('document.getElementById("mine")?.textContent !== "none"')
  t.match(await text('mine'), /^p:\d+$/, 'useMutation(world:joinWorld) joined, and the page finds its own player by userStatus')
  t.same(pageErrors, [], 'no errors on the page')
})
