// Townhall's own tileset: every tile of the default town drawn in code (deterministic pixel art), laid out
// as AI Town's renderer reads a sheet: tile i sits at column i % TILESET_COLUMNS, row ⌊i / TILESET_COLUMNS⌋.
// Pure: no I/O; png.ts turns the pixels into a file.
import { fmix32, hashString } from '../../hash.ts'

export const TILE_DIM = 32
export const TILESET_COLUMNS = 16

/** Neighbour bits of a tile's mask, clockwise from north. */
export const N = 1
export const E = 2
export const S = 4
export const W = 8

export type WallStyle = 'brick' | 'stone' | 'timber' | 'dark'
export type FloorStyle = 'plank' | 'oak' | 'flagstone'
export const wallStyles: readonly WallStyle[] = ['brick', 'stone', 'timber', 'dark']
export const floorStyles: readonly FloorStyle[] = ['plank', 'oak', 'flagstone']
export const tableItems = ['none', 'bread', 'mug'] as const

type Rgba = readonly [number, number, number, number]

/** Writes one tile's pixels; coordinates are tile-local (0..31), drawing outside them is clipped. */
interface Pen {
  /** Paints over what is there (alpha-blended). */
  dot: (x: number, y: number, color: Rgba) => void
  rect: (x: number, y: number, w: number, h: number, color: Rgba) => void
  disc: (cx: number, cy: number, r: number, color: Rgba) => void
  /** Deterministic noise in [0, 1) for this tile. */
  noise: (x: number, y: number, salt?: number) => number
}

type Draw = (pen: Pen) => void

interface TileSpec { name: string, draw: Draw }

// ---- colour ----------------------------------------------------------------------------

function hex (value: string, alpha = 255): Rgba {
  const n = Number.parseInt(value.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255, alpha]
}

function shade (c: Rgba, f: number): Rgba {
  const k = (v: number): number => Math.max(0, Math.min(255, Math.round(v * f)))
  return [k(c[0]), k(c[1]), k(c[2]), c[3]]
}

const C = {
  grass: hex('#6aad4c'),
  grassDark: hex('#5a9a40'),
  grassLight: hex('#7fc25d'),
  blade: hex('#4c8a37'),
  dirt: hex('#c8a46e'),
  dirtDark: hex('#ad8955'),
  dirtLight: hex('#dbbb88'),
  dirtEdge: hex('#9c7a48'),
  sand: hex('#e5d196'),
  sandDark: hex('#d2bb7d'),
  sandLight: hex('#f1e2b0'),
  sandEdge: hex('#c9b274'),
  stone: hex('#b3ada2'),
  stoneLight: hex('#cdc7bb'),
  stoneDark: hex('#8c867c'),
  mortar: hex('#7a756c'),
  soil: hex('#7b5234'),
  soilDark: hex('#5f3d25'),
  soilEdge: hex('#5a3a22'),
  leaf: hex('#5fae3e'),
  leafLight: hex('#86cf58'),
  water: hex('#3f82d2'),
  waterDeep: hex('#366fc0'),
  waterLight: hex('#6aa8e8'),
  foam: hex('#cfeaf7'),
  wood: hex('#a0703f'),
  woodLight: hex('#bd8a52'),
  woodDark: hex('#5e3b1e'),
  plank: hex('#c89b67'),
  plankAlt: hex('#bd8f5c'),
  plankSeam: hex('#8f6a43'),
  oak: hex('#a87a4c'),
  oakAlt: hex('#9c6f43'),
  oakSeam: hex('#6e4c2c'),
  flag: hex('#cbc3b2'),
  flagAlt: hex('#bfb6a3'),
  flagSeam: hex('#9d9482'),
  shadow: [20, 30, 20, 70] as Rgba,
  outline: hex('#2b2620'),
  trunk: hex('#6b4a2f'),
  glass: hex('#8ec5e8'),
  glassLight: hex('#d6eefa'),
  ember: hex('#f08a24'),
  emberHot: hex('#ffd45a'),
  iron: hex('#4a4e55'),
  ironLight: hex('#7c828c')
}

interface WallColors { cap: Rgba, capLight: Rgba, face: Rgba, faceAlt: Rgba, mortar: Rgba, beam?: Rgba }

const wallColors: Record<WallStyle, WallColors> = {
  brick: { cap: hex('#6b3b2a'), capLight: hex('#85503a'), face: hex('#b5593f'), faceAlt: hex('#a34d36'), mortar: hex('#d8c2a8') },
  stone: { cap: hex('#4f5a6a'), capLight: hex('#667385'), face: hex('#aaa69e'), faceAlt: hex('#98948b'), mortar: hex('#6e6a64') },
  timber: { cap: hex('#7c4a2e'), capLight: hex('#955d3b'), face: hex('#eadfc6'), faceAlt: hex('#e0d3b6'), mortar: hex('#cfc1a1'), beam: hex('#6b4a2f') },
  dark: { cap: hex('#383232'), capLight: hex('#4c4545'), face: hex('#6a6460'), faceAlt: hex('#5d5753'), mortar: hex('#3f3a37') }
}

