// A real redis-server for the tests: started as a child process on a free port, stopped in teardown.
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import type { Teardownable } from './stores.ts'

export function hasRedisServer (): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
    server.on('error', reject)
  })
}

export async function startRedis (t: Teardownable): Promise<string> {
  return (await startStoppableRedis(t)).url
}

/** A real redis-server that a test can kill mid-run (SIGKILL, as a crash or a lost host would). */
export async function startStoppableRedis (t: Teardownable): Promise<{ url: string, kill: () => void }> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => { reject(new Error(`redis-server did not start: ${out}`)) }, 10_000)
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve() }
    })
    child.on('exit', () => { clearTimeout(timer); reject(new Error(`redis-server exited: ${out}`)) })
  })
  return { url: `redis://127.0.0.1:${port}`, kill: () => { child.kill('SIGKILL') } }
}
