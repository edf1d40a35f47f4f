// Runs the real server (src/server.ts) as a child process, for start, signal and kill-and-restart tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface ServerProcess {
  child: ChildProcess
  url: string
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code (or signal) and how long the exit took after the call. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null, signal: NodeJS.Signals | null, ms: number }>
}

/**
 * The server from the sources through tsx, or with TEST_COMPILED_SERVER=1 from the build as `npm start` runs it
 * (`npm run build` first: .ci/run sets it after its own build). tsx costs about 2 s of each start on the CI
 * machine, and the suite starts the server some 50 times on each Node version.
 */
const compiled = process.env.TEST_COMPILED_SERVER === '1'
const entry = compiled ? ['dist/src/server.js'] : ['--import', 'tsx', 'src/server.ts']
const autoload: Record<string, string> = compiled ? {} : { FASTIFY_AUTOLOAD_TYPESCRIPT: '1' }

export function runServer (env: Record<string, string>): { child: ChildProcess, exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>, output: { out: string, err: string } } {
  const child = spawn(process.execPath, entry, {
    cwd: root,
    // Only what the test passes: no MONGODB_URL or REDIS_URL leaks in from the runner's environment.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...autoload, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const output = { out: '', err: '' }
  child.stdout!.on('data', (chunk: Buffer) => { output.out += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { output.err += chunk.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  return { child, exited, output }
}

export async function startServer (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  const { child, exited, output } = runServer(env)
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`server did not start within ${timeoutMs} ms:\n${output.out}\n${output.err}`)) }, timeoutMs)
    const check = (): void => {
      const match = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(output.out)
      if (match !== null) { clearTimeout(timer); resolve(match[1]!) }
    }
    child.stdout!.on('data', check)
    exited.then(() => { clearTimeout(timer); reject(new Error(`server exited before listening:\n${output.out}\n${output.err}`)) }).catch(() => {})
  })
  return {
    child,
    url,
    stdout: () => output.out,
    stderr: () => output.err,
    async stop (signal: NodeJS.Signals = 'SIGINT') {
      const started = Date.now()
      child.kill(signal)
      const result = await exited
      return { ...result, ms: Date.now() - started }
    }
  }
}