// ---- shared pieces -----------------------------------------------------------------------

function grassTexture (pen: Pen, variant: number): void {
  pen.rect(0, 0, TILE_DIM, TILE_DIM, C.grass)
  for (let y = 0; y < TILE_DIM; y++) {
    for (let x = 0; x < TILE_DIM; x++) {
      const n = pen.noise(x, y)
      if (n < 0.07) pen.dot(x, y, C.grassDark)
      else if (n > 0.955) pen.dot(x, y, C.grassLight)
    }
  }
  // A few blades: two-pixel strokes with a lighter tip.
  const blades = 5 + variant * 2
  for (let i = 0; i < blades; i++) {
    const x = Math.floor(pen.noise(i, 1, 7) * 30) + 1
    const y = Math.floor(pen.noise(i, 2, 7) * 28) + 2
    pen.dot(x, y, C.blade)
    pen.dot(x, y - 1, C.blade)
    pen.dot(x + 1, y - 2, C.grassLight)
  }
}

/**
 * How far (in pixels) a point lies inside a terrain patch whose edges are on the `mask` sides;
 * corners between two edges are rounded, and each side is jagged by a little noise.
 */
function depthInside (pen: Pen, x: number, y: number, mask: number): number {
  const R = 7
  const jag = (side: number, along: number): number => 1 + Math.floor(pen.noise(side, along >> 1, 31) * 2.4)
  let depth = Infinity
  if ((mask & N) !== 0) depth = Math.min(depth, y - jag(N, x))
  if ((mask & S) !== 0) depth = Math.min(depth, TILE_DIM - 1 - y - jag(S, x))
  if ((mask & W) !== 0) depth = Math.min(depth, x - jag(W, y))
  if ((mask & E) !== 0) depth = Math.min(depth, TILE_DIM - 1 - x - jag(E, y))
  const corner = (vertical: number, horizontal: number, cx: number, cy: number, inX: boolean, inY: boolean): void => {
    if ((mask & vertical) === 0 || (mask & horizontal) === 0 || !inX || !inY) return
    depth = Math.min(depth, R + 1 - Math.hypot(x - cx, y - cy) - 1)
  }
  corner(N, W, R, R, x < R, y < R)
  corner(N, E, TILE_DIM - 1 - R, R, x > TILE_DIM - 1 - R, y < R)
  corner(S, W, R, TILE_DIM - 1 - R, x < R, y > TILE_DIM - 1 - R)
  corner(S, E, TILE_DIM - 1 - R, TILE_DIM - 1 - R, x > TILE_DIM - 1 - R, y > TILE_DIM - 1 - R)
  return depth
}

/** A ground patch with soft, transparent edges on the `mask` sides, so the layer beneath shows through. */
function terrain (pen: Pen, mask: number, texture: (x: number, y: number) => Rgba, edge: Rgba): void {
  for (let y = 0; y < TILE_DIM; y++) {
    for (let x = 0; x < TILE_DIM; x++) {
      const depth = depthInside(pen, x, y, mask)
      if (depth < 0) continue
      pen.dot(x, y, depth < 1 ? edge : texture(x, y))
    }
  }
}

function speckled (pen: Pen, base: Rgba, dark: Rgba, light: Rgba, rate = 0.08): (x: number, y: number) => Rgba {
  return (x, y) => {
    const n = pen.noise(x, y, 3)
    return n < rate ? dark : n > 1 - rate * 0.6 ? light : base
  }
}

function cobbleTexture (pen: Pen): (x: number, y: number) => Rgba {
  // Rows of 8 px; stones 8 px wide, every other row offset by half a stone.
  return (x, y) => {
    const row = y >> 3
    const sx = (x + (row % 2) * 4) & 31
    const ly = y & 7
    const lx = sx & 7
    if (ly === 7 || lx === 7) return C.mortar
    const stone = pen.noise(sx >> 3, row, 11)
    const base = stone < 0.33 ? C.stone : stone < 0.66 ? shade(C.stone, 0.94) : shade(C.stone, 1.05)
    if (ly === 0 || lx === 0) return C.stoneLight
    if (ly === 6 || lx === 6) return C.stoneDark
    return base
  }
}

