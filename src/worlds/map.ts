// A map file in any of the shapes operators bring, checked field by field and turned into the stored map
// (AI Town's serialized world map): townhall's ASCII format, AI Town's serialized map (JSON), or the data
// module AI Town's map converter writes (data/gentle.js: tilesetpath, tiledim, bgtiles, objmap, ...).
import { parseAsciiMap, townLegend, type AnimatedSprite, type Building, type TileLegend, type WorldMap } from '../game/data/map.ts'
import { fail, integer, isRecord, shown, text, WorldFileError } from './validate.ts'

export const MAX_MAP_TILES = 1000

/** Parses a map file's text: JSON, or an AI Town data module (`export const bgtiles = [...]`). */
export function parseMapText (source: string): WorldMap {
  const trimmed = source.trim()
  if (trimmed.startsWith('{')) {
    let value: unknown
    try {
      value = JSON.parse(trimmed)
    } catch (err) {
      fail('map', `expected JSON, got a syntax error: ${(err as Error).message}`)
    }
    return parseMap(value)
  }
  if (/export\s+const\s+/.test(trimmed)) return parseMap(aiTownModule(trimmed))
  fail('map', 'expected a JSON object or an AI Town map module (export const bgtiles = ...)')
}

/** The constants of an AI Town data module, read as data (never evaluated). */
function aiTownModule (source: string): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  const parts = source.split(/export\s+const\s+/).slice(1)
  for (const part of parts) {
    const m = /^([A-Za-z_$][\w$]*)\s*=\s*([\s\S]*)$/.exec(part)
    if (m === null) continue
    const json = m[2]!.trim().replace(/;\s*$/, '')
      .replace(/\/\/[^\n]*$/gm, '')
      .replace(/,(\s*[\]}])/g, '$1')
      .replace(/([{,]\s*)([A-Za-z_$][\w$]*)\s*:/g, '$1"$2":')
    try {
      values[m[1]!] = JSON.parse(json)
    } catch {
      // Derived constants (mapwidth = bgtiles[0].length) are not data; they are recomputed.
    }
  }
  const known = { tilesetpath: 'tileSetUrl', tiledim: 'tileDim', tilesetpxw: 'tileSetDimX', tilesetpxh: 'tileSetDimY', bgtiles: 'bgTiles', objmap: 'objectTiles', animatedsprites: 'animatedSprites' }
  const map: Record<string, unknown> = {}
  for (const [from, to] of Object.entries(known)) if (from in values) map[to] = values[from]
  return map
}

/** Checks a parsed map (townhall's `{ rows, legend?, buildings? }` or AI Town's serialized map). */
export function parseMap (value: unknown): WorldMap {
  if (!isRecord(value)) fail('map', `expected an object, got ${shown(value)}`)
  if ('rows' in value) return asciiMap(value)
  return serializedMap(value)
}

function asciiMap (value: Record<string, unknown>): WorldMap {
  const rows = value.rows
  if (!Array.isArray(rows) || rows.length === 0) fail('map.rows', `expected a non-empty array of strings, got ${shown(rows)}`)
  if (rows.length > MAX_MAP_TILES) fail('map.rows', `expected at most ${MAX_MAP_TILES} rows, got ${rows.length}`)
  rows.forEach((row: unknown, y) => {
    if (typeof row !== 'string' || row.length === 0 || row.length > MAX_MAP_TILES) fail(`map.rows[${y}]`, `expected a string of 1 to ${MAX_MAP_TILES} tiles, got ${shown(row)}`)
  })
  const legend = value.legend === undefined ? townLegend : legendOf(value.legend)
  const buildings = value.buildings === undefined ? [] : value.buildings
  if (!Array.isArray(buildings)) fail('map.buildings', `expected an array, got ${shown(buildings)}`)
  let map: WorldMap
  try {
    map = parseAsciiMap(rows as string[], legend, buildings as Building[])
  } catch (err) {
    if (err instanceof WorldFileError) throw err
    fail('map.rows', (err as Error).message)
  }
  requireFreeTile(map)
  return map
}

function legendOf (value: unknown): TileLegend[] {
  if (!Array.isArray(value)) fail('map.legend', `expected an array of { char, name, blocking }, got ${shown(value)}`)
  return value.map((entry: unknown, i) => {
    const at = `map.legend[${i}]`
    if (!isRecord(entry)) fail(at, `expected { char, name, blocking }, got ${shown(entry)}`)
    if (typeof entry.char !== 'string' || entry.char.length !== 1) fail(`${at}.char`, `expected one character, got ${shown(entry.char)}`)
    if (typeof entry.blocking !== 'boolean') fail(`${at}.blocking`, `expected true or false, got ${shown(entry.blocking)}`)
    return { char: entry.char, name: text(entry.name, `${at}.name`, 64), blocking: entry.blocking, ...(typeof entry.under === 'string' ? { under: entry.under } : {}) }
  })
}

