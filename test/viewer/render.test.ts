// The viewer draws the map from the map's own tileset image, tile by tile, as AI Town's renderer does.
import { test } from 'tap'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import { TILE_PX, paintMap, paintTiles, tilesetSource, type TileImage, type ViewerMap } from '../../src/viewer/render.ts'
import type { Context2D } from '../../src/viewer/dom.ts'
import { buildApp } from '../helpers/app.ts'
import { storeTargets } from '../helpers/stores.ts'

const CHROMIUM = '/usr/bin/chromium'

interface Call { name: string, args: unknown[] }

/** A 2D context that records its calls. */
function recordingContext (calls: Call[]): Context2D {
  return new Proxy({}, {
    get: (_target, name) => (...args: unknown[]) => { calls.push({ name: String(name), args }) },
    set: () => true
  }) as unknown as Context2D
}

// 3 × 2 tiles of 32 px in a 96 × 64 sheet; the map is 2 × 1.
const map: ViewerMap = {
  width: 2,
  height: 1,
  tileDim: 32,
  tileSetUrl: 'http://elsewhere.example:3000/assets/townhall/tileset.png?v=1',
  tileSetDimX: 96,
  tileSetDimY: 64,
  bgTiles: [[[0], [4]], [[-1], [2]]],
  objectTiles: [[[5], [-1]]]
}

test('tilesetSource: townhall\'s assets from the page\'s own origin, other URLs against the page', async (t) => {
  t.equal(tilesetSource('http://localhost:3000/assets/townhall/tileset.png?v=ab', 'http://127.0.0.1:4567/'), '/assets/townhall/tileset.png?v=ab')
  t.equal(tilesetSource('/assets/townhall/tileset.png', 'http://127.0.0.1:4567/'), '/assets/townhall/tileset.png')
  t.equal(tilesetSource('/ai-town/assets/gentle-obj.png', 'http://127.0.0.1:4567/'), 'http://127.0.0.1:4567/ai-town/assets/gentle-obj.png')
  t.equal(tilesetSource('https://cdn.example/t.png', 'http://127.0.0.1:4567/'), 'https://cdn.example/t.png')
})

test('paintTiles draws background layers, then object layers, each index from its sheet cell; -1 draws nothing', async (t) => {
  const calls: Call[] = []
  const image = { width: 96, height: 64 } as unknown as TileImage
  paintTiles(recordingContext(calls), map, image)
  const draws = calls.filter((c) => c.name === 'drawImage').map((c) => c.args.slice(1))
  const cell = (index: number, x: number): number[] => [(index % 3) * 32, Math.floor(index / 3) * 32, 32, 32, x * TILE_PX, 0, TILE_PX, TILE_PX]
  t.same(draws, [cell(0, 0), cell(4, 1), cell(2, 1), cell(5, 0)])
  t.ok(calls.filter((c) => c.name === 'drawImage').every((c) => c.args[0] === image))
})

test('paintMap sketches at once, then draws the tiles when the image loads', async (t) => {
  const calls: Call[] = []
  const canvas = { width: 0, height: 0, getContext: () => recordingContext(calls) }
  const images: Array<TileImage & { src: string }> = []
  class FakeImage { width = 96; height = 64; src = ''; onload: (() => void) | null = null; onerror: (() => void) | null = null; constructor () { images.push(this) } }
  const saved = { document: (globalThis as Record<string, unknown>).document, Image: (globalThis as Record<string, unknown>).Image, location: (globalThis as Record<string, unknown>).location }
  Object.assign(globalThis, { document: { createElement: () => canvas }, Image: FakeImage, location: { href: 'http://127.0.0.1:4567/' } })
  t.teardown(() => { Object.assign(globalThis, saved) })

  const painted = paintMap(map)
  t.equal(painted, canvas)
  t.same([canvas.width, canvas.height], [2 * TILE_PX, TILE_PX])
  t.equal(calls.filter((c) => c.name === 'fillRect').length, 2, 'a sketch cell per tile')
  t.equal(calls.filter((c) => c.name === 'drawImage').length, 0, 'no tiles before the image loads')
  t.equal(images.length, 1)
  t.equal(images[0].src, '/assets/townhall/tileset.png?v=1', 'loaded from the page\'s origin')
  images[0].onload!()
  t.equal(calls.filter((c) => c.name === 'drawImage').length, 4)

  images.length = 0
  paintMap({ ...map, tileSetUrl: '' })
  t.equal(images.length, 0, 'a map without a tileset keeps its sketch')
})

const noBrowser = !existsSync(CHROMIUM) && process.env.CI === undefined
test('in the browser, the viewer\'s map canvas shows the tileset (water is blue)', {
  skip: noBrowser ? `${CHROMIUM} is missing` : false,
  timeout: 120_000
}, async (t) => {
  const app = await buildApp(t, storeTargets()[0])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run'] })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1400, height: 950 } })
  await page.goto(base)
  // A river tile (x 42, y 20) is dark in the sketch and blue once the tileset is drawn.
  await page.waitForFunction(({ px }) => {
    const canvas = (globalThis as unknown as { document: { getElementById: (id: string) => { getContext: (k: string) => { getImageData: (...a: number[]) => { data: number[] } } } } }).document.getElementById('map')
    const [r, , b] = canvas.getContext('2d').getImageData(42 * px + px / 2, 20 * px + px / 2, 1, 1).data
    return b > r + 60
  }, { px: TILE_PX }, { timeout: 30_000 })
  if (process.env.TOWNHALL_SCREENSHOT !== undefined) await page.locator('#map').screenshot({ path: process.env.TOWNHALL_SCREENSHOT })
  t.pass('the tileset is drawn')
})