function soilTexture (pen: Pen): (x: number, y: number) => Rgba {
  // Furrows every 8 px with a row of leafy crops on each ridge.
  return (x, y) => {
    const ly = y & 7
    if (ly === 7) return C.soilDark
    const px = (x + (y >> 3) * 3) % 8
    const leaf = (ly >= 1 && ly <= 4 && px >= 1 && px <= 5 && Math.abs(px - 3) + Math.abs(ly - 2.5) < 3.2)
    if (leaf) return ly <= 2 && px <= 3 ? C.leafLight : C.leaf
    if (ly === 5 && px === 3) return C.blade
    return pen.noise(x, y, 5) < 0.1 ? C.soilDark : C.soil
  }
}

function waterTexture (pen: Pen): (x: number, y: number) => Rgba {
  return (x, y) => {
    // Short horizontal ripples, placed by noise on a coarse grid so they read as waves, not grain.
    const cell = pen.noise(x >> 3, y >> 2, 13)
    const lx = x & 7
    if ((y & 3) === 1 && cell < 0.35 && lx > 1 && lx < 6) return C.waterLight
    if ((y & 3) === 2 && cell > 0.8 && lx > 2 && lx < 7) return C.waterDeep
    return C.water
  }
}

function shadowEllipse (pen: Pen, cx: number, cy: number, rx: number, ry: number): void {
  for (let y = Math.floor(cy - ry); y <= cy + ry; y++) {
    for (let x = Math.floor(cx - rx); x <= cx + rx; x++) {
      if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) pen.dot(x, y, C.shadow)
    }
  }
}

/** A shaded round blob (canopy, bush): outline, body, light from the upper left. */
function blob (pen: Pen, cx: number, cy: number, r: number, body: Rgba, salt: number): void {
  const light = shade(body, 1.22)
  const dark = shade(body, 0.78)
  for (let y = Math.floor(cy - r - 1); y <= cy + r + 1; y++) {
    for (let x = Math.floor(cx - r - 1); x <= cx + r + 1; x++) {
      // A lumpy rim: the radius wobbles with the angle.
      const angle = Math.atan2(y - cy, x - cx)
      const wobble = 1 + 0.09 * Math.sin(angle * 5 + salt)
      const d = Math.hypot(x - cx, y - cy) / (r * wobble)
      if (d > 1.07) continue
      if (d > 0.97) { pen.dot(x, y, shade(body, 0.45)); continue }
      const lightness = ((x - cx) + (y - cy)) / (2 * r)
      const n = pen.noise(x >> 1, y >> 1, salt)
      let c = body
      if (lightness < -0.35 && n > 0.3) c = light
      else if (lightness > 0.3 && n > 0.25) c = dark
      else if (n > 0.9) c = light
      else if (n < 0.08) c = dark
      pen.dot(x, y, c)
    }
  }
}

// ---- tiles --------------------------------------------------------------------------------

function grassTile (variant: number): Draw {
  return (pen) => grassTexture(pen, variant)
}

function floorTile (style: FloorStyle, variant: number): Draw {
  return (pen) => {
    if (style === 'flagstone') {
      for (let y = 0; y < TILE_DIM; y++) {
        for (let x = 0; x < TILE_DIM; x++) {
          const slab = pen.noise(x >> 4, y >> 4, variant)
          const seam = (x & 15) === 15 || (y & 15) === 15
          pen.dot(x, y, seam ? C.flagSeam : slab < 0.5 ? C.flag : C.flagAlt)
          if (!seam && pen.noise(x, y, 9) < 0.04) pen.dot(x, y, C.flagSeam)
        }
      }
      return
    }
    const [a, b, seamColor] = style === 'plank' ? [C.plank, C.plankAlt, C.plankSeam] : [C.oak, C.oakAlt, C.oakSeam]
    for (let row = 0; row < 4; row++) {
      const joint = 4 + Math.floor(pen.noise(row, variant, 17) * 24)
      for (let y = row * 8; y < row * 8 + 8; y++) {
        for (let x = 0; x < TILE_DIM; x++) {
          const seam = y === row * 8 + 7 || x === joint
          const grain = pen.noise(x >> 2, y, 19) < 0.12
          pen.dot(x, y, seam ? seamColor : grain ? shade(row % 2 === 0 ? a : b, 0.93) : row % 2 === 0 ? a : b)
        }
      }
      pen.dot(joint - 2, row * 8 + 3, seamColor)
      pen.dot(joint + 2, row * 8 + 3, seamColor)
    }
  }
}

const pathTile = (mask: number): Draw => (pen) => terrain(pen, mask, speckled(pen, C.dirt, C.dirtDark, C.dirtLight), C.dirtEdge)
const sandTile = (mask: number): Draw => (pen) => terrain(pen, mask, speckled(pen, C.sand, C.sandDark, C.sandLight, 0.06), C.sandEdge)
const cobbleTile = (mask: number): Draw => (pen) => terrain(pen, mask, cobbleTexture(pen), C.stoneDark)
const soilTile = (mask: number): Draw => (pen) => terrain(pen, mask, soilTexture(pen), C.soilEdge)

