// The townhall command run as a user runs it: a child process with only PATH and the given settings.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const townhallBin = fileURLToPath(new URL('../../bin/townhall.js', import.meta.url))

export interface CommandResult { code: number, stdout: string, stderr: string }

/**
 * Runs `townhall <args>` with only PATH, LOG_LEVEL silent (unless `env` sets it) and `env`; resolves with its
 * exit code and output (up to 16 MB of each).
 */
export function townhall (args: string[], env: Record<string, string>): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [townhallBin, ...args], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
}
