// The Dockerfile without a Docker engine: multi-stage, everything it copies is in the build context, the final
// stage runs as an unprivileged user, and the image starts the same server as the README's start command.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { parse } from 'yaml'
import { configProperties, loadConfig } from '../../src/config.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (path: string): string => readFileSync(join(root, path), 'utf8')

interface Instruction { keyword: string, args: string, line: number }
interface Stage { name?: string, base: string, instructions: Instruction[] }

/** Instructions by stage: continuation lines joined, comments and parser directives dropped. */
export function parseDockerfile (text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let line = lines[i]!
    if (/^\s*(#|$)/.test(line)) continue
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++
      const next = lines[i]!
      // A comment inside a continuation is dropped; the instruction goes on.
      if (/^\s*#/.test(next)) continue
      line = line.replace(/\\\s*$/, ' ') + next.trim()
    }
    const [, keyword = '', args = ''] = /^\s*(\S+)\s*(.*)$/.exec(line) ?? []
    const instruction = { keyword: keyword.toUpperCase(), args: args.trim(), line: start + 1 }
    if (instruction.keyword === 'FROM') {
      const [, base = '', name] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(instruction.args) ?? []
      stages.push({ base, name, instructions: [] })
    } else {
      if (stages.length === 0) throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`)
      stages.at(-1)!.instructions.push(instruction)
    }
  }
  return stages
}

/** An exec-form (JSON array) argument, else the shell form as one string. */
function execForm (args: string): string[] | string {
  try {
    const parsed: unknown = JSON.parse(args)
    if (Array.isArray(parsed) && parsed.every((a) => typeof a === 'string')) return parsed
  } catch {}
  return args
}

/** `.dockerignore` as Docker reads it: patterns relative to the context, later ones win, `!` re-includes. */
export function dockerIgnored (patterns: string[], path: string): boolean {
  let ignored = false
  for (const raw of patterns) {
    const negate = raw.startsWith('!')
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '')
    const source = pattern.split('/').map((part) => part === '**'
      ? '.*'
      : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('/')
    // A pattern matching a directory excludes everything under it.
    if (new RegExp(`^${source}(/.*)?$`).test(path)) ignored = !negate
  }
  return ignored
}

const dockerignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
const stages = parseDockerfile(read('Dockerfile'))
const final = stages.at(-1)!
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts

/** What `npm start` / `npm run x` / a plain command runs: its script (pre-script separately), else the command itself. */
function resolveCommand (command: string[]): { pre?: string, run: string } {
  const [tool, verb, name] = command
  // --ignore-scripts skips the pre-script, not the script itself.
  const pre = (script: string): string | undefined => command.includes('--ignore-scripts') ? undefined : scripts[`pre${script}`]
  if (tool === 'npm' && (verb === 'start' || verb === 'test')) return { pre: pre(verb), run: scripts[verb]! }
  if (tool === 'npm' && (verb === 'run' || verb === 'run-script') && name !== undefined) return { pre: pre(name), run: scripts[name]! }
  return { run: command.join(' ') }
}

/** The command in the README's quick start that serves the app: `npm install && npm start` → npm start. */
function readmeStartCommand (): string[] {
  const readme = read('README.md')
  const section = readme.slice(readme.indexOf('## Quick start'))
  const block = /```(?:sh|bash|shell)\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  const firstLine = block.split('\n')[0]!.replace(/#.*$/, '')
  const commands = firstLine.split('&&').map((c) => c.trim().split(/\s+/))
  const start = commands.find((c) => !(c[0] === 'npm' && ['install', 'i', 'ci'].includes(c[1]!)))
  if (start === undefined) throw new Error(`no start command in the README's quick start: ${JSON.stringify(firstLine)}`)
  return start
}

function finalInstructions (keyword: string): Instruction[] {
  return final.instructions.filter((i) => i.keyword === keyword)
}

function finalEnv (): Record<string, string> {
  const env: Record<string, string> = {}
  for (const { args } of finalInstructions('ENV')) {
    for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[match[1]!] = match[2]!.replace(/^"|"$/g, '')
  }
  return env
}

test('the Dockerfile is multi-stage, with named stages and pinned base images', async (t) => {
  t.ok(stages.length >= 2, `${stages.length} stages`)
  const names = new Set<string>()
  for (const stage of stages) {
    t.match(stage.base, /^[^:@\s]+[:@](?!latest$)\S+$/, `base image ${stage.base} is pinned to a tag`)
    if (stage.name !== undefined) names.add(stage.name)
  }
  for (const [index, stage] of stages.entries()) {
    for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY')) {
      const from = /--from=(\S+)/.exec(copy.args)?.[1]
      if (from === undefined) continue
      const earlier = stages.slice(0, index).map((s) => s.name)
      t.ok(earlier.includes(from), `line ${copy.line}: COPY --from=${from} names an earlier stage`)
    }
  }
  t.ok(final.instructions.some((i) => i.keyword === 'COPY' && /--from=/.test(i.args)), 'the final stage copies the build\'s output')
  t.notOk(final.instructions.some((i) => i.keyword === 'RUN' && /\b(g\+\+|build-essential|npm (ci|install))\b/.test(i.args)), 'the final stage installs no compiler and runs no npm install')
})

test('everything the Dockerfile copies from the context exists and is not excluded by .dockerignore', async (t) => {
  for (const stage of stages) {
    for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
      if (/--from=/.test(copy.args)) continue
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'))
      for (const source of parts.slice(0, -1)) {
        const path = source.replace(/^\.\//, '').replace(/\/$/, '')
        t.ok(existsSync(join(root, path)), `line ${copy.line}: ${source} exists`)
        t.notOk(dockerIgnored(dockerignore, path), `line ${copy.line}: ${source} is in the build context (.dockerignore)`)
      }
    }
  }
  for (const path of ['.env', 'node_modules', 'data', 'dist', '.git']) {
    t.ok(dockerIgnored(dockerignore, path), `.dockerignore keeps ${path} out of the build context`)
  }
  t.notOk(dockerIgnored(dockerignore, '.env.example'), '.env.example stays in')
})

test('the final stage runs as a user that is not root', async (t) => {
  const users = finalInstructions('USER')
  t.ok(users.length > 0, 'the final stage sets USER')
  const user = users.at(-1)?.args ?? 'root'
  const [name = '', group] = user.split(':')
  t.notOk(['root', '0', ''].includes(name), `USER ${user} is not root`)
  t.notOk(group === 'root' || group === '0', `USER ${user} is not in the root group`)
  const last = final.instructions.at(-1)!
  const userIndex = final.instructions.lastIndexOf(users.at(-1)!)
  t.notOk(final.instructions.slice(userIndex).some((i) => i.keyword === 'RUN'), 'nothing runs as root after USER')
  t.ok(final.instructions.indexOf(last) >= userIndex, 'USER comes before the start command')
})

test('the image\'s environment is a valid configuration that listens on every interface, on the exposed port', async (t) => {
  const env = finalEnv()
  const known = new Set(Object.keys(configProperties))
  for (const key of Object.keys(env)) t.ok(key === 'NODE_ENV' || known.has(key), `ENV ${key} is a townhall variable (or NODE_ENV)`)
  const config = loadConfig(env)
  t.equal(config.HOST, '0.0.0.0', 'HOST=0.0.0.0: reachable from outside the container')
  const exposed = finalInstructions('EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]))
  t.ok(exposed.includes(config.PORT), `EXPOSE ${exposed.join(' ')} includes PORT ${config.PORT}`)
  const volumes = finalInstructions('VOLUME').flatMap((i) => { const v = execForm(i.args); return Array.isArray(v) ? v : v.split(/\s+/) })
  t.ok(volumes.includes(config.DATA_DIR), `DATA_DIR ${config.DATA_DIR} is a volume`)
  const compose = parse(read('docker-compose.yml')) as { services: { app: { ports: string[] } } }
  t.ok(compose.services.app.ports.some((p) => String(p).endsWith(`:${config.PORT}`)), 'docker compose publishes that port')
  const health = finalInstructions('HEALTHCHECK').at(-1)
  t.match(health?.args ?? '', /\/(health|ready)\b/, 'a HEALTHCHECK probes /health or /ready')
})

test('the image starts what the README\'s start command starts, after the build step that command would run', async (t) => {
  const readmeCommand = readmeStartCommand()
  t.same(readmeCommand, ['npm', 'start'], 'the README starts the server with npm start')
  const readme = resolveCommand(readmeCommand)
  const cmd = finalInstructions('CMD').at(-1)
  t.ok(cmd, 'the final stage has a CMD')
  t.equal(finalInstructions('ENTRYPOINT').length, 0, 'no ENTRYPOINT wraps the CMD')
  const image = execForm(cmd?.args ?? '')
  t.ok(Array.isArray(image), 'CMD is in exec form, so the server gets the signals as PID 1')
  const imageCommand = Array.isArray(image) ? image : image.split(/\s+/)
  const resolved = resolveCommand(imageCommand)
  t.equal(resolved.run, readme.run, `the image runs "${resolved.run}", as npm start does`)
  // npm start runs its pre-script (the build) first; in the image that happens in the build stage.
  if (readme.pre !== undefined && resolved.pre === undefined) {
    const pre = readme.pre
    const built = stages.slice(0, -1).some((s) => s.instructions.some((i) => i.keyword === 'RUN' && i.args.includes(pre)))
    t.ok(built, `an earlier stage runs npm start's pre-script (${pre})`)
  }
  // The entry point is the compiled form of a source file the build compiles.
  const entry = resolved.run.split(/\s+/).find((w) => w.endsWith('.js'))
  t.ok(entry, `the start command runs a JavaScript file (${resolved.run})`)
  const source = entry!.replace(/^dist\//, '').replace(/\.js$/, '.ts')
  t.ok(existsSync(join(root, source)), `${entry} is compiled from ${source}`)
  const copied = stages[0]!.instructions.filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args)).map((i) => i.args)
  t.ok(copied.some((args) => args.split(/\s+/).slice(0, -1).some((s) => source.startsWith(s.replace(/^\.\//, '').replace(/\/$/, '') + '/'))), `the build stage copies ${source}`)
})

test('the Dockerfile parser reads continuations, stages and .dockerignore negations', async (t) => {
  const parsed = parseDockerfile('# syntax=docker/dockerfile:1\nFROM node:20 AS build\nRUN a \\\n  # note\n  && b\nFROM node:20-slim\nUSER 1000\nCMD ["node", "x.js"]\n')
  t.same(parsed.map((s) => [s.base, s.name]), [['node:20', 'build'], ['node:20-slim', undefined]])
  t.same(parsed[0]!.instructions, [{ keyword: 'RUN', args: 'a  && b', line: 3 }])
  t.same(execForm(parsed[1]!.instructions[1]!.args), ['node', 'x.js'])
  t.ok(dockerIgnored(['test'], 'test/mongo-wire/x'))
  t.notOk(dockerIgnored(['.env.*', '!.env.example'], '.env.example'))
  t.ok(dockerIgnored(['.env.*', '!.env.example'], '.env.local'))
  t.ok(dockerIgnored(['*.log'], 'server.log'))
  t.notOk(dockerIgnored(['*.log'], 'logs/server.log'), '* does not cross directories')
})