function waterTile (mask: number): Draw {
  return (pen) => {
    const texture = waterTexture(pen)
    for (let y = 0; y < TILE_DIM; y++) {
      for (let x = 0; x < TILE_DIM; x++) {
        const depth = depthInside(pen, x, y, mask)
        if (depth < 0) continue
        // Foam on the shore line, then a lighter shallow band.
        pen.dot(x, y, depth < 1 ? C.foam : depth < 3 ? C.waterLight : texture(x, y))
      }
    }
  }
}

const FLOWER_COLORS = [hex('#e8566c'), hex('#f5c542'), hex('#f2f2f2'), hex('#b36be0'), hex('#ff8fc8'), hex('#ff9a3c')]

function flowersTile (variant: number): Draw {
  return (pen) => {
    // Clumps on a 3 × 3 grid, each nudged by noise: full beds without gaps or pile-ups.
    for (let i = 0; i < 9; i++) {
      const x = 5 + (i % 3) * 10 + Math.floor(pen.noise(i, 0, 23) * 5) - 2
      const y = 5 + Math.floor(i / 3) * 10 + Math.floor(pen.noise(i, 1, 23) * 5) - 2
      const color = FLOWER_COLORS[(variant + Math.floor(pen.noise(i, 2, 23) * 3)) % FLOWER_COLORS.length]
      pen.rect(x - 3, y + 2, 2, 2, C.leaf)
      pen.rect(x + 2, y + 2, 2, 2, C.blade)
      pen.rect(x - 1, y - 2, 3, 5, color)
      pen.rect(x - 2, y - 1, 5, 3, color)
      pen.dot(x - 1, y - 2, shade(color, 1.2))
      pen.dot(x, y, C.emberHot)
    }
  }
}

function detailTile (kind: 'tuft' | 'pebbles' | 'mushroom', variant: number): Draw {
  return (pen) => {
    const ox = 8 + Math.floor(pen.noise(variant, 0, 29) * 14)
    const oy = 10 + Math.floor(pen.noise(variant, 1, 29) * 12)
    if (kind === 'tuft') {
      for (const [dx, h] of [[0, 4], [2, 6], [4, 5], [6, 3], [3, 3]]) {
        for (let k = 0; k < h; k++) pen.dot(ox + dx + (k > 3 ? 1 : 0), oy - k, k === h - 1 ? C.grassLight : C.blade)
      }
    } else if (kind === 'pebbles') {
      for (const [dx, dy, r] of [[0, 0, 2], [5, 2, 1.5], [2, 5, 1.2]]) {
        pen.disc(ox + dx, oy + dy, r, C.stoneDark)
        pen.disc(ox + dx - 0.5, oy + dy - 0.5, r - 0.8, C.stoneLight)
      }
    } else {
      pen.rect(ox + 1, oy, 2, 4, hex('#efe6d0'))
      pen.disc(ox + 2, oy - 1, 3, hex('#c8392f'))
      pen.dot(ox + 1, oy - 2, hex('#f6f0e4'))
      pen.dot(ox + 3, oy - 1, hex('#f6f0e4'))
    }
  }
}

function bridgeTile (along: 'h' | 'v'): Draw {
  return (pen) => {
    for (let y = 0; y < TILE_DIM; y++) {
      for (let x = 0; x < TILE_DIM; x++) {
        // Planks run across the direction of travel.
        const u = along === 'h' ? x : y
        const v = along === 'h' ? y : x
        if (v < 3 || v > 28) continue
        const seam = (u & 7) === 7
        const c = seam ? C.woodDark : pen.noise(u >> 3, v >> 2, 37) < 0.5 ? C.woodLight : C.wood
        pen.dot(x, y, c)
      }
    }
    // Rails on both sides, with posts every 16 px.
    for (let u = 0; u < TILE_DIM; u++) {
      for (const v of [3, 4, 27, 28]) {
        const c = v === 3 || v === 27 ? C.woodLight : C.woodDark
        if (along === 'h') pen.dot(u, v, c); else pen.dot(v, u, c)
      }
    }
    for (const u of [2, 18]) {
      if (along === 'h') { pen.rect(u, 1, 4, 5, C.woodDark); pen.rect(u, 26, 4, 5, C.woodDark) } else { pen.rect(1, u, 5, 4, C.woodDark); pen.rect(26, u, 5, 4, C.woodDark) }
    }
  }
}

