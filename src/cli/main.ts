// The townhall command's process entry: parses arguments, opens the store, prints, exits.
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config.ts'
import { openStore } from '../store/index.ts'
import { historyCommands, replayCommands, transferCommands, usage, UsageError, worldCommands, WorldCommandError } from './verbs.ts'

function fail (message: string, code: number): never {
  process.stderr.write(`townhall: ${message}\n`)
  process.exit(code)
}

const options = {
  world: { type: 'string' },
  map: { type: 'string' },
  cast: { type: 'string' },
  name: { type: 'string' },
  agents: { type: 'string' },
  seed: { type: 'string' },
  yes: { type: 'boolean' },
  json: { type: 'boolean' },
  'from-step': { type: 'string' },
  'to-step': { type: 'string' },
  'at-step': { type: 'string' },
  verify: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'allow-skips': { type: 'boolean' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const
let parsed: ReturnType<typeof parseArgs<{ options: typeof options, allowPositionals: true }>>
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options,
    allowPositionals: true
  })
} catch (err) {
  process.stderr.write(`${usage}\n\n`)
  fail((err as Error).message, 2)
}

const { positionals, values } = parsed
if (values.help === true || positionals.length === 0) {
  process.stdout.write(`${usage}\n`)
  process.exit(positionals.length === 0 && values.help !== true ? 2 : 0)
}

if (positionals[0] === 'start') {
  await import('../server.ts')
} else {
  try { process.loadEnvFile() } catch { /* optional */ }
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    fail(err.problems.join('\ntownhall: '), 1)
  }
  const store = await openStore(config)
  try {
    if (transferCommands.has(positionals[0]!)) {
      const { runTransferCommand } = await import('./transfer.ts')
      const result = await runTransferCommand(store, config, { positionals, json: values.json === true, dryRun: values['dry-run'] === true, allowSkips: values['allow-skips'] === true })
      process.stdout.write(`${result.text}\n`)
      process.exitCode = result.code
    } else if (positionals[0] === 'world' && replayCommands.has(positionals[1] ?? '')) {
      const { runReplayCommand } = await import('./replay.ts')
      const result = await runReplayCommand(store, config, {
        positionals, world: values.world, fromStep: values['from-step'], toStep: values['to-step'], atStep: values['at-step'], name: values.name, verify: values.verify === true, json: values.json === true
      }, (line) => { process.stderr.write(`${line}\n`) }, Date.now)
      process.stdout.write(`${result.text}\n`)
      process.exitCode = result.code
    } else if (positionals[0] === 'world' && historyCommands.has(positionals[1] ?? '')) {
      const { runHistoryCommand } = await import('./history.ts')
      const result = await runHistoryCommand(store, { positionals, world: values.world, out: values.out, json: values.json === true }, (line) => { process.stderr.write(`${line}\n`) }, Date.now)
      process.stdout.write(`${result.text}\n`)
      process.exitCode = result.code
    } else if (positionals[0] === 'world' && worldCommands.has(positionals[1] ?? '')) {
      const { runWorldCommand } = await import('./worlds.ts')
      const out = await runWorldCommand(store, { sub: positionals[1]!, world: values.world, yes: values.yes === true, json: values.json === true, map: values.map, cast: values.cast, name: values.name, agents: values.agents, seed: values.seed }, Date.now)
      process.stdout.write(`${out}\n`)
    } else if (positionals[0] === 'llm') {
      const { runLlmCommand } = await import('./llm.ts')
      process.stdout.write(`${await runLlmCommand(store, config, { positionals, world: values.world, json: values.json === true }, Date.now)}\n`)
    } else {
      const { runCommand } = await import('./commands.ts')
      const out = await runCommand(store, { positionals, world: values.world, yes: values.yes === true, json: values.json === true }, Date.now)
      process.stdout.write(`${out}\n`)
    }
  } catch (err) {
    if (err instanceof WorldCommandError) fail(err.message, 2)
    if (err instanceof UsageError) {
      process.stderr.write(`${usage}\n\n`)
      fail(err.message, 2)
    }
    fail((err as Error).message, 1)
  } finally {
    await store.close()
  }
}
