// Field-naming checks for operator-supplied files: each problem says where (`map.bgTiles[0][3]`) and what was expected.

export class WorldFileError extends Error {
  readonly code = 'TOWNHALL_ERR_BAD_WORLD_FILE'
  readonly statusCode = 400
  constructor (readonly field: string, expected: string) {
    super(`${field}: ${expected}`)
    this.name = 'WorldFileError'
  }
}

export function fail (field: string, expected: string): never {
  throw new WorldFileError(field, expected)
}

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function shown (value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

export function integer (value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `expected an integer from ${min} to ${max}, got ${shown(value)}`)
  }
  return value
}

export function text (value: unknown, field: string, maxLength: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > maxLength) {
    fail(field, `expected a non-empty string of at most ${maxLength} characters, got ${shown(value)}`)
  }
  return value
}
