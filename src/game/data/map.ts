/**
 * The default town of townhall: "Brackenford", a small river town.
 *
 * The map is authored as ASCII art below, one character per tile, and turned
 * by `parseAsciiMap` into AI Town's map shape over townhall's own tileset
 * (tileset.ts, drawn in code and served at TILESET_PATH): AI Town's front end
 * and townhall's viewer draw it the same way. Only `objectTiles` matter to the
 * game (anything but -1 blocks); the rest is drawing.
 *
 * Rough layout (x grows to the right, y grows downwards):
 *   - north-west: the bakery (with a fenced flower garden beside it)
 *   - north-centre: the town hall, facing the north road
 *   - west: the library (bookshelves inside), the clinic below it
 *   - centre: the cobbled plaza with a fountain, benches and flower beds
 *   - south-centre: the smithy and the boat workshop
 *   - south-west: the mill pond with a wooden jetty
 *   - the river Bracken runs north to south, crossed by two bridges
 *     (north road, row 12; south road, row 30)
 *   - east bank: four cottages and the fenced allotment farm
 * A ring of trees closes the map on every side.
 */

import type { WorldMap as GameWorldMap } from '../types.ts'
import { hashString } from '../../hash.ts'
import { TOWNHALL_ASSETS } from './mapView.ts'
import {
  E, N, S, TILE_DIM, TILESET_DIM_X, TILESET_DIM_Y, TILESET_VERSION, W,
  tableItems, tileIndex, type FloorStyle, type WallStyle
} from './tileset.ts'

export { TILE_DIM }

/** One kind of tile in the ASCII rows. */
export interface TileLegend {
  /** The single character that stands for this tile in the ASCII rows. */
  char: string
  name: string
  /** Blocking tiles are written to `objectTiles`; free cells there are -1. */
  blocking: boolean
  /**
   * For blocking tiles: the ground character drawn beneath the object in the
   * background layers (defaults to grass). Ignored for walkable tiles.
   */
  under?: string
}

/** AI Town's animated sprite: pixel position and size, a sheet its front end ships (`campfire.json`…), an animation in it. */
export interface AnimatedSprite { x: number, y: number, w: number, h: number, layer: number, sheet: string, animation: string }

/** AI Town's serialized world map: the game's tile layers plus what its renderer needs to draw them. */
export interface WorldMap extends GameWorldMap {
  tileSetUrl: string
  /** The tileset image's width and height in pixels. */
  tileSetDimX: number
  tileSetDimY: number
  animatedSprites: AnimatedSprite[]
}

/** A building of the ASCII map (its walls' bounding box) and how it is drawn. */
export interface Building { name: string, x: number, y: number, width: number, height: number, walls: WallStyle, floor: FloorStyle, forge?: boolean }

/** Where townhall serves the tileset; versioned so that a cached old sheet never meets new indices. */
export const TILESET_PATH = `${TOWNHALL_ASSETS}tileset.png`
export const TILESET_URL = `${TILESET_PATH}?v=${TILESET_VERSION}`

/** Legend of the default town. */
export const townLegend: TileLegend[] = [
  { char: '.', name: 'grass', blocking: false },
  { char: ',', name: 'dirt path', blocking: false },
  { char: '=', name: 'cobblestone', blocking: false },
  { char: '_', name: 'wooden floor', blocking: false },
  { char: '+', name: 'doorway', blocking: false },
  { char: 'H', name: 'bridge planks', blocking: false },
  { char: '*', name: 'flower bed', blocking: false },
  { char: 's', name: 'sand', blocking: false },
  { char: 'c', name: 'crop rows', blocking: false },
  { char: '~', name: 'water', blocking: true, under: '~' },
  { char: '#', name: 'wall', blocking: true, under: '_' },
  { char: 'T', name: 'tree', blocking: true },
  { char: 'b', name: 'bush', blocking: true },
  { char: 'n', name: 'bench', blocking: true, under: '=' },
  { char: 'f', name: 'fence', blocking: true },
  { char: 'o', name: 'fountain', blocking: true, under: '=' },
  { char: 't', name: 'table', blocking: true, under: '_' },
  { char: 'k', name: 'bookshelf', blocking: true, under: '_' }
]

