// The townhall command's data verbs: import-convex, validate-import, backup, restore. Each prints a report
// on stdout (text, or --json) and progress on stderr; main.ts owns the process and the exit code.
import { SingleBar } from 'cli-progress'
import type { Config } from '../config.ts'
import type { Store } from '../store/types.ts'
import { importConvexExport, type ImportReport } from '../transfer/importConvex.ts'
import { validateStore, type ValidateReport } from '../transfer/validate.ts'
import { backupStore, restoreStore, type BackupReport, type RestoreReport } from '../transfer/backup.ts'
import type { Checksum } from '../transfer/checksum.ts'
import { closeStoreVectorIndex, openStoreVectorIndex } from '../vector/fromStore.ts'
import { UsageError } from './verbs.ts'

export interface TransferArgs {
  positionals: string[]
  json: boolean
  dryRun: boolean
  allowSkips: boolean
}

export interface CommandResult {
  text: string
  code: number
}

/** Progress on stderr: a bar on a terminal, a line every few seconds otherwise (CI logs, pipes). */
export interface Progress {
  update: (done: number, total: number, detail: string) => void
  stop: () => void
}

export function progressOutput (stream: NodeJS.WriteStream = process.stderr, label = 'progress'): Progress {
  if (stream.isTTY === true) {
    const bar = new SingleBar({
      stream,
      format: `${label} [{bar}] {percentage}% | {detail} | {eta_formatted} left`,
      hideCursor: true,
      etaBuffer: 50
    })
    let started = false
    return {
      update (done, total, detail) {
        if (!started) { bar.start(Math.max(total, 1), 0, { detail }); started = true }
        bar.setTotal(Math.max(total, 1))
        bar.update(done, { detail })
      },
      stop () { if (started) bar.stop() }
    }
  }
  const began = Date.now()
  let last = began
  return {
    update (done, total, detail) {
      const now = Date.now()
      if (now - last < 5000) return
      last = now
      const elapsed = (now - began) / 1000
      const left = done > 0 && total > done ? Math.round(elapsed * (total - done) / done) : 0
      stream.write(`${label}: ${total > 0 ? Math.floor(100 * done / total) : 0}% ${detail}, ~${left}s left\n`)
    },
    stop () {}
  }
}

const fmt = (n: number): string => n.toLocaleString('en-US')

/** Per collection: documents and checksum, under a header row. */
function checksumTable (collections: Partial<Record<string, Checksum>>): string[] {
  return [
    `  ${'collection'.padEnd(22)} ${'documents'.padStart(10)}  checksum`,
    ...Object.entries(collections).map(([name, c]) => `  ${name.padEnd(22)} ${fmt(c!.documents).padStart(10)}  ${c!.checksum}`)
  ]
}

export function formatImportReport (r: ImportReport): string {
  const lines = [`${r.dryRun ? 'dry run of the import of' : 'imported'} ${r.source}${r.complete ? '' : ' (INCOMPLETE: the export could not be read to its end)'}`, '']
  lines.push(`  ${'table'.padEnd(22)} ${'read'.padStart(10)} ${(r.dryRun ? 'would import' : 'imported').padStart(12)} ${'present'.padStart(9)} ${'skipped'.padStart(9)}`)
  for (const t of r.tables) {
    lines.push(`  ${t.table.padEnd(22)} ${fmt(t.read).padStart(10)} ${fmt(t.imported).padStart(12)} ${fmt(t.present).padStart(9)} ${fmt(t.skipped).padStart(9)}${t.format === 'legacy' ? '  (legacy format)' : ''}`)
    for (const [reason, count] of Object.entries(t.reasons)) lines.push(`      skipped ${fmt(count)}: ${reason}`)
    if (t.duplicates > 0) lines.push(`      ${fmt(t.duplicates)} duplicates inside the export dropped`)
  }
  lines.push(`  ${'total'.padEnd(22)} ${fmt(r.totals.read).padStart(10)} ${fmt(r.totals.imported).padStart(12)} ${fmt(r.totals.present).padStart(9)} ${fmt(r.totals.skipped).padStart(9)}`)
  lines.push('', 'checksums of the imported documents (compare with `townhall validate-import`):')
  lines.push(...checksumTable(r.collections))
  if (r.problems.length > 0) {
    lines.push('', 'problems:')
    for (const p of r.problems) lines.push(`  ${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`)
  }
  if (r.notes.length > 0) lines.push('', 'notes:', ...r.notes.map((n) => `  ${n}`))
  lines.push('', `${fmt(r.totals.read)} documents in ${(r.elapsedMs / 1000).toFixed(1)} s (${fmt(r.documentsPerSecond)} documents/s)`)
  return lines.join('\n')
}

