// No tracked file holds an absolute path from somebody's machine (a home folder, /tmp, a workspace): such a
// path works only there. Paths that are the same everywhere (inside a container image) are listed by file.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const MACHINE_PATH = /(?<![\w.-])\/(?:home|Users|tmp|work|root|private\/var)\/[\w.-]+/g
/** Container paths, the same on every machine. */
const ALLOWED: Record<string, readonly string[]> = {
  'docker-compose.yml': ['/root/.ollama'],
  'test/deploy/compose.test.ts': ['/root/.ollama'],
  'test/repo/paths.test.ts': []
}

t.test('tracked files hold no absolute paths from a developer\'s machine', async (t) => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter((f) => f !== '' && !f.endsWith('package-lock.json'))
  t.ok(files.length > 100, `${files.length} tracked files read`)
  const found: string[] = []
  for (const file of files) {
    if (file === 'test/repo/paths.test.ts') continue
    let text: string
    try {
      text = readFileSync(`${root}/${file}`, 'utf8')
    } catch {
      continue
    }
    if (text.includes('\u0000')) continue
    for (const match of text.matchAll(MACHINE_PATH)) {
      if ((ALLOWED[file] ?? []).some((allowed) => match[0].startsWith(allowed))) continue
      found.push(`${file}: ${match[0]}`)
    }
  }
  t.same(found, [], 'use a path relative to the project, a temporary directory made at run time, or a setting')
})
