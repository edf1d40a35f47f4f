// Canvas drawing: the map as coloured squares (drawn once), then players, conversations and speech.
import type { TileLegend } from '../game/data/map.ts'
import { createCanvas, type Canvas, type Context2D } from './dom.ts'

/** Canvas pixels per tile; CSS scales the canvas to the window. */
export const TILE_PX = 16

export interface ViewerMap {
  width: number
  height: number
  bgTiles: number[][][]
  objectTiles: number[][][]
  legend: TileLegend[]
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

/** Paints every tile layer into an offscreen canvas, once per map. */
export function paintMap (map: ViewerMap): Canvas {
  const canvas = createCanvas()
  canvas.width = map.width * TILE_PX
  canvas.height = map.height * TILE_PX
  const ctx = canvas.getContext('2d')!
  const colors = new Map(map.legend.map((entry) => [entry.index, entry.color]))
  for (const layers of [map.bgTiles, map.objectTiles]) {
    for (const layer of layers) {
      for (let x = 0; x < map.width; x++) {
        for (let y = 0; y < map.height; y++) {
          const tile = layer[x]?.[y] ?? -1
          if (tile < 0) continue
          ctx.fillStyle = colors.get(tile) ?? '#ff00ff'
          ctx.fillRect(x * TILE_PX, y * TILE_PX, TILE_PX, TILE_PX)
        }
      }
    }
  }
  // A faint grid helps a human aim at a tile.
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.06)'
  ctx.lineWidth = 1
  ctx.beginPath()
  for (let x = 0; x <= map.width; x++) { ctx.moveTo(x * TILE_PX + 0.5, 0); ctx.lineTo(x * TILE_PX + 0.5, canvas.height) }
  for (let y = 0; y <= map.height; y++) { ctx.moveTo(0, y * TILE_PX + 0.5); ctx.lineTo(canvas.width, y * TILE_PX + 0.5) }
  ctx.stroke()
  return canvas
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