function wallTile (style: WallStyle, mask: number, windowed: boolean): Draw {
  const k = wallColors[style]
  return (pen) => {
    const faceTop = (mask & S) !== 0 ? TILE_DIM : 12
    // Cap: the top of the wall, as the 3/4 view sees it.
    for (let y = 0; y < faceTop; y++) {
      for (let x = 0; x < TILE_DIM; x++) {
        pen.dot(x, y, pen.noise(x >> 2, y >> 2, 41) < 0.2 ? k.capLight : k.cap)
      }
    }
    if (faceTop < TILE_DIM) {
      pen.rect(0, faceTop - 2, TILE_DIM, 2, k.capLight)
      // Face: brick or stone courses, or plaster between timber beams.
      const course = style === 'stone' ? 7 : 5
      const width = style === 'stone' ? 12 : 9
      for (let y = faceTop; y < TILE_DIM; y++) {
        const row = Math.floor((y - faceTop) / course)
        for (let x = 0; x < TILE_DIM; x++) {
          if (k.beam !== undefined) {
            const beam = x < 3 || x > 28 || y === faceTop + 8 || y === faceTop + 9
            pen.dot(x, y, beam ? k.beam : pen.noise(x, y, 43) < 0.06 ? k.faceAlt : k.face)
            continue
          }
          const lx = (x + (row % 2) * Math.floor(width / 2)) % width
          const seam = (y - faceTop) % course === course - 1 || lx === width - 1
          pen.dot(x, y, seam ? k.mortar : pen.noise(Math.floor((x + (row % 2) * 4) / width), row, 47) < 0.5 ? k.face : k.faceAlt)
        }
      }
      pen.rect(0, faceTop, TILE_DIM, 1, shade(k.face, 0.7))
      pen.rect(0, TILE_DIM - 2, TILE_DIM, 2, shade(k.mortar, 0.6))
      if (windowed) {
        const wx = 10
        const wy = faceTop + 3
        pen.rect(wx - 1, wy - 1, 14, 13, k.beam ?? k.cap)
        pen.rect(wx, wy, 12, 11, C.glass)
        pen.rect(wx + 1, wy + 1, 3, 2, C.glassLight)
        pen.rect(wx + 5, wy, 2, 11, k.beam ?? k.cap)
        pen.rect(wx, wy + 5, 12, 1, k.beam ?? k.cap)
        pen.rect(wx - 2, wy + 11, 16, 2, shade(k.mortar, 0.8))
      }
    }
    // Outline where the wall ends.
    const line = shade(k.cap, 0.55)
    if ((mask & N) === 0) pen.rect(0, 0, TILE_DIM, 2, line)
    if ((mask & W) === 0) pen.rect(0, 0, 2, TILE_DIM, line)
    if ((mask & E) === 0) pen.rect(TILE_DIM - 2, 0, 2, TILE_DIM, line)
  }
}

function doorTile (style: WallStyle, floor: FloorStyle, orientation: 'h' | 'v'): Draw {
  const k = wallColors[style]
  const drawFloor = floorTile(floor, 0)
  return (pen) => {
    drawFloor(pen)
    const jamb = shade(k.cap, 0.8)
    if (orientation === 'h') {
      // A doorway in an east-west wall: the lintel above, posts on both sides, a stone step.
      pen.rect(0, 0, TILE_DIM, 6, k.cap)
      pen.rect(0, 6, TILE_DIM, 2, shade(k.cap, 0.55))
      pen.rect(0, 0, 5, TILE_DIM, jamb)
      pen.rect(TILE_DIM - 5, 0, 5, TILE_DIM, jamb)
      pen.rect(5, 8, 3, 20, C.woodDark)
      pen.rect(6, 9, 1, 18, C.woodLight)
      pen.rect(5, 27, 22, 4, C.stone)
      pen.rect(5, 27, 22, 1, C.stoneLight)
    } else {
      pen.rect(0, 0, TILE_DIM, 5, jamb)
      pen.rect(0, TILE_DIM - 5, TILE_DIM, 5, jamb)
      pen.rect(0, 5, 6, 22, C.stone)
      pen.rect(0, 5, 1, 22, C.stoneLight)
      pen.rect(26, 5, 4, 3, C.woodDark)
    }
  }
}

const TREE_COLORS = [hex('#3f8f3a'), hex('#2f7436'), hex('#4d9a38')]

