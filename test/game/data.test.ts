import { test } from 'tap'
import {
  defaultCast,
  characterSprites,
  defaultMap,
  isFreeTile,
  parseAsciiMap,
  plazaArea,
  townBuildings,
  townLegend,
  townRows,
  TILESET_PATH
} from '../../src/game/data/index.ts'
import type { WorldMap } from '../../src/game/data/index.ts'
import { TILESET_DIM_X, TILESET_DIM_Y, tileNames } from '../../src/game/data/tileset.ts'

/** The tile's name in the tileset (e.g. `water:5`), or null for -1. */
const tileName = (index: number): string | null => (index === -1 ? null : tileNames[index] ?? `out of range: ${index}`)

/** The sheets AI Town's front end ships (src/components/PixiStaticMap.tsx, data/animations/). */
const AI_TOWN_SHEETS = ['campfire.json', 'gentlesparkle.json', 'gentlewaterfall.json', 'windmill.json', 'gentlesplash.json']

/** Walkable cells reachable from (sx, sy) over 4-neighbours. */
function floodFill (map: WorldMap, sx: number, sy: number): Set<number> {
  const seen = new Set<number>([sx * map.height + sy])
  const stack: Array<[number, number]> = [[sx, sy]]
  while (stack.length > 0) {
    const [x, y] = stack.pop()!
    for (const [nx, ny] of [[x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]]) {
      const key = nx * map.height + ny
      if (!seen.has(key) && isFreeTile(map, nx, ny)) {
        seen.add(key)
        stack.push([nx, ny])
      }
    }
  }
  return seen
}

function freeTiles (map: WorldMap): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (let x = 0; x < map.width; x++) {
    for (let y = 0; y < map.height; y++) {
      if (isFreeTile(map, x, y)) out.push([x, y])
    }
  }
  return out
}

test('ascii rows are rectangular, large enough and use only legend characters', async (t) => {
  t.ok(townRows.length >= 32, 'at least 32 rows')
  const width = townRows[0].length
  t.ok(width >= 48, 'at least 48 columns')
  const chars = new Set(townLegend.map((l) => l.char))
  for (const [y, row] of townRows.entries()) {
    t.equal(row.length, width, `row ${y} length`)
    for (const ch of row) {
      if (!chars.has(ch)) t.fail(`row ${y}: unknown character ${JSON.stringify(ch)}`)
    }
  }
})

test('legend is well formed', async (t) => {
  for (const entry of townLegend) t.equal(entry.char.length, 1, `${entry.name} char`)
  t.equal(new Set(townLegend.map((l) => l.char)).size, townLegend.length, 'chars unique')
  const byName = (name: string) => townLegend.find((l) => l.name === name)
  for (const name of ['water', 'tree', 'wall', 'bush', 'fence']) {
    t.equal(byName(name)?.blocking, true, `${name} blocks`)
  }
  for (const name of ['grass', 'dirt path', 'cobblestone', 'bridge planks', 'doorway']) {
    t.equal(byName(name)?.blocking, false, `${name} is walkable`)
  }
})

test('default map has AI Town\'s shape [layer][x][y], every tile inside the tileset', async (t) => {
  const m = defaultMap
  t.equal(m.width, townRows[0].length)
  t.equal(m.height, townRows.length)
  t.equal(m.tileDim, 32)
  t.equal(m.tileSetDimX, TILESET_DIM_X)
  t.equal(m.tileSetDimY, TILESET_DIM_Y)
  t.ok(m.tileSetUrl.startsWith(`${TILESET_PATH}?v=`), 'the tileset under townhall\'s asset route, versioned')
  t.notOk('legend' in m, 'one shape of map: no legend beside the tiles')
  t.ok(m.bgTiles.length >= 2, 'ground, then details')
  const capacity = Math.floor(m.tileSetDimX / m.tileDim) * Math.floor(m.tileSetDimY / m.tileDim)
  t.ok(tileNames.length <= capacity, 'the sheet holds every tile')
  for (const layers of [m.bgTiles, m.objectTiles]) {
    for (const layer of layers) {
      t.equal(layer.length, m.width)
      t.ok(layer.every((col) => col.length === m.height), 'every column has height entries')
      t.ok(layer.every((col) => col.every((v) => Number.isInteger(v) && v >= -1 && v < tileNames.length)), 'indices inside the tileset')
    }
  }
  t.ok(m.bgTiles[0].every((col) => col.every((v) => v !== -1)), 'the ground layer covers every cell')
  // x first, then y: a known tile from the rows lands in [x][y]
  const y = 20
  const x = townRows[y].indexOf('~')
  t.match(tileName(m.objectTiles[0][x][y]), /^water:/, 'water at (x, y) read as [x][y]')
  t.match(tileName(m.objectTiles[0][0][0]), /^tree:/, 'corner tree')
  t.match(tileName(m.bgTiles[0][0][0]), /^grass:/, 'grass beneath it')
  const door = townRows[9].indexOf('+')
  t.match(tileName(m.bgTiles[0][door][9]), /^door:brick:plank:h$/, 'the bakery door, in an east-west brick wall')
  t.match(tileName(m.bgTiles[2][44][12]), /^bridge:h$/, 'the north bridge crosses the river east-west')
  t.match(tileName(m.bgTiles[1][44][12]), /^water:/, 'water beneath the bridge')
  t.match(tileName(m.objectTiles[0][29][20]), /^fountain:4$/, 'the middle of the fountain')
})