// Which characters a ground patch runs on into without an edge (the first set of each entry is the patch itself).
const PATH_LIKE = new Set([',', '+', 'H', '=', 'n', 'o'])
const COBBLE_LIKE = new Set(['=', 'n', 'o', ',', '+', 'H'])
const SAND_LIKE = new Set(['s', '~', 'H'])
const WATER_LIKE = new Set(['~', 'H'])
const INDOOR = new Set(['_', '+', '#', 't', 'k'])

/** Sparkles on open water (AI Town's front end ships gentlesparkle.json); about one water tile in this many. */
const SPARKLE_EVERY = 24

/**
 * Convert ASCII rows (row = y, column = x) into AI Town's map shape, every tile an index into
 * townhall's tileset: three background layers (ground; paths, sand, cobbles, soil, flowers;
 * details such as bridges and tufts, -1 where there are none) and one object layer with every
 * blocking tile (-1 = free). All layers are indexed `[layer][x][y]`. Edges, wall faces, fence
 * joints and the fountain's parts follow each cell's neighbours. Throws on an empty map, ragged
 * rows, or a character missing from the legend.
 */
export function parseAsciiMap (rows: string[], legend: TileLegend[], buildings: Building[] = []): WorldMap {
  if (rows.length === 0 || rows[0].length === 0) throw new Error('map has no rows')
  const height = rows.length
  const width = rows[0].length
  const byChar = new Map<string, TileLegend>()
  for (const entry of legend) {
    if (entry.char.length !== 1) throw new Error(`legend entry "${entry.name}" must use exactly one character`)
    if (byChar.has(entry.char)) throw new Error(`legend character "${entry.char}" is used twice`)
    byChar.set(entry.char, entry)
  }
  rows.forEach((row, y) => {
    if (row.length !== width) throw new Error(`row ${y} has ${row.length} tiles, expected ${width}`)
    for (let x = 0; x < width; x++) {
      const entry = byChar.get(row[x])
      if (entry === undefined) throw new Error(`unknown map character "${row[x]}" at (${x}, ${y})`)
      if (entry.blocking && !byChar.has(entry.under ?? '.')) throw new Error(`legend entry "${entry.name}" has an unknown ground "${entry.under ?? '.'}"`)
    }
  })

  // Off the map counts as "more of the same", so no edge is drawn along the border.
  const at = (x: number, y: number): string | null => (x < 0 || y < 0 || x >= width || y >= height ? null : rows[y][x])
  const blockingAt = (x: number, y: number): boolean => byChar.get(at(x, y) ?? '.')?.blocking === true
  /** Bits of the sides whose neighbour is in `set` (or off the map when `offMap`). */
  const joined = (x: number, y: number, set: ReadonlySet<string>, offMap: boolean): number => {
    let mask = 0
    for (const [bit, dx, dy] of [[N, 0, -1], [E, 1, 0], [S, 0, 1], [W, -1, 0]] as const) {
      const c = at(x + dx, y + dy)
      if (c === null ? offMap : set.has(c)) mask |= bit
    }
    return mask
  }
  const edges = (x: number, y: number, set: ReadonlySet<string>): number => 15 & ~joined(x, y, set, true)
  const noise = (x: number, y: number, salt: number): number => hashString(`${x},${y}`, salt) / 4294967296
  const buildingAt = (x: number, y: number): Building | undefined =>
    buildings.find((b) => x >= b.x && y >= b.y && x < b.x + b.width && y < b.y + b.height)

  const layer = (fill: number): number[][] => Array.from({ length: width }, () => new Array<number>(height).fill(fill))
  const ground = layer(0)
  const patches = layer(-1)
  const details = layer(-1)
  const objects = layer(-1)
  const animatedSprites: AnimatedSprite[] = []
  const forges = new Set<Building>()
  const sprite = (x: number, y: number, sheet: string): void => {
    animatedSprites.push({ x: x * TILE_DIM, y: y * TILE_DIM, w: TILE_DIM, h: TILE_DIM, layer: 1, sheet, animation: 'pixels_large' })
  }

  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const ch = rows[y][x]
      const entry = byChar.get(ch)!
      const groundChar = entry.blocking ? entry.under ?? '.' : ch
      const building = INDOOR.has(ch) ? buildingAt(x, y) : undefined
      const walls = building?.walls ?? 'brick'
      const floor = building?.floor ?? 'plank'

      // Layer 0: grass outdoors, floorboards or flagstones indoors.
      if (INDOOR.has(groundChar) || INDOOR.has(ch)) {
        ground[x][y] = tileIndex(`floor:${floor}:${noise(x, y, 1) < 0.5 ? 0 : 1}`)
      } else {
        ground[x][y] = tileIndex(`grass:${Math.floor(noise(x, y, 2) * 4)}`)
      }
      if (ch === '+') {
        const orientation = blockingAt(x - 1, y) && blockingAt(x + 1, y) ? 'h' : 'v'
        ground[x][y] = tileIndex(`door:${walls}:${floor}:${orientation}`)
      }

      // Layer 1: ground patches laid over the grass, with soft edges.
      if (groundChar === ',') patches[x][y] = tileIndex(`path:${edges(x, y, PATH_LIKE)}`)
      else if (groundChar === '=') patches[x][y] = tileIndex(`cobble:${edges(x, y, COBBLE_LIKE)}`)
      else if (groundChar === 's' || groundChar === '~') patches[x][y] = tileIndex(`sand:${edges(x, y, SAND_LIKE)}`)
      else if (groundChar === 'c') patches[x][y] = tileIndex(`soil:${edges(x, y, new Set(['c']))}`)
      else if (groundChar === '*') patches[x][y] = tileIndex(`flowers:${Math.floor(noise(x, y, 3) * 4)}`)
      else if (groundChar === 'H') patches[x][y] = tileIndex(`water:${edges(x, y, WATER_LIKE)}`)

      // Layer 2: details.
      if (ch === 'H') {
        // Water to the north and south: the bridge is crossed east-west.
        const acrossNS = at(x, y - 1) === '~' && at(x, y + 1) === '~'
        details[x][y] = tileIndex(acrossNS ? 'bridge:h' : 'bridge:v')
      } else if (ch === '.') {
        const n = noise(x, y, 4)
        if (n < 0.05) details[x][y] = tileIndex(`tuft:${Math.floor(n * 60)}`)
        else if (n < 0.065) details[x][y] = tileIndex(`pebbles:${Math.floor(noise(x, y, 5) * 2)}`)
        else if (n < 0.07) details[x][y] = tileIndex('mushroom:0')
      }

      // The object layer: everything that blocks.
      if (!entry.blocking) continue
      if (ch === '~') {
        const mask = edges(x, y, WATER_LIKE)
        objects[x][y] = tileIndex(`water:${mask}`)
        if (mask === 0 && noise(x, y, 6) * SPARKLE_EVERY < 1) sprite(x, y, 'gentlesparkle.json')
      } else if (ch === '#') {
        const mask = joined(x, y, new Set(['#']), false)
        const outside = !INDOOR.has(at(x, y + 1) ?? '.')
        const besideDoor = at(x - 1, y) === '+' || at(x + 1, y) === '+'
        const windowed = mask === (E | W) && outside && !besideDoor && noise(x, y, 7) < 0.4
        objects[x][y] = tileIndex(windowed ? `wall:${walls}:window` : `wall:${walls}:${mask}`)
      } else if (ch === 'T') {
        objects[x][y] = tileIndex(`tree:${noise(x, y, 8) < 0.12 ? 2 : noise(x, y, 9) < 0.5 ? 0 : 1}`)
      } else if (ch === 'b') {
        objects[x][y] = tileIndex(`bush:${noise(x, y, 10) < 0.5 ? 0 : 1}`)
      } else if (ch === 'f') {
        objects[x][y] = tileIndex(`fence:${joined(x, y, new Set(['f']), false)}`)
      } else if (ch === 'n') {
        objects[x][y] = tileIndex('bench')
      } else if (ch === 'o') {
        // The part of the 3 × 3 fountain: how many fountain tiles lie to the west and north of this one.
        const col = at(x - 1, y) !== 'o' ? 0 : at(x - 2, y) !== 'o' ? 1 : 2
        const row = at(x, y - 1) !== 'o' ? 0 : at(x, y - 2) !== 'o' ? 1 : 2
        objects[x][y] = tileIndex(`fountain:${row * 3 + col}`)
        if (row === 1 && col === 1) sprite(x, y, 'gentlesparkle.json')
      } else if (ch === 't') {
        const mask = joined(x, y, new Set(['t']), false) & (E | W)
        if (building?.forge === true) {
          // The building's first table is its hearth (AI Town's campfire burns in it), the others anvils.
          const first = !forges.has(building)
          forges.add(building)
          objects[x][y] = tileIndex(first ? 'forge' : 'anvil')
          if (first) sprite(x, y, 'campfire.json')
        } else {
          objects[x][y] = tileIndex(`table:${mask}:${tableItems[Math.floor(noise(x, y, 11) * tableItems.length)]}`)
        }
      } else if (ch === 'k') {
        objects[x][y] = tileIndex(`shelf:${joined(x, y, new Set(['k']), false) & (E | W)}`)
      }
    }
  }
  return {
    width,
    height,
    tileDim: TILE_DIM,
    tileSetUrl: TILESET_URL,
    tileSetDimX: TILESET_DIM_X,
    tileSetDimY: TILESET_DIM_Y,
    bgTiles: [ground, patches, details],
    objectTiles: [objects],
    animatedSprites
  }
}

