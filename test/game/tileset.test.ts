import { test } from 'tap'
import { inflateSync } from 'node:zlib'
import { crc32, encodePng } from '../../src/game/data/png.ts'
import {
  TILE_DIM, TILESET_COLUMNS, TILESET_DIM_X, TILESET_DIM_Y, paintTileset, tileIndex, tileNames, tileOrigin
} from '../../src/game/data/tileset.ts'
import { defaultMap, TILESET_URL } from '../../src/game/data/map.ts'
import { mapForClients, TOWNHALL_ASSETS } from '../../src/game/data/mapView.ts'

interface Chunk { type: string, data: Buffer, crcOk: boolean }

function readChunks (png: Buffer): Chunk[] {
  const chunks: Chunk[] = []
  let at = 8
  while (at < png.length) {
    const length = png.readUInt32BE(at)
    const type = png.toString('latin1', at + 4, at + 8)
    const data = png.subarray(at + 8, at + 8 + length)
    const crcOk = png.readUInt32BE(at + 8 + length) === crc32(png.subarray(at + 4, at + 8 + length))
    chunks.push({ type, data, crcOk })
    at += 12 + length
  }
  return chunks
}

test('crc32 is the CRC-32 PNG and zlib use', async (t) => {
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926)
  t.equal(crc32(new Uint8Array(0)), 0)
  t.equal(crc32(Buffer.from('6789'), crc32(Buffer.from('12345'))), 0xcbf43926, 'chains')
})

test('the tileset PNG is valid and holds exactly the painted pixels', async (t) => {
  const { width, height, rgba } = paintTileset()
  t.same([width, height], [TILESET_DIM_X, TILESET_DIM_Y])
  t.equal(width, TILESET_COLUMNS * TILE_DIM)
  const png = encodePng(width, height, rgba)
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature')
  const chunks = readChunks(png)
  t.same(chunks.map((c) => c.type), ['IHDR', 'IDAT', 'IEND'])
  t.ok(chunks.every((c) => c.crcOk), 'every chunk CRC checks')
  const ihdr = chunks[0].data
  t.same([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[12]], [TILESET_DIM_X, TILESET_DIM_Y, 8, 6, 0], 'IHDR: size, 8-bit RGBA, no interlace')
  const raw = inflateSync(chunks[1].data)
  t.equal(raw.length, (width * 4 + 1) * height)
  let same = true
  for (let y = 0; y < height && same; y++) {
    if (raw[y * (width * 4 + 1)] !== 0) same = false
    if (!raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)).equals(Buffer.from(rgba.subarray(y * width * 4, (y + 1) * width * 4)))) same = false
  }
  t.ok(same, 'decodes to the painted pixels')
  t.throws(() => encodePng(2, 2, new Uint8Array(3)), /expected 16 bytes/)
})

test('the tileset is deterministic and every tile paints something', async (t) => {
  const a = paintTileset()
  const b = paintTileset()
  t.ok(Buffer.from(a.rgba).equals(Buffer.from(b.rgba)), 'same pixels every time')
  const empty: string[] = []
  tileNames.forEach((name, index) => {
    const { x, y } = tileOrigin(index)
    let opaque = 0
    for (let j = 0; j < TILE_DIM; j++) for (let i = 0; i < TILE_DIM; i++) if (a.rgba[((y + j) * a.width + x + i) * 4 + 3] > 0) opaque++
    if (opaque < 8) empty.push(name)
  })
  t.same(empty, [], 'no blank tiles')
  // Ground tiles are opaque: nothing shows through the bottom layer.
  const grass = tileOrigin(tileIndex('grass:0'))
  t.equal(a.rgba[(grass.y * a.width + grass.x) * 4 + 3], 255)
})

test('tile indices follow AI Town\'s row-major rule', async (t) => {
  t.same(tileOrigin(0), { x: 0, y: 0 })
  t.same(tileOrigin(TILESET_COLUMNS - 1), { x: (TILESET_COLUMNS - 1) * TILE_DIM, y: 0 })
  t.same(tileOrigin(TILESET_COLUMNS + 2), { x: 2 * TILE_DIM, y: TILE_DIM })
  t.equal(new Set(tileNames).size, tileNames.length, 'names unique')
  t.equal(tileNames[tileIndex('bench')], 'bench')
  t.throws(() => tileIndex('dragon'), /no tile named/)
  const last = tileOrigin(tileNames.length - 1)
  t.ok(last.x + TILE_DIM <= TILESET_DIM_X && last.y + TILE_DIM <= TILESET_DIM_Y, 'the last tile is inside the sheet')
  for (const layer of [...defaultMap.bgTiles, ...defaultMap.objectTiles]) {
    t.ok(layer.every((col) => col.every((v) => v === -1 || (v >= 0 && v < tileNames.length))), 'the default map only names tiles of the sheet')
  }
})

test('mapForClients makes townhall\'s own asset URLs absolute and leaves others alone', async (t) => {
  const ours = { width: 1, tileSetUrl: TILESET_URL }
  t.ok(TILESET_URL.startsWith(TOWNHALL_ASSETS))
  t.equal(mapForClients(ours, 'https://town.example/').tileSetUrl, `https://town.example${TILESET_URL}`, 'trailing slash dropped')
  t.equal(mapForClients(ours, 'http://localhost:3000').tileSetUrl, `http://localhost:3000${TILESET_URL}`)
  t.equal(ours.tileSetUrl, TILESET_URL, 'the stored map is not mutated')
  const imported = { width: 1, tileSetUrl: '/ai-town/assets/gentle-obj.png' }
  t.equal(mapForClients(imported, 'https://town.example'), imported, 'an imported AI Town map keeps its front-end-relative URL')
  const absolute = { tileSetUrl: 'https://cdn.example/tiles.png' }
  t.equal(mapForClients(absolute, 'https://town.example'), absolute)
  const bare = { width: 1 }
  t.equal(mapForClients(bare, 'https://town.example'), bare, 'no tileSetUrl: unchanged')
})
