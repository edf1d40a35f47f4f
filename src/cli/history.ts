// townhall world export-history|import-history: a world's history as one file that another deployment (either
// store) loads as an archived world and replays identically. Progress on stderr; the report on stdout.
import { access, constants } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { Store } from '../store/types.ts'
import {
  exportHistory, HistoryConflictError, HistoryFileError, HistoryWorldNotFoundError, importHistory,
  type ExportHistoryReport, type ImportHistoryReport
} from '../engine/history.ts'
import { WorldCommandError } from './verbs.ts'

export interface HistoryArgs {
  positionals: string[]
  world?: string
  out?: string
  json: boolean
}

const fmt = (n: number): string => n.toLocaleString('en-US')

function partsTable (parts: Record<string, { documents: number, checksum: string }>): string[] {
  return [
    `  ${'part'.padEnd(22)} ${'documents'.padStart(10)}  checksum`,
    ...Object.entries(parts).map(([name, c]) => `  ${name.padEnd(22)} ${fmt(c.documents).padStart(10)}  ${c.checksum}`)
  ]
}

function formatExport (r: ExportHistoryReport): string {
  const h = r.header
  return [
    `exported the history of world ${h.worldId} (steps ${h.steps.from} to ${h.steps.to}) to ${r.file} (${fmt(r.bytes)} bytes, ${(r.elapsedMs / 1000).toFixed(1)} s)`,
    '', ...partsTable(r.parts)
  ].join('\n')
}

function formatImport (r: ImportHistoryReport): string {
  const h = r.header
  return [
    `imported the history of world ${r.worldId} (steps ${h.steps.from} to ${h.steps.to}, exported by townhall ${h.townhall}) as an archived world; ` +
      `the file was checked first (${(r.elapsedMs / 1000).toFixed(1)} s)`,
    `check it with: townhall world replay ${r.worldId} --verify`,
    '', ...partsTable(r.parts)
  ].join('\n')
}

/** Runs export-history or import-history; bad arguments, an unknown world, a damaged file or a conflict throw WorldCommandError (exit 2). */
export async function runHistoryCommand (store: Store, args: HistoryArgs, progress: (line: string) => void, now: () => number): Promise<{ text: string, code: number }> {
  const [, sub, positional] = args.positionals
  try {
    if (sub === 'export-history') {
      const worldId = positional ?? args.world
      if (worldId === undefined) throw new WorldCommandError('world export-history needs a world id: townhall world export-history <worldId> [--out FILE] (see townhall world list)')
      if (args.out === '') throw new WorldCommandError('--out needs a file name')
      const out = args.out ?? `history-${worldId}.jsonl.gz`
      // Before reading the world: a folder that cannot take the file is one line, not a failure at the end.
      await access(dirname(resolve(out)), constants.W_OK).catch(() => { throw new WorldCommandError(`cannot write ${out}: its folder ${dirname(resolve(out))} does not exist or is not writable`) })
      const report = await exportHistory(store, worldId, out, { now, onProgress: (p) => { progress(`export: ${p.part} ${fmt(p.documents)} documents`) } })
      return { text: args.json ? JSON.stringify(report, null, 2) : formatExport(report), code: 0 }
    }
    if (positional === undefined || positional === '') throw new WorldCommandError('world import-history needs a file: townhall world import-history <FILE>')
    const report = await importHistory(store, positional, {
      now: now(),
      onProgress: (p) => { progress(p.phase === 'check' ? `import (check): ${fmt(p.documents)} documents` : `import: ${p.part} ${fmt(p.documents)} documents written`) }
    })
    return { text: args.json ? JSON.stringify(report, null, 2) : formatImport(report), code: 0 }
  } catch (err) {
    if (err instanceof HistoryFileError || err instanceof HistoryConflictError || err instanceof HistoryWorldNotFoundError) throw new WorldCommandError(err.message)
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EACCES' || (err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new WorldCommandError(`cannot ${sub === 'export-history' ? 'write' : 'read'} ${(err as NodeJS.ErrnoException).path ?? 'the file'}: ${(err as NodeJS.ErrnoException).code}`)
    }
    throw err
  }
}