test('every building in townBuildings is a wall box of the rows', async (t) => {
  for (const b of townBuildings) {
    t.equal(townRows[b.y][b.x], '#', `${b.name}: north-west corner`)
    t.equal(townRows[b.y + b.height - 1][b.x + b.width - 1], '#', `${b.name}: south-east corner`)
    t.match(tileName(defaultMap.objectTiles[0][b.x][b.y]), new RegExp(`^wall:${b.walls}:`), `${b.name}: ${b.walls} walls`)
  }
})

test('animated sprites use sheets AI Town ships and sit on blocking tiles', async (t) => {
  const sprites = defaultMap.animatedSprites
  t.ok(sprites.length >= 2)
  for (const s of sprites) {
    t.ok(AI_TOWN_SHEETS.includes(s.sheet), `${s.sheet} exists in AI Town's front end`)
    t.equal(s.animation, 'pixels_large')
    t.same([s.w, s.h, s.x % 32, s.y % 32], [32, 32, 0, 0], 'one whole tile')
    t.notOk(isFreeTile(defaultMap, s.x / 32, s.y / 32), 'nobody walks through a sprite')
  }
  t.ok(sprites.some((s) => s.sheet === 'campfire.json'), 'the smithy\'s forge burns')
})

test('blocking tiles are not free, walkable ones are', async (t) => {
  const byChar = new Map(townLegend.map((l) => [l.char, l]))
  let mismatches = 0
  townRows.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (isFreeTile(defaultMap, x, y) === byChar.get(row[x])!.blocking) mismatches++
    }
  })
  t.equal(mismatches, 0)
  t.notOk(isFreeTile(defaultMap, -1, 0), 'out of bounds is not free')
  t.notOk(isFreeTile(defaultMap, defaultMap.width, 0), 'out of bounds is not free')
})

test('all walkable tiles form one connected region covering most of the map', async (t) => {
  const free = freeTiles(defaultMap)
  const total = defaultMap.width * defaultMap.height
  t.ok(free.length / total >= 0.55, `walkable share ${(free.length / total).toFixed(2)} >= 0.55`)
  const region = floodFill(defaultMap, free[0][0], free[0][1])
  t.equal(region.size, free.length, 'one 4-connected region')
  const inner = free.filter(([x, y]) => x >= 1 && y >= 1 && x < defaultMap.width - 1 && y < defaultMap.height - 1)
  t.ok(inner.length >= 1000, `${inner.length} walkable tiles at least 1 from the edge`)
})

test('map has a river with bridges, buildings with doors, and a walkable plaza', async (t) => {
  const all = townRows.join('')
  for (const ch of ['~', 'H', '#', '+', 'T', 'b', '*', 'f', 'n', '=', ',']) {
    t.ok(all.includes(ch), `map uses ${ch}`)
  }
  let plazaFree = 0
  for (let x = plazaArea.x; x < plazaArea.x + plazaArea.width; x++) {
    for (let y = plazaArea.y; y < plazaArea.y + plazaArea.height; y++) {
      if (isFreeTile(defaultMap, x, y)) plazaFree++
    }
  }
  t.ok(plazaFree >= 100, `plaza has ${plazaFree} free tiles`)
})

test('parseAsciiMap rejects bad input and draws by neighbours', async (t) => {
  t.throws(() => parseAsciiMap([], townLegend))
  t.throws(() => parseAsciiMap(['..', '.'], townLegend), /row 1/)
  t.throws(() => parseAsciiMap(['.?'], townLegend), /unknown map character/)
  const tiny = parseAsciiMap(['.~', ',T'], townLegend)
  t.same(tiny.objectTiles[0][0], [-1, -1], 'grass and path are free')
  t.equal(tileName(tiny.objectTiles[0][1][0]), 'water:12', 'water with shores to the west and south')
  t.match(tileName(tiny.objectTiles[0][1][1]), /^tree:\d$/)
  // Edges where the neighbour differs (N=1, E=2, S=4, W=8); off the map counts as the same.
  t.equal(tileName(tiny.bgTiles[1][0][1]), 'path:3', 'the path ends to the north and east')
  t.equal(tileName(tiny.bgTiles[1][1][0]), 'sand:12', 'sand beneath the water, edged like it')
  const fence = parseAsciiMap(['fff', '..f'], townLegend)
  t.equal(tileName(fence.objectTiles[0][1][0]), 'fence:10', 'a fence joins its neighbours east and west')
  t.equal(tileName(fence.objectTiles[0][2][0]), 'fence:12', 'a corner joins south and west')
})

test('default cast', async (t) => {
  t.ok(defaultCast.length >= 5)
  t.equal(new Set(defaultCast.map((c) => c.name)).size, defaultCast.length, 'unique names')
  t.equal(new Set(defaultCast.map((c) => c.character)).size, defaultCast.length, 'unique sprites')
  const keys = new Set(characterSprites.map((s) => s.key))
  t.equal(keys.size, 8)
  for (const s of characterSprites) t.match(s.color, /^#[0-9a-f]{6}$/i)
  for (const c of defaultCast) {
    t.ok(keys.has(c.character), `${c.name} uses a known sprite`)
    t.ok(c.identity.trim().length > 100, `${c.name} identity`)
    t.ok(c.plan.trim().length > 10, `${c.name} plan`)
  }
})
