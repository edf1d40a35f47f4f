// Canvas drawing: the map from its tileset image (drawn once), then players, conversations and speech.
import { TOWNHALL_ASSETS } from '../game/data/mapView.ts'
import { browser, createCanvas, type Canvas, type Context2D } from './dom.ts'

/** Canvas pixels per tile; CSS scales the canvas to the window. */
export const TILE_PX = 16

/** The map as world:gameDescriptions sends it: AI Town's serialized world map. */
export interface ViewerMap {
  width: number
  height: number
  tileDim: number
  tileSetUrl: string
  tileSetDimX: number
  tileSetDimY: number
  bgTiles: number[][][]
  objectTiles: number[][][]
}

/** A loaded tileset image (an HTMLImageElement in the browser). */
export interface TileImage {
  width: number
  height: number
  src: string
  onload: (() => void) | null
  onerror: (() => void) | null
}

/** The drawing calls paintMap needs beyond dom.ts's Context2D. */
interface TileContext {
  imageSmoothingEnabled: boolean
  drawImage (image: TileImage, sx: number, sy: number, sw: number, sh: number, dx: number, dy: number, dw: number, dh: number): void
}

export interface DrawnPlayer {
  id: string
  x: number
  y: number
  dx: number
  dy: number
  name: string
  color: string
  isMe: boolean
  emoji?: string
}

export interface DrawnConversation {
  a: DrawnPlayer
  b: DrawnPlayer
  participating: boolean
  typing?: DrawnPlayer
}

export interface Speech { speaker: DrawnPlayer, text: string }

export interface Scene {
  players: DrawnPlayer[]
  conversations: DrawnConversation[]
  speech: Speech[]
  selected: string | null
}

/**
 * Where the viewer loads a tileset from. It is townhall's own page, so townhall's own assets come from the
 * page's origin whatever PUBLIC_URL says; any other URL (an imported AI Town map's) resolves against the page.
 */
export function tilesetSource (tileSetUrl: string, pageUrl: string): string {
  const url = new URL(tileSetUrl, pageUrl)
  return url.pathname.startsWith(TOWNHALL_ASSETS) ? `${url.pathname}${url.search}` : url.href
}

/**
 * Paints the map into an offscreen canvas, once per map: at once a plain sketch (free ground and
 * blocking tiles), then, when the tileset image has loaded, every layer drawn tile by tile from it.
 * The canvas is returned straight away and fills in by itself.
 */
export function paintMap (map: ViewerMap): Canvas {
  const canvas = createCanvas()
  canvas.width = map.width * TILE_PX
  canvas.height = map.height * TILE_PX
  const ctx = canvas.getContext('2d')!
  paintSketch(ctx, map)
  if (map.tileSetUrl !== '') {
    const image = new (browser as unknown as { Image: new () => TileImage }).Image()
    image.onload = () => { paintTiles(ctx, map, image) }
    // A tileset that does not load (an imported map pointing into AI Town's own front end) leaves the sketch.
    image.onerror = () => { console.warn('townhall viewer: the tileset did not load', map.tileSetUrl) }
    image.src = tilesetSource(map.tileSetUrl, browser.location.href)
  }
  return canvas
}

/** Free tiles green, blocking ones dark: the map before (or without) its tileset. */
function paintSketch (ctx: Context2D, map: ViewerMap): void {
  for (let x = 0; x < map.width; x++) {
    for (let y = 0; y < map.height; y++) {
      ctx.fillStyle = map.objectTiles.some((layer) => (layer[x]?.[y] ?? -1) !== -1) ? '#3d4a3a' : '#6aad4c'
      ctx.fillRect(x * TILE_PX, y * TILE_PX, TILE_PX, TILE_PX)
    }
  }
}

/**
 * Draws every background layer, then every object layer, from the tileset as AI Town's renderer does:
 * tile i is the tileDim square at column i % ⌊tileSetDimX / tileDim⌋, row ⌊i / that⌋; -1 draws nothing.
 */
