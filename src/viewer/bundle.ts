// Bundles the browser viewer with esbuild on first use. Runs from the TypeScript sources in
// development and from the compiled JavaScript (dist/) in production; both bundle the same way.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

let cached: Promise<string> | undefined

function entryPoint (): string {
  const ts = join(import.meta.dirname, 'main.ts')
  return existsSync(ts) ? ts : join(import.meta.dirname, 'main.js')
}

/** The viewer's browser bundle (ESM, minified); built once per process. */
export function buildViewerBundle (): Promise<string> {
  cached ??= build({
    entryPoints: [entryPoint()],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    minify: true,
    logLevel: 'silent'
  }).then((result) => result.outputFiles[0].text)
  // A failed build is not cached, so a fixed file can be picked up without a restart.
  cached.catch(() => { cached = undefined })
  return cached
}