function treeTile (variant: number): Draw {
  return (pen) => {
    shadowEllipse(pen, 16, 28, 12, 3.5)
    pen.rect(13, 19, 6, 10, C.trunk)
    pen.rect(13, 19, 2, 10, shade(C.trunk, 1.25))
    pen.rect(17, 19, 2, 10, shade(C.trunk, 0.7))
    blob(pen, 16, 13, 13, TREE_COLORS[variant], variant * 2.1)
    if (variant === 2) {
      // The apple tree.
      for (let i = 0; i < 6; i++) {
        const x = 7 + Math.floor(pen.noise(i, 0, 53) * 18)
        const y = 6 + Math.floor(pen.noise(i, 1, 53) * 13)
        pen.rect(x, y, 2, 2, hex('#d8382e'))
        pen.dot(x, y, hex('#f07a6a'))
      }
    }
  }
}

function bushTile (variant: number): Draw {
  return (pen) => {
    shadowEllipse(pen, 16, 26, 11, 3)
    blob(pen, 16, 18, 10, variant === 0 ? hex('#4f9a3a') : hex('#468f44'), 3 + variant)
    if (variant === 1) {
      for (let i = 0; i < 5; i++) {
        const x = 9 + Math.floor(pen.noise(i, 0, 59) * 14)
        const y = 12 + Math.floor(pen.noise(i, 1, 59) * 10)
        pen.rect(x, y, 2, 2, hex('#7a3fc0'))
      }
    }
  }
}

function fenceTile (mask: number): Draw {
  return (pen) => {
    const rail = C.woodLight
    const dark = C.woodDark
    shadowEllipse(pen, 17, 25, 4, 1.5)
    if ((mask & W) !== 0) { pen.rect(0, 13, 16, 2, rail); pen.rect(0, 15, 16, 1, dark); pen.rect(0, 19, 16, 2, rail); pen.rect(0, 21, 16, 1, dark) }
    if ((mask & E) !== 0) { pen.rect(16, 13, 16, 2, rail); pen.rect(16, 15, 16, 1, dark); pen.rect(16, 19, 16, 2, rail); pen.rect(16, 21, 16, 1, dark) }
    if ((mask & N) !== 0) { pen.rect(14, 0, 2, 14, rail); pen.rect(16, 0, 1, 14, dark); pen.rect(18, 0, 1, 14, dark) }
    if ((mask & S) !== 0) { pen.rect(14, 18, 2, 14, rail); pen.rect(16, 18, 1, 14, dark); pen.rect(18, 18, 1, 14, dark) }
    // The post.
    pen.rect(13, 9, 6, 15, dark)
    pen.rect(14, 10, 4, 13, C.wood)
    pen.rect(14, 10, 4, 2, rail)
  }
}

function benchTile (): Draw {
  return (pen) => {
    shadowEllipse(pen, 16, 23, 14, 3)
    pen.rect(3, 7, 26, 4, C.woodDark)
    pen.rect(4, 8, 24, 2, C.wood)
    pen.rect(3, 12, 26, 8, C.woodDark)
    pen.rect(4, 13, 24, 3, C.woodLight)
    pen.rect(4, 16, 24, 3, C.wood)
    pen.rect(5, 20, 3, 4, C.iron)
    pen.rect(24, 20, 3, 4, C.iron)
  }
}

/** One ninth of the 3 × 3 fountain: a round stone basin with a spouting pedestal in the middle. */
function fountainTile (part: number): Draw {
  const ox = (part % 3) * TILE_DIM
  const oy = Math.floor(part / 3) * TILE_DIM
  return (pen) => {
    for (let y = 0; y < TILE_DIM; y++) {
      for (let x = 0; x < TILE_DIM; x++) {
        const gx = ox + x + 0.5
        const gy = oy + y + 0.5
        const d = Math.hypot(gx - 48, gy - 48)
        if (d > 45) continue
        let c: Rgba
        if (d > 43.5) c = C.outline
        else if (d > 37) c = (gx - 48) + (gy - 48) < -20 ? C.stoneLight : pen.noise(Math.floor(Math.atan2(gy - 48, gx - 48) * 8), 0, 61) < 0.5 ? C.stone : shade(C.stone, 0.93)
        else if (d > 35.5) c = C.stoneDark
        else if (d > 11) {
          const ring = Math.floor(d) % 7
          c = ring === 0 && pen.noise(Math.floor(gx / 4), Math.floor(gy / 4), 67) < 0.6 ? C.waterLight : d < 14 ? C.foam : C.water
        } else if (d > 9.5) c = C.stoneDark
        else if (d > 5) c = C.stoneLight
        else if (d > 2) c = C.waterLight
        else c = C.foam
        pen.dot(x, y, c)
      }
    }
  }
}