/** True when (x, y) is inside the map and no layer holds a blocking object there. */
export function isFreeTile (map: GameWorldMap, x: number, y: number): boolean {
  if (!Number.isInteger(x) || !Number.isInteger(y)) return false
  if (x < 0 || y < 0 || x >= map.width || y >= map.height) return false
  return map.objectTiles.every((layer) => layer[x][y] === -1)
}

/** The town, 64 x 48. Legend: see `townLegend`. */
export const townRows: string[] = [
  'TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT~~~TTTTTTTTTTTTTTTTTTTT',
  'T.*....T............,...................s~~~s.........b........T',
  'T...................,....................s~~~s.................T',
  'T.............fffff.,..#############.....s~~~s######...######..T',
  'T...#########.f***f.,..#___________#.Tb..s~~~s#____#...#____#..T',
  'T...#_tt____#.f***f.,..#_t_t___t_t_#.....s~~~s#____#...#____#..T',
  'T...#_______#.f***f.,.*#___________#......s~~~#____#...#____#..T',
  'T...#_____t_#.f***f.,..#__t_____t__#......s~~~#____#...#____#..T',
  'T...#_______#.ff,ff.,..#___________#......s~~~##+###...##+###..T',
  'T...####+####...,...,..######+######*.....s~~~s.,.....*..,.....T',
  'Tb*.....,.......,...,........,............s~~~s.,........,.....T',
  'T.......,.......,...,........,............s~~~s*,........,.....T',
  'T,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,=HHH=,,,,,,,,,,,,,,,,T',
  'T...................,.......*.,...........s~~~s..*..,..........T',
  'T.T.Tb..............,.........,..........s~~~s......,*.........T',
  'T...................,.........,..........s~~~s......,.........TT',
  'T...#########.......,.**===========**....s~~~######.,..######..T',
  'T.*.#_kkkk__#.......,*==n=========n==....s~~~#____#.,..#____#..T',
  'T.b.#_kkkk__#.......,.===============...s~~~s#____+,,..#____#..T',
  'T...#_______+,,,,,,,,.======ooo======...s~~~s#____#.,,,+____#..T',
  'T...#_kkkk__#.......,.======ooo======...s~~~s#____#.,..#____#..T',
  'T...#_kkkk__#.......,.======ooo======..s~~~s.######.,..######..T',
  'T...#########.......,.===============..s~~~s........,..........T',
  'T...*............T..,.==n=========n==..s~~~s........,.......*.bT',
  'T...................,.**===========**.s~~~s.........,........TTT',
  'T.......*...........,.........,.......s~~~s.........,..........T',
  'T,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,s~~~s.........,..........T',
  'T........###+####...,.........,....*..s~~~s.........,..........T',
  'T........#______#...,..###+##.,.......s~~~s.........,..........T',
  'T........#____tt#...,..#____#.,.......s~~~s.........,..........T',
  'T.T......#______#...,..#t__t#.,,,,,,,,=HHH=.,,,,,,,,,,,,,,,,,,,T',
  'T........########...,..#____#.,.......s~~~s.........,..........T',
  'TT..................,..#____#.,.......s~~~s.........,......T...T',
  'T...................,..######.,.#######s~~~s.T....T.,......T...T',
  'T......*..*..b......,.........,.#___t_#s~~~s........,*.........T',
  'T....T...sHss.......,.........,,+_____#s~~~s...fffff,fffffffff.T',
  'T..T..ss~~H~~~ss....,.....T...,.#_____#s~~~s...fcccc,....ccccf.T',
  'T....s~~~~H~~~~~s...,.........,.#___t_#.s~~~s..fcccc,....ccccf.T',
  'T....s~~~~H~~~~~s...,...T.....,.#######.s~~~s..fcccc,....ccccf.T',
  'T...s~~~~~~~~~~~~s..,.T.......,.........s~~~s..fcccc,ccccccccf.T',
  'T....s~~~~~~~~~~s...,.........,..........s~~~s.fcccc,ccccccccf.T',
  'T....s~~~~~~~~~~s...,.......*............s~~~s.fcccc,ccccccccf.T',
  'T.....ss~~~~~~ss....,..T..T..............s~~~s.fcccc,ccccccccf.T',
  'T........ssss.......,....T.....*..........s~~~sfcccc,ccccccccf.T',
  'T...................,..b......b.b.........s~~~sfcccc,ccccccccf.T',
  'T...T.....T.........,.T........T..........s~~~sfffffffffffffff.T',
  'T.................b.,...............T.....s~~~s....*...........T',
  'TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT~~~TTTTTTTTTTTTTTTTTT'
]

