// Where an export's files come from: the ZIP that `npx convex export` writes (read through its central
// directory with yauzl, one entry stream at a time) or the same tree unpacked into a directory.
import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import yauzl from 'yauzl'

export interface ExportEntry {
  /** Path inside the export, with forward slashes (`memories/documents.jsonl`). */
  name: string
  /** Uncompressed size in bytes. */
  size: number
}

export interface ExportSource {
  readonly path: string
  readonly kind: 'zip' | 'directory'
  readonly entries: ReadonlyMap<string, ExportEntry>
  open (name: string): Promise<Readable>
  close (): Promise<void>
}

export class ExportSourceError extends Error {}

const READ_AHEAD_BYTES = 8 << 20

async function openZip (path: string): Promise<ExportSource> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, strictFileNames: false }, (err, file) => {
      if (err !== null || file === undefined) reject(err ?? new Error('no zip file'))
      else resolve(file)
    })
  }).catch((err: Error) => {
    throw new ExportSourceError(`${path}: not a readable ZIP archive (${err.message}); the file may be truncated or not an export`)
  })
  const raw = new Map<string, yauzl.Entry>()
  const entries = new Map<string, ExportEntry>()
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (!entry.fileName.endsWith('/')) {
        raw.set(entry.fileName, entry)
        entries.set(entry.fileName, { name: entry.fileName, size: entry.uncompressedSize })
      }
      zip.readEntry()
    })
    zip.once('end', resolve)
    zip.once('error', (err: Error) => { reject(new ExportSourceError(`${path}: broken ZIP central directory (${err.message})`)) })
    zip.readEntry()
  })
  return {
    path,
    kind: 'zip',
    entries,
    async open (name) {
      const entry = raw.get(name)
      if (entry === undefined) throw new ExportSourceError(`${path}: no entry ${name}`)
      return await new Promise<Readable>((resolve, reject) => {
        zip.openReadStream(entry, (err, stream) => {
          if (err !== null || stream === undefined) {
            reject(new ExportSourceError(`${path}: cannot read ${name} (${err?.message ?? 'no stream'})`))
            return
          }
          // A deep buffer lets inflating (on the thread pool) run ahead while the reader parses and writes.
          const ahead = new PassThrough({ highWaterMark: READ_AHEAD_BYTES })
          stream.on('error', (e) => ahead.destroy(e))
          resolve(stream.pipe(ahead))
        })
      })
    },
    async close () { zip.close() }
  }
}

async function openDirectory (path: string): Promise<ExportSource> {
  const entries = new Map<string, ExportEntry>()
  async function walk (dir: string): Promise<void> {
    for (const item of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, item.name)
      if (item.isDirectory()) await walk(full)
      else if (item.isFile()) {
        const name = relative(path, full).split(sep).join('/')
        entries.set(name, { name, size: (await stat(full)).size })
      }
    }
  }
  await walk(path)
  return {
    path,
    kind: 'directory',
    entries,
    async open (name) {
      if (!entries.has(name)) throw new ExportSourceError(`${path}: no file ${name}`)
      return createReadStream(join(path, ...name.split('/')))
    },
    async close () {}
  }
}

/** Opens an export: a directory, or anything else as a ZIP file. */
export async function openExportSource (path: string): Promise<ExportSource> {
  let info
  try {
    info = await stat(path)
  } catch (err) {
    throw new ExportSourceError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`)
  }
  return info.isDirectory() ? await openDirectory(path) : await openZip(path)
}

/**
 * The lines of a stream, split on `\n` only (U+2028 and friends are legal inside JSON strings), with their
 * 1-based numbers and the bytes read so far. A last line without `\n` is still yielded, flagged.
 */
export async function * readLines (stream: Readable): AsyncGenerator<{ line: string, number: number, bytes: number, terminated: boolean }> {
  let pending: Buffer[] = []
  let number = 0
  let bytes = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0
    let nl = chunk.indexOf(10, start)
    while (nl !== -1) {
      const piece = pending.length === 0 ? chunk.subarray(start, nl) : Buffer.concat([...pending, chunk.subarray(start, nl)])
      const line = piece.toString('utf8')
      pending = []
      bytes += piece.length + 1
      number++
      yield { line, number, bytes, terminated: true }
      start = nl + 1
      nl = chunk.indexOf(10, start)
    }
    if (start < chunk.length) pending.push(chunk.subarray(start))
  }
  if (pending.length > 0) {
    const rest = Buffer.concat(pending)
    bytes += rest.length
    number++
    yield { line: rest.toString('utf8'), number, bytes, terminated: false }
  }
}
