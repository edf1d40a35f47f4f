// A cast file: the characters of a world (name, sprite, identity, plan), checked field by field.
import type { CharacterDescription, SpriteKey } from '../game/data/characters.ts'
import { fail, isRecord, shown, text } from './validate.ts'

const SPRITES = new Set<string>(['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'])
export const MAX_CAST = 64

/** Accepts an array of characters, or `{ characters: [...] }`; throws WorldFileError naming the first bad field. */
export function parseCast (value: unknown): CharacterDescription[] {
  const list = isRecord(value) && Array.isArray(value.characters) ? value.characters : value
  if (!Array.isArray(list)) fail('cast', `expected an array of characters (or { "characters": [...] }), got ${shown(value)}`)
  if (list.length === 0 || list.length > MAX_CAST) fail('cast', `expected 1 to ${MAX_CAST} characters, got ${list.length}`)
  const names = new Set<string>()
  return list.map((entry: unknown, i) => {
    const at = `cast[${i}]`
    if (!isRecord(entry)) fail(at, `expected an object with name, character, identity and plan, got ${shown(entry)}`)
    const name = text(entry.name, `${at}.name`, 64)
    if (names.has(name)) fail(`${at}.name`, `expected a name not used before in the cast, got ${shown(name)} twice`)
    names.add(name)
    if (typeof entry.character !== 'string' || !SPRITES.has(entry.character)) {
      fail(`${at}.character`, `expected one of f1..f8, got ${shown(entry.character)}`)
    }
    return {
      name,
      character: entry.character as SpriteKey,
      identity: text(entry.identity, `${at}.identity`, 4000),
      plan: text(entry.plan, `${at}.plan`, 1000)
    }
  })
}