/**
 * The plaza (cobbles around the fountain) is a good spawn / gathering area:
 * every tile in this rectangle that `isFreeTile` accepts is walkable.
 */
export const plazaArea = { x: 22, y: 16, width: 15, height: 9 } as const

/** The town's buildings: wall style and floor per bounding box of walls. */
export const townBuildings: Building[] = [
  { name: 'bakery', x: 4, y: 4, width: 9, height: 6, walls: 'brick', floor: 'plank' },
  { name: 'town hall', x: 23, y: 3, width: 13, height: 7, walls: 'stone', floor: 'flagstone' },
  { name: 'north cottage', x: 46, y: 3, width: 6, height: 6, walls: 'timber', floor: 'oak' },
  { name: 'river cottage', x: 55, y: 3, width: 6, height: 6, walls: 'brick', floor: 'plank' },
  { name: 'library', x: 4, y: 16, width: 9, height: 7, walls: 'stone', floor: 'oak' },
  { name: 'mill cottage', x: 45, y: 16, width: 6, height: 6, walls: 'brick', floor: 'oak' },
  { name: 'orchard cottage', x: 55, y: 16, width: 6, height: 6, walls: 'timber', floor: 'plank' },
  { name: 'clinic', x: 9, y: 27, width: 8, height: 5, walls: 'timber', floor: 'flagstone' },
  { name: 'boat workshop', x: 23, y: 28, width: 6, height: 6, walls: 'brick', floor: 'plank' },
  { name: 'smithy', x: 32, y: 33, width: 7, height: 6, walls: 'dark', floor: 'flagstone', forge: true }
]

export const defaultMap: WorldMap = parseAsciiMap(townRows, townLegend, townBuildings)