function serializedMap (value: Record<string, unknown>): WorldMap {
  const tileDim = integer(value.tileDim, 'map.tileDim', 1, 1024)
  const tileSetUrl = text(value.tileSetUrl, 'map.tileSetUrl', 2000)
  const tileSetDimX = integer(value.tileSetDimX, 'map.tileSetDimX', tileDim, 1 << 16)
  const tileSetDimY = integer(value.tileSetDimY, 'map.tileSetDimY', tileDim, 1 << 16)
  const tiles = Math.floor(tileSetDimX / tileDim) * Math.floor(tileSetDimY / tileDim)
  const bgTiles = layers(value.bgTiles, 'map.bgTiles', tiles)
  const width = bgTiles[0]!.length
  const height = bgTiles[0]![0]!.length
  if (value.width !== undefined && value.width !== width) fail('map.width', `expected ${width} (the columns of bgTiles[0]), got ${shown(value.width)}`)
  if (value.height !== undefined && value.height !== height) fail('map.height', `expected ${height} (the rows of bgTiles[0][0]), got ${shown(value.height)}`)
  const objectTiles = layers(value.objectTiles, 'map.objectTiles', tiles, width, height)
  bgTiles.forEach((layer, l) => { sameSize(layer, `map.bgTiles[${l}]`, width, height) })
  const sprites = value.animatedSprites ?? []
  if (!Array.isArray(sprites)) fail('map.animatedSprites', `expected an array, got ${shown(sprites)}`)
  const animatedSprites = sprites.map((s: unknown, i): AnimatedSprite => {
    const at = `map.animatedSprites[${i}]`
    if (!isRecord(s)) fail(at, `expected { x, y, w, h, layer, sheet, animation }, got ${shown(s)}`)
    return {
      x: integer(s.x, `${at}.x`, 0, width * tileDim),
      y: integer(s.y, `${at}.y`, 0, height * tileDim),
      w: integer(s.w, `${at}.w`, 1, 1 << 16),
      h: integer(s.h, `${at}.h`, 1, 1 << 16),
      layer: integer(s.layer, `${at}.layer`, 0, 64),
      sheet: text(s.sheet, `${at}.sheet`, 200),
      animation: text(s.animation, `${at}.animation`, 200)
    }
  })
  const map: WorldMap = { width, height, tileDim, tileSetUrl, tileSetDimX, tileSetDimY, bgTiles, objectTiles, animatedSprites }
  requireFreeTile(map)
  return map
}

/** `[layer][x][y]` tile indices from -1 (none) to the tileset's last tile. */
function layers (value: unknown, field: string, tiles: number, width?: number, height?: number): number[][][] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 16) fail(field, `expected 1 to 16 layers ([layer][x][y] tile indices), got ${shown(value)}`)
  return value.map((layer: unknown, l) => {
    const at = `${field}[${l}]`
    if (!Array.isArray(layer) || layer.length === 0 || layer.length > MAX_MAP_TILES) fail(at, `expected 1 to ${MAX_MAP_TILES} columns, got ${shown(layer)}`)
    if (width !== undefined) sameSize(layer, at, width, height!)
    return layer.map((column: unknown, x) => {
      if (!Array.isArray(column) || column.length === 0 || column.length > MAX_MAP_TILES) fail(`${at}[${x}]`, `expected a column of 1 to ${MAX_MAP_TILES} tiles, got ${shown(column)}`)
      return column.map((tile: unknown, y) => integer(tile, `${at}[${x}][${y}]`, -1, tiles - 1))
    })
  })
}

function sameSize (layer: unknown[], at: string, width: number, height: number): void {
  if (layer.length !== width) fail(at, `expected ${width} columns (as bgTiles[0]), got ${layer.length}`)
  layer.forEach((column, x) => {
    if ((column as unknown[]).length !== height) fail(`${at}[${x}]`, `expected ${height} tiles (as bgTiles[0][0]), got ${(column as unknown[]).length}`)
  })
}

function requireFreeTile (map: WorldMap): void {
  for (let x = 0; x < map.width; x++) {
    for (let y = 0; y < map.height; y++) {
      if (map.objectTiles.every((layer) => layer[x]?.[y] === -1)) return
    }
  }
  fail('map.objectTiles', 'expected at least one free tile (-1 in every object layer) for players to stand on')
}
