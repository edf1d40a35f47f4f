import { test } from 'tap'
import { ConfigError, loadConfig, configProperties, redactUrl } from '../../src/config.ts'
import { readFileSync } from 'node:fs'

function problems (env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

test('defaults: embedded store under ./data on port 3000', async (t) => {
  const config = loadConfig({})
  t.match(config, { STORE: 'embedded', DATA_DIR: './data', PORT: 3000, HOST: '127.0.0.1', LOG_LEVEL: 'info', MONGODB_DB: 'townhall' })
})

test('the store defaults to mongodb when MONGODB_URL is set, and STORE overrides it', async (t) => {
  t.equal(loadConfig({ MONGODB_URL: 'mongodb://localhost:27017' }).STORE, 'mongodb')
  t.equal(loadConfig({ MONGODB_URL: 'mongodb+srv://u:p@cluster0.example.net', STORE: 'embedded' }).STORE, 'embedded')
  t.equal(loadConfig({ PORT: '8080' }).PORT, 8080, 'numbers are converted')
  t.equal(loadConfig({ PORT: '' }).PORT, 3000, 'an empty value counts as unset')
})

test('each bad value gives one line naming the variable and what it expects', async (t) => {
  const lines = problems({ PORT: 'abc', MONGODB_URL: 'not-a-url', STORE: 'postgres', LOG_LEVEL: 'loud', REDIS_URL: 'http://x' })
  t.equal(lines.length, 5)
  t.match(lines, [
    /^PORT: expected an integer port from 0 to 65535, got "abc"$/,
    /^LOG_LEVEL: expected one of fatal/,
    /^STORE: expected embedded or mongodb, got "postgres"$/,
    /^MONGODB_URL: expected a MongoDB connection string starting with mongodb:\/\//,
    /^REDIS_URL: expected a Redis URL/
  ])
  t.same(problems({ PORT: '70000' }), ['PORT: expected an integer port from 0 to 65535, got "70000"'])
  t.match(problems({ STORE: 'mongodb' }), [/^MONGODB_URL: expected a MongoDB connection string because STORE=mongodb/])
})

test('every variable is documented in .env.example', async (t) => {
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
  for (const key of Object.keys(configProperties)) t.match(example, new RegExp(`^#? ?${key}=`, 'm'), key)
})

test('connection-string passwords are redacted', async (t) => {
  t.equal(redactUrl('mongodb+srv://user:s3cret@cluster0.example.net/db'), 'mongodb+srv://user:***@cluster0.example.net/db')
  t.equal(redactUrl('redis://:pw@localhost:6379'), 'redis://:***@localhost:6379')
  t.equal(redactUrl('mongodb://localhost:27017'), 'mongodb://localhost:27017')
})