function tableTile (mask: number, item: typeof tableItems[number]): Draw {
  return (pen) => {
    const x0 = (mask & W) !== 0 ? 0 : 3
    const x1 = (mask & E) !== 0 ? TILE_DIM : 29
    pen.rect(x0, 22, x1 - x0, 4, C.shadow)
    pen.rect(x0, 9, x1 - x0, 14, C.woodDark)
    pen.rect(x0 + ((mask & W) !== 0 ? 0 : 1), 10, x1 - x0 - ((mask & W) !== 0 ? 0 : 1) - ((mask & E) !== 0 ? 0 : 1), 9, C.woodLight)
    pen.rect(x0 + ((mask & W) !== 0 ? 0 : 1), 19, x1 - x0 - ((mask & W) !== 0 ? 0 : 1) - ((mask & E) !== 0 ? 0 : 1), 3, C.wood)
    if ((mask & W) === 0) pen.rect(4, 22, 2, 5, C.woodDark)
    if ((mask & E) === 0) pen.rect(26, 22, 2, 5, C.woodDark)
    if (item === 'bread') {
      pen.disc(15, 14, 4, hex('#8a5a2b'))
      pen.disc(14, 13, 3, hex('#c98a44'))
      pen.rect(13, 12, 3, 1, hex('#e8b56e'))
    } else if (item === 'mug') {
      pen.rect(13, 11, 5, 6, hex('#e9e4d8'))
      pen.rect(18, 12, 2, 3, hex('#e9e4d8'))
      pen.rect(14, 11, 3, 1, hex('#7a4a24'))
    }
  }
}

function shelfTile (mask: number): Draw {
  const books = [hex('#a83a3a'), hex('#3a62a8'), hex('#3c9a52'), hex('#c9a23a'), hex('#7d4aa0'), hex('#d9d0b8')]
  return (pen) => {
    const x0 = (mask & W) !== 0 ? 0 : 1
    const x1 = (mask & E) !== 0 ? TILE_DIM : 31
    pen.rect(x0, 2, x1 - x0, 27, hex('#4a2e1a'))
    for (let shelf = 0; shelf < 3; shelf++) {
      const top = 4 + shelf * 8
      let x = x0 + 1
      while (x < x1 - 2) {
        const w = 2 + Math.floor(pen.noise(x, shelf, 71) * 2)
        const h = 4 + Math.floor(pen.noise(x, shelf, 73) * 3)
        const color = books[Math.floor(pen.noise(x, shelf, 79) * books.length)]
        pen.rect(x, top + 7 - h, w, h, color)
        pen.rect(x, top + 7 - h, 1, h, shade(color, 1.2))
        x += w + (pen.noise(x, shelf, 83) < 0.15 ? 2 : 0)
      }
      pen.rect(x0, top + 7, x1 - x0, 1, C.woodLight)
    }
    pen.rect(x0, 29, x1 - x0, 2, C.shadow)
  }
}

function forgeTile (): Draw {
  return (pen) => {
    pen.rect(2, 4, 28, 25, C.stoneDark)
    pen.rect(3, 5, 26, 23, C.stone)
    for (let y = 5; y < 28; y += 5) pen.rect(3, y, 26, 1, C.mortar)
    pen.rect(7, 10, 18, 13, C.outline)
    for (let y = 11; y < 22; y++) {
      for (let x = 8; x < 24; x++) {
        const n = pen.noise(x, y, 89)
        if (y > 14) pen.dot(x, y, n < 0.3 ? C.emberHot : n < 0.8 ? C.ember : hex('#a8401c'))
      }
    }
  }
}

function anvilTile (): Draw {
  return (pen) => {
    shadowEllipse(pen, 16, 26, 11, 3)
    pen.rect(11, 17, 10, 10, C.trunk)
    pen.rect(11, 17, 10, 2, shade(C.trunk, 1.3))
    pen.rect(6, 9, 20, 6, C.iron)
    pen.rect(3, 10, 4, 3, C.iron)
    pen.rect(7, 9, 18, 2, C.ironLight)
    pen.rect(12, 15, 8, 3, C.iron)
  }
}

// ---- the catalog ------------------------------------------------------------------------

