// The few browser APIs the viewer uses, typed here: the project compiles for Node, and
// lib.dom would change the global types (fetch, BodyInit...) of every server file.

export interface Context2D {
  canvas: Canvas
  fillStyle: string
  strokeStyle: string
  lineWidth: number
  font: string
  textAlign: 'left' | 'center'
  textBaseline: 'top' | 'middle'
  fillRect (x: number, y: number, w: number, h: number): void
  drawImage (image: Canvas, x: number, y: number): void
  beginPath (): void
  moveTo (x: number, y: number): void
  lineTo (x: number, y: number): void
  arc (x: number, y: number, r: number, start: number, end: number): void
  roundRect (x: number, y: number, w: number, h: number, r: number): void
  fill (): void
  stroke (): void
  setLineDash (segments: number[]): void
  save (): void
  restore (): void
  fillText (text: string, x: number, y: number): void
  strokeText (text: string, x: number, y: number): void
  measureText (text: string): { width: number }
}

/** Any element; `value` and `add` only mean something on form fields. */
export interface Element {
  hidden: boolean
  textContent: string | null
  className: string
  value: string
  classList: { toggle (name: string, force?: boolean): boolean }
  addEventListener (type: string, listener: (event: BrowserEvent) => void): void
  append (...nodes: Array<Element | string>): void
  replaceChildren (...nodes: Element[]): void
  add (option: unknown): void
}

export interface Canvas extends Element {
  width: number
  height: number
  getContext (kind: '2d'): Context2D | null
  getBoundingClientRect (): { left: number, top: number, width: number, height: number }
}

export interface BrowserEvent { clientX: number, clientY: number, preventDefault (): void }

interface Browser {
  document: { getElementById (id: string): Element | null, createElement (tag: string): Element }
  sessionStorage: { getItem (key: string): string | null, setItem (key: string, value: string): void, removeItem (key: string): void }
  location: { href: string }
  requestAnimationFrame (callback: (now: number) => void): number
  Option: new (text: string, value: string) => unknown
}

export const browser = globalThis as unknown as Browser

export const createCanvas = (): Canvas => browser.document.createElement('canvas') as Canvas
