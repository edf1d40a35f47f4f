/**
 * The default town of townhall: "Brackenford", a small river town.
 *
 * The map is authored as ASCII art below, one character per tile, and turned
 * into the engine's tile arrays by `parseAsciiMap`. No third-party tileset is
 * involved: every tile kind has a plain colour in the legend so a viewer can
 * draw the town as coloured squares.
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

export interface TileLegend {
  /** Tile index used in `bgTiles` / `objectTiles`. */
  index: number
  name: string
  /** Display colour, `#rrggbb`. */
  color: string
  /** Blocking tiles are written to `objectTiles`; free cells there are -1. */
  blocking: boolean
  /** The single character that stands for this tile in the ASCII rows. */
  char: string
  /**
   * For blocking tiles: the ground character drawn beneath the object in the
   * background layer (defaults to grass). Ignored for walkable tiles.
   */
  under?: string
}

/** The game's map (`bgTiles`/`objectTiles` as `[layer][x][y]`, -1 = free) with the legend a viewer draws from. */
export interface WorldMap extends GameWorldMap {
  legend: TileLegend[]
}

export const TILE_DIM = 32

/** Legend of the default town. Indices are the array positions. */
export const townLegend: TileLegend[] = [
  { index: 0, char: '.', name: 'grass', color: '#6fbf4a', blocking: false },
  { index: 1, char: ',', name: 'dirt path', color: '#c8a165', blocking: false },
  { index: 2, char: '=', name: 'cobblestone', color: '#a7a39b', blocking: false },
  { index: 3, char: '_', name: 'wooden floor', color: '#d9b38c', blocking: false },
  { index: 4, char: '+', name: 'doorway', color: '#8b5a2b', blocking: false },
  { index: 5, char: 'H', name: 'bridge planks', color: '#9c6b3c', blocking: false },
  { index: 6, char: '*', name: 'flower bed', color: '#e58fd3', blocking: false },
  { index: 7, char: 's', name: 'sand', color: '#e8d9a0', blocking: false },
  { index: 8, char: 'c', name: 'crop rows', color: '#b5c95a', blocking: false },
  { index: 9, char: '~', name: 'water', color: '#3a7bd5', blocking: true, under: '~' },
  { index: 10, char: '#', name: 'wall', color: '#5b4636', blocking: true, under: '_' },
  { index: 11, char: 'T', name: 'tree', color: '#2e6b2e', blocking: true },
  { index: 12, char: 'b', name: 'bush', color: '#4f9a3a', blocking: true },
  { index: 13, char: 'n', name: 'bench', color: '#a0522d', blocking: true, under: '=' },
  { index: 14, char: 'f', name: 'fence', color: '#8d6e4f', blocking: true },
  { index: 15, char: 'o', name: 'fountain', color: '#7fc8f0', blocking: true, under: '=' },
  { index: 16, char: 't', name: 'table', color: '#7a5230', blocking: true, under: '_' },
  { index: 17, char: 'k', name: 'bookshelf', color: '#6b3e26', blocking: true, under: '_' }
]

/**
 * Convert ASCII rows (row = y, column = x) into the engine's map shape.
 * One background layer and one object layer; both indexed `[layer][x][y]`.
 * Throws on an empty map, ragged rows, or a character missing from the legend.
 */
export function parseAsciiMap (rows: string[], legend: TileLegend[], tileDim: number = TILE_DIM): WorldMap {
  if (rows.length === 0 || rows[0].length === 0) throw new Error('map has no rows')
  const height = rows.length
  const width = rows[0].length
  const byChar = new Map<string, TileLegend>()
  for (const entry of legend) {
    if (entry.char.length !== 1) throw new Error(`legend entry "${entry.name}" must use exactly one character`)
    if (byChar.has(entry.char)) throw new Error(`legend character "${entry.char}" is used twice`)
    byChar.set(entry.char, entry)
  }
  const ground: number[][] = []
  const objects: number[][] = []
  for (let x = 0; x < width; x++) {
    ground.push(new Array<number>(height).fill(0))
    objects.push(new Array<number>(height).fill(-1))
  }
  rows.forEach((row, y) => {
    if (row.length !== width) throw new Error(`row ${y} has ${row.length} tiles, expected ${width}`)
    for (let x = 0; x < width; x++) {
      const ch = row[x]
      const entry = byChar.get(ch)
      if (entry === undefined) throw new Error(`unknown map character "${ch}" at (${x}, ${y})`)
      if (entry.blocking) {
        const under = byChar.get(entry.under ?? '.')
        if (under === undefined) throw new Error(`legend entry "${entry.name}" has an unknown ground "${entry.under ?? '.'}"`)
        ground[x][y] = under.index
        objects[x][y] = entry.index
      } else {
        ground[x][y] = entry.index
      }
    }
  })
  return { width, height, tileDim, bgTiles: [ground], objectTiles: [objects], legend }
}

/** True when (x, y) is inside the map and no layer holds a blocking object there. */
export function isFreeTile (map: WorldMap, x: number, y: number): boolean {
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

export const defaultMap: WorldMap = parseAsciiMap(townRows, townLegend)
