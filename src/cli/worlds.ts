// townhall world create|list|archive|delete: operator-made worlds, over the store.
import { readFile } from 'node:fs/promises'
import type { Store } from '../store/types.ts'
import { archiveWorld, createWorldFrom, deleteWorld, listWorlds, worldListItem, type WorldListItem } from '../engine/worlds.ts'
import { parseMapText } from '../worlds/map.ts'
import { fail, WorldFileError } from '../worlds/validate.ts'
import { WorldCommandError } from './verbs.ts'

export interface WorldArgs {
  sub: string
  world?: string
  yes: boolean
  json: boolean
  map?: string
  cast?: string
  name?: string
  agents?: string
  seed?: string
}

async function readText (path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new WorldCommandError(`cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

function formatList (worlds: WorldListItem[], byId: Map<string, string>): string {
  if (worlds.length === 0) return 'no worlds'
  const rows = worlds.map((w) => {
    const fork = w.forkedFrom !== undefined ? `  fork of ${byId.get(w.forkedFrom.worldId) ?? w.forkedFrom.worldId} at step ${w.forkedFrom.step}` : ''
    return `${w.worldId}  ${w.status.padEnd(18)}  ${w.name}${w.isDefault ? ' (default)' : ''}${fork}`
  })
  return [`${'world'.padEnd(36)}  ${'status'.padEnd(18)}  name`, ...rows].join('\n')
}

export async function runWorldCommand (store: Store, args: WorldArgs, now: () => number): Promise<string> {
  try {
    return await run(store, args, now)
  } catch (err) {
    if (err instanceof WorldFileError) throw new WorldCommandError(err.message)
    throw err
  }
}

async function run (store: Store, args: WorldArgs, now: () => number): Promise<string> {
  switch (args.sub) {
    case 'create': {
      if (args.map === undefined || args.cast === undefined) throw new WorldCommandError('world create needs --map <file> and --cast <file>')
      const map = parseMapText(await readText(args.map, 'map'))
      let cast: unknown
      try {
        cast = JSON.parse(await readText(args.cast, 'cast'))
      } catch (err) {
        if (err instanceof WorldCommandError) throw err
        fail('cast', `expected JSON, got a syntax error: ${(err as Error).message}`)
      }
      let agents: number | undefined
      if (args.agents !== undefined) {
        agents = Number(args.agents)
        if (!/^\d+$/.test(args.agents)) fail('agents', `expected a whole number, got ${JSON.stringify(args.agents)}`)
      }
      const seed = args.seed === undefined ? undefined : /^-?\d+$/.test(args.seed) ? Number(args.seed) : args.seed
      const status = await createWorldFrom(store, { name: args.name, map, cast, agents, seed }, now())
      const item = worldListItem(status)
      return args.json ? JSON.stringify(item, null, 2) : `created world ${item.worldId} "${item.name}": a running instance picks it up within seconds`
    }
    case 'list': {
      const worlds = await listWorlds(store)
      return args.json ? JSON.stringify(worlds, null, 2) : formatList(worlds, new Map(worlds.map((w) => [w.worldId, w.name])))
    }
    case 'archive': {
      if (args.world === undefined) throw new WorldCommandError('world archive needs --world <id> (see townhall world list)')
      const status = await archiveWorld(store, args.world)
      return `archived world ${status.worldId} "${worldListItem(status).name}": stopped, data kept, read-only`
    }
    case 'delete': {
      if (args.world === undefined) throw new WorldCommandError('world delete needs --world <id> (see townhall world list)')
      if (!args.yes) throw new WorldCommandError(`world delete removes world ${args.world} and everything it owns: confirm with --yes`)
      const report = await deleteWorld(store, args.world)
      if (args.json) return JSON.stringify(report, null, 2)
      const total = Object.values(report.removed).reduce((a, b) => a + b, 0)
      return `deleted world ${report.worldId}: ${total} documents`
    }
    default: throw new WorldCommandError(`unknown world command ${JSON.stringify(args.sub)}`)
  }
}