export function formatValidateReport (r: ValidateReport): string {
  const lines = [`${r.store}: ${r.ok ? 'references hold' : 'PROBLEMS FOUND'}`, '']
  lines.push(...checksumTable(r.collections))
  if (Object.keys(r.checks).length > 0) {
    lines.push('', 'checks:')
    for (const [check, count] of Object.entries(r.checks)) lines.push(`  ${fmt(count)} ${check}`)
    for (const p of r.problems) lines.push(`    ${p.collection}${p.id !== undefined ? ` ${p.id}` : ''}: ${p.message}`)
  }
  return lines.join('\n')
}

function formatBackupReport (r: BackupReport): string {
  return [
    `backed up ${fmt(r.documents)} documents of ${r.store} to ${r.file} (${(r.bytes / 1e6).toFixed(1)} MB, ${(r.elapsedMs / 1000).toFixed(1)} s${r.snapshot ? ', one consistent snapshot' : ', world first'})`,
    '', ...checksumTable(r.collections)
  ].join('\n')
}

function formatRestoreReport (r: RestoreReport): string {
  return [
    `restored ${fmt(r.documents)} documents from ${r.file} into ${r.store} (${(r.elapsedMs / 1000).toFixed(1)} s); the file's counts and checksums were checked first`,
    '', ...checksumTable(r.collections)
  ].join('\n')
}

/** Rebuilds the persisted memory vector index from the store, so the server starts with a current one. */
async function rebuildVectorIndex (store: Store, config: Config, log: (text: string) => void): Promise<void> {
  // The exact index lives in memory only: the server fills it at its start, there is nothing to persist.
  if (config.VECTOR_INDEX === 'exact') return
  const created = await openStoreVectorIndex({
    store,
    kind: config.VECTOR_INDEX,
    dimension: config.llm.embedding.dimension,
    dataDir: config.DATA_DIR,
    mongodbUrl: config.MONGODB_URL,
    log: {
      info: (obj, msg) => { if (!('done' in obj)) log(`vector index: ${msg}`) },
      warn: (_obj, msg) => { log(`vector index: ${msg}`) }
    }
  })
  log(`vector index (${created.kind}) holds ${fmt(created.index.size())} memory embeddings`)
  await closeStoreVectorIndex(store, created)
}

export async function runTransferCommand (store: Store, config: Config, args: TransferArgs, stderr: NodeJS.WriteStream = process.stderr): Promise<CommandResult> {
  const [command, path] = args.positionals
  const say = (text: string): void => { stderr.write(`${text}\n`) }
  const needPath = (what: string): string => {
    if (path === undefined || path === '') throw new UsageError(`${command} needs ${what}`)
    return path
  }
  switch (command) {
    case 'import-convex': {
      const source = needPath('the export: a .zip written by `npx convex export`, or its unpacked directory')
      const progress = progressOutput(stderr, 'import')
      let report: ImportReport
      try {
        report = await importConvexExport(source, {
          store,
          dimension: config.llm.embedding.dimension,
          embeddingModel: `${config.llm.embedding.model}#${config.llm.embedding.dimension}`,
          dryRun: args.dryRun,
          onProgress: (p) => {
            const rate = p.elapsedMs > 0 ? Math.round(p.documents / (p.elapsedMs / 1000)) : 0
            progress.update(p.bytes, p.totalBytes, `${p.table}: ${fmt(p.documents)} documents, ${fmt(rate)}/s`)
          }
        })
      } finally {
        progress.stop()
      }
      if (!args.dryRun && report.tables.some((t) => t.collection === 'memoryEmbeddings' && t.imported > 0)) await rebuildVectorIndex(store, config, say)
      const failed = !report.complete || (report.totals.skipped > 0 && !args.allowSkips)
      if (failed && report.complete) say(`townhall: ${fmt(report.totals.skipped)} documents were skipped (see the report); pass --allow-skips to accept that`)
      return { text: args.json ? JSON.stringify(report, null, 2) : formatImportReport(report), code: failed ? 1 : 0 }
    }
    case 'validate-import': {
      const report = await validateStore({ store, dimension: config.llm.embedding.dimension })
      return { text: args.json ? JSON.stringify(report, null, 2) : formatValidateReport(report), code: report.ok ? 0 : 1 }
    }
    case 'backup': {
      const file = needPath('a file to write, e.g. townhall-2026-11-22.thb')
      const report = await backupStore(store, file, { onProgress: (p) => { say(`backup: ${p.collection} ${fmt(p.documents)} documents`) } })
      return { text: args.json ? JSON.stringify(report, null, 2) : formatBackupReport(report), code: 0 }
    }
    case 'restore': {
      const file = needPath('the backup file to read')
      const report = await restoreStore(store, file, { onProgress: (p) => { if (p.documents % 50_000 === 0) say(`restore (${p.phase}): ${fmt(p.documents)} documents`) } })
      await rebuildVectorIndex(store, config, say)
      return { text: args.json ? JSON.stringify(report, null, 2) : formatRestoreReport(report), code: 0 }
    }
    default: throw new UsageError(`unknown command ${JSON.stringify(command ?? '')}`)
  }
}
