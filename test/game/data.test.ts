import { test } from 'tap'
import {
  defaultCast,
  characterSprites,
  defaultMap,
  isFreeTile,
  parseAsciiMap,
  plazaArea,
  townLegend,
  townRows
} from '../../src/game/data/index.ts'
import type { WorldMap } from '../../src/game/data/index.ts'

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
  townLegend.forEach((entry, i) => {
    t.equal(entry.index, i, `${entry.name} index matches its position`)
    t.match(entry.color, /^#[0-9a-f]{6}$/i, `${entry.name} colour`)
    t.equal(entry.char.length, 1, `${entry.name} char`)
  })
  t.equal(new Set(townLegend.map((l) => l.char)).size, townLegend.length, 'chars unique')
  const byName = (name: string) => townLegend.find((l) => l.name === name)
  for (const name of ['water', 'tree', 'wall', 'bush', 'fence']) {
    t.equal(byName(name)?.blocking, true, `${name} blocks`)
  }
  for (const name of ['grass', 'dirt path', 'cobblestone', 'bridge planks', 'doorway']) {
    t.equal(byName(name)?.blocking, false, `${name} is walkable`)
  }
})

test('default map has the engine shape [layer][x][y]', async (t) => {
  const m = defaultMap
  t.equal(m.width, townRows[0].length)
  t.equal(m.height, townRows.length)
  t.equal(m.tileDim, 32)
  for (const layers of [m.bgTiles, m.objectTiles]) {
    t.ok(layers.length >= 1)
    for (const layer of layers) {
      t.equal(layer.length, m.width)
      t.ok(layer.every((col) => col.length === m.height), 'every column has height entries')
    }
  }
  const indices = new Set(m.legend.map((l) => l.index))
  for (const layer of m.bgTiles) {
    t.ok(layer.every((col) => col.every((v) => indices.has(v))), 'bg tiles are legend indices')
  }
  for (const layer of m.objectTiles) {
    t.ok(layer.every((col) => col.every((v) => v === -1 || m.legend[v]?.blocking === true)),
      'object tiles are -1 or blocking legend indices')
  }
  // x first, then y: a known tile from the rows lands in [x][y]
  const waterIdx = townLegend.find((l) => l.char === '~')!.index
  const y = 20
  const x = townRows[y].indexOf('~')
  t.equal(m.objectTiles[0][x][y], waterIdx, 'water at (x, y) read as [x][y]')
  t.equal(m.objectTiles[0][0][0], townLegend.find((l) => l.char === 'T')!.index, 'corner tree')
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

test('parseAsciiMap rejects bad input', async (t) => {
  t.throws(() => parseAsciiMap([], townLegend))
  t.throws(() => parseAsciiMap(['..', '.'], townLegend), /row 1/)
  t.throws(() => parseAsciiMap(['.?'], townLegend), /unknown map character/)
  const tiny = parseAsciiMap(['.~', ',T'], townLegend)
  t.same(tiny.objectTiles[0], [[-1, -1], [9, 11]])
  t.same(tiny.bgTiles[0], [[0, 1], [9, 0]])
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