export function paintTiles (ctx: Context2D, map: ViewerMap, image: TileImage): void {
  const tiles = ctx as unknown as TileContext
  const columns = Math.floor(map.tileSetDimX / map.tileDim)
  const d = map.tileDim
  tiles.imageSmoothingEnabled = true
  for (const layer of [...map.bgTiles, ...map.objectTiles]) {
    for (let x = 0; x < map.width; x++) {
      for (let y = 0; y < map.height; y++) {
        const tile = layer[x]?.[y] ?? -1
        if (tile < 0) continue
        tiles.drawImage(image, (tile % columns) * d, Math.floor(tile / columns) * d, d, d, x * TILE_PX, y * TILE_PX, TILE_PX, TILE_PX)
      }
    }
  }
  // A faint grid helps a human aim at a tile.
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.05)'
  ctx.lineWidth = 1
  ctx.beginPath()
  for (let x = 0; x <= map.width; x++) { ctx.moveTo(x * TILE_PX + 0.5, 0); ctx.lineTo(x * TILE_PX + 0.5, map.height * TILE_PX) }
  for (let y = 0; y <= map.height; y++) { ctx.moveTo(0, y * TILE_PX + 0.5); ctx.lineTo(map.width * TILE_PX, y * TILE_PX + 0.5) }
  ctx.stroke()
}

/** Centre of a tile-space position in canvas pixels (positions name tile centres). */
const px = (v: number): number => (v + 0.5) * TILE_PX

export function drawScene (ctx: Context2D, mapCanvas: Canvas, scene: Scene): void {
  ctx.drawImage(mapCanvas, 0, 0)
  for (const c of scene.conversations) {
    ctx.save()
    ctx.strokeStyle = c.participating ? 'rgba(255, 255, 255, 0.9)' : 'rgba(255, 255, 255, 0.6)'
    ctx.lineWidth = 2
    if (!c.participating) ctx.setLineDash([4, 4])
    ctx.beginPath()
    ctx.moveTo(px(c.a.x), px(c.a.y))
    ctx.lineTo(px(c.b.x), px(c.b.y))
    ctx.stroke()
    ctx.restore()
    if (c.typing !== undefined) bubble(ctx, c.typing, '…', 'rgba(255, 255, 255, 0.8)')
  }
  for (const p of scene.players) drawPlayer(ctx, p, p.id === scene.selected)
  for (const s of scene.speech) bubble(ctx, s.speaker, s.text, '#ffffff')
}

function drawPlayer (ctx: Context2D, p: DrawnPlayer, selected: boolean): void {
  const cx = px(p.x)
  const cy = px(p.y)
  const r = TILE_PX * 0.42
  ctx.beginPath()
  ctx.arc(cx, cy, r, 0, Math.PI * 2)
  ctx.fillStyle = p.color
  ctx.fill()
  ctx.lineWidth = p.isMe || selected ? 3 : 1.5
  ctx.strokeStyle = p.isMe ? '#ffffff' : selected ? '#ffe14d' : 'rgba(0, 0, 0, 0.7)'
  ctx.stroke()
  // A short tick shows which way the player faces.
  ctx.beginPath()
  ctx.moveTo(cx, cy)
  ctx.lineTo(cx + p.dx * r, cy + p.dy * r)
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.8)'
  ctx.lineWidth = 1.5
  ctx.stroke()
  const label = p.emoji !== undefined ? `${p.emoji} ${p.name}` : p.name
  ctx.font = '11px system-ui, sans-serif'
  ctx.textAlign = 'center'
  ctx.textBaseline = 'top'
  ctx.lineWidth = 3
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.75)'
  ctx.strokeText(label, cx, cy + r + 2)
  ctx.fillStyle = '#ffffff'
  ctx.fillText(label, cx, cy + r + 2)
}

function bubble (ctx: Context2D, p: DrawnPlayer, text: string, fill: string): void {
  const line = text.length > 60 ? `${text.slice(0, 57)}…` : text
  ctx.font = '11px system-ui, sans-serif'
  const w = ctx.measureText(line).width + 10
  const h = 16
  const x = Math.max(2, Math.min(ctx.canvas.width - w - 2, px(p.x) - w / 2))
  const y = Math.max(2, px(p.y) - TILE_PX * 0.5 - h - 6)
  ctx.fillStyle = fill
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.6)'
  ctx.lineWidth = 1
  ctx.beginPath()
  ctx.roundRect(x, y, w, h, 5)
  ctx.fill()
  ctx.stroke()
  ctx.fillStyle = '#222222'
  ctx.textAlign = 'left'
  ctx.textBaseline = 'middle'
  ctx.fillText(line, x + 5, y + h / 2 + 0.5)
}
