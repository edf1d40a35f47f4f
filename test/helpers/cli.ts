// The townhall command run as a user runs it: a child process with only PATH and the given settings.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const townhallBin = fileURLToPath(new URL('../../bin/townhall.js', import.meta.url))

/** Runs `townhall <args>` with `env` (and LOG_LEVEL silent); resolves with its exit code and output. */
export function townhall (args: string[], env: Record<string, string>): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [townhallBin, ...args], { env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'silent' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
}