function catalog (): TileSpec[] {
  const specs: TileSpec[] = []
  const add = (name: string, draw: Draw): void => { specs.push({ name, draw }) }
  for (let v = 0; v < 4; v++) add(`grass:${v}`, grassTile(v))
  for (const style of floorStyles) for (let v = 0; v < 2; v++) add(`floor:${style}:${v}`, floorTile(style, v))
  for (let m = 0; m < 16; m++) add(`path:${m}`, pathTile(m))
  for (let m = 0; m < 16; m++) add(`sand:${m}`, sandTile(m))
  for (let m = 0; m < 16; m++) add(`cobble:${m}`, cobbleTile(m))
  for (let m = 0; m < 16; m++) add(`soil:${m}`, soilTile(m))
  for (let m = 0; m < 16; m++) add(`water:${m}`, waterTile(m))
  for (let v = 0; v < 4; v++) add(`flowers:${v}`, flowersTile(v))
  for (let v = 0; v < 3; v++) add(`tuft:${v}`, detailTile('tuft', v))
  for (let v = 0; v < 2; v++) add(`pebbles:${v}`, detailTile('pebbles', v))
  add('mushroom:0', detailTile('mushroom', 0))
  add('bridge:h', bridgeTile('h'))
  add('bridge:v', bridgeTile('v'))
  for (const style of wallStyles) {
    for (let m = 0; m < 16; m++) add(`wall:${style}:${m}`, wallTile(style, m, false))
    add(`wall:${style}:window`, wallTile(style, E | W, true))
  }
  for (const style of wallStyles) {
    for (const floor of floorStyles) {
      add(`door:${style}:${floor}:h`, doorTile(style, floor, 'h'))
      add(`door:${style}:${floor}:v`, doorTile(style, floor, 'v'))
    }
  }
  for (let v = 0; v < 3; v++) add(`tree:${v}`, treeTile(v))
  for (let v = 0; v < 2; v++) add(`bush:${v}`, bushTile(v))
  for (let m = 0; m < 16; m++) add(`fence:${m}`, fenceTile(m))
  add('bench', benchTile())
  for (let p = 0; p < 9; p++) add(`fountain:${p}`, fountainTile(p))
  for (const m of [0, E, W, E | W]) for (const item of tableItems) add(`table:${m}:${item}`, tableTile(m, item))
  for (const m of [0, E, W, E | W]) add(`shelf:${m}`, shelfTile(m))
  add('forge', forgeTile())
  add('anvil', anvilTile())
  return specs
}

const specs = catalog()
const indexByName = new Map(specs.map((spec, i) => [spec.name, i]))

/** Names of every tile, in index order. */
export const tileNames: readonly string[] = Object.freeze(specs.map((spec) => spec.name))

export const TILESET_DIM_X = TILESET_COLUMNS * TILE_DIM
export const TILESET_DIM_Y = Math.ceil(specs.length / TILESET_COLUMNS) * TILE_DIM

/** Changes whenever tiles are added, removed or reordered: part of the tileset's URL, so no client mixes an old sheet with new indices. */
export const TILESET_VERSION = hashString(tileNames.join('|')).toString(16).padStart(8, '0')

/** The index of a named tile; throws on a name the catalog does not have. */
export function tileIndex (name: string): number {
  const index = indexByName.get(name)
  if (index === undefined) throw new Error(`no tile named "${name}"`)
  return index
}

/** Where tile `index` sits in the sheet, in pixels (AI Town's rule: row-major, TILESET_COLUMNS per row). */
export function tileOrigin (index: number): { x: number, y: number } {
  return { x: (index % TILESET_COLUMNS) * TILE_DIM, y: Math.floor(index / TILESET_COLUMNS) * TILE_DIM }
}

/** Draws the whole sheet: TILESET_DIM_X × TILESET_DIM_Y RGBA pixels, transparent where no tile paints. */
export function paintTileset (): { width: number, height: number, rgba: Uint8Array } {
  const width = TILESET_DIM_X
  const height = TILESET_DIM_Y
  const rgba = new Uint8Array(width * height * 4)
  specs.forEach((spec, index) => {
    const origin = tileOrigin(index)
    const seed = hashString(spec.name)
    const dot = (x: number, y: number, c: Rgba): void => {
      x = Math.floor(x)
      y = Math.floor(y)
      if (x < 0 || y < 0 || x >= TILE_DIM || y >= TILE_DIM || c[3] === 0) return
      const i = ((origin.y + y) * width + origin.x + x) * 4
      const a = c[3] / 255
      const below = rgba[i + 3] / 255
      const out = a + below * (1 - a)
      for (let k = 0; k < 3; k++) rgba[i + k] = Math.round((c[k] * a + rgba[i + k] * below * (1 - a)) / out)
      rgba[i + 3] = Math.round(out * 255)
    }
    const pen: Pen = {
      dot,
      rect: (x, y, w, h, c) => { for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) dot(i, j, c) },
      disc: (cx, cy, r, c) => {
        for (let j = Math.floor(cy - r); j <= cy + r; j++) for (let i = Math.floor(cx - r); i <= cx + r; i++) if (Math.hypot(i - cx, j - cy) <= r) dot(i, j, c)
      },
      noise: (x, y, salt = 0) => fmix32(seed ^ Math.imul(x + 0x9e37, 0x27d4eb2d) ^ Math.imul(y + 0x7f4a, 0x165667b1) ^ Math.imul(salt + 1, 0x61c88647)) / 4294967296
    }
    spec.draw(pen)
  })
  return { width, height, rgba }
}
