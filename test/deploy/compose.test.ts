// docker-compose.yml without a Docker engine: it parses, everything it points at is in the repository, its
// profiles and dependencies are consistent, and the app's environment is a valid townhall configuration.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { parse } from 'yaml'
import { configProperties, loadConfig } from '../../src/config.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const composeFile = join(root, 'docker-compose.yml')

type DependsOn = string[] | Record<string, { condition?: string, required?: boolean, restart?: boolean }>
interface Service {
  image?: string
  build?: string | { context?: string, dockerfile?: string, target?: string }
  profiles?: string[]
  depends_on?: DependsOn
  env_file?: string | Array<string | { path: string, required?: boolean }>
  environment?: Record<string, string | number | boolean | null> | string[]
  ports?: Array<string | number | { target: number, published?: string | number }>
  volumes?: Array<string | { type: string, source?: string, target: string }>
  healthcheck?: { test?: string | string[], disable?: boolean }
  [key: string]: unknown
}
interface Compose { services: Record<string, Service>, volumes?: Record<string, unknown>, [key: string]: unknown }

const compose = parse(readFileSync(composeFile, 'utf8')) as Compose
const services = Object.entries(compose.services ?? {})

/** Compose's interpolation of ${NAME}, ${NAME:-default}, ${NAME-default} and $$, against a given shell environment. */
export function interpolate (value: string, shell: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, op?: string, fallback?: string, bare?: string) => {
    if (whole === '$$') return '$'
    const name = braced ?? bare!
    const set = shell[name]
    if (op === ':-') return set === undefined || set === '' ? fallback! : set
    if (op === '-') return set === undefined ? fallback! : set
    return set ?? ''
  })
}

function environmentOf (service: Service): Record<string, string> {
  const env: Record<string, string> = {}
  const raw = service.environment ?? {}
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const [key, ...rest] = entry.split('=')
      env[key!] = rest.join('=')
    }
  } else {
    for (const [key, value] of Object.entries(raw)) env[key] = value === null ? '' : String(value)
  }
  return env
}

function dependsOn (service: Service): Array<{ name: string, condition: string, required: boolean }> {
  const deps = service.depends_on ?? []
  if (Array.isArray(deps)) return deps.map((name) => ({ name, condition: 'service_started', required: true }))
  return Object.entries(deps).map(([name, d]) => ({ name, condition: d.condition ?? 'service_started', required: d.required !== false }))
}

/** The app's environment as the container sees it, for a shell environment (compose's interpolation applied). */
function appEnvironment (shell: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(environmentOf(compose.services.app!))) env[key] = interpolate(value, shell)
  return env
}

test('the compose file parses into services, each with an image or a build', async (t) => {
  t.type(compose, 'object')
  t.ok(services.length > 0, 'it has services')
  const known = new Set(['name', 'services', 'volumes', 'networks', 'configs', 'secrets', 'include'])
  t.same(Object.keys(compose).filter((k) => !known.has(k) && !k.startsWith('x-')), [], 'only known top-level keys (no obsolete "version")')
  for (const [name, service] of services) {
    t.ok(service.image !== undefined || service.build !== undefined, `${name} has an image or a build`)
  }
  t.ok(compose.services.app, 'there is an app service')
})

test('every build context, Dockerfile, env_file and bind-mounted path exists in the repository', async (t) => {
  for (const [name, service] of services) {
    if (service.build !== undefined) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build
      const context = resolve(root, build.context ?? '.')
      t.ok(existsSync(context) && statSync(context).isDirectory(), `${name}: build context ${build.context ?? '.'} is a directory`)
      const dockerfile = join(context, build.dockerfile ?? 'Dockerfile')
      t.ok(existsSync(dockerfile), `${name}: Dockerfile ${build.dockerfile ?? 'Dockerfile'} exists`)
      if (build.target !== undefined) {
        t.match(readFileSync(dockerfile, 'utf8'), new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${build.target}\\s*$`, 'im'), `${name}: build target ${build.target} is a stage`)
      }
    }
    const envFiles = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file]
    for (const entry of envFiles) {
      const { path, required } = typeof entry === 'string' ? { path: entry, required: true } : { path: entry.path, required: entry.required !== false }
      if (required) t.ok(existsSync(resolve(root, path)), `${name}: env_file ${path} exists`)
    }
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.type === 'bind' ? volume.source ?? '' : ''
      if (source === '' || !/^[./~]/.test(source)) {
        // A named volume: it must be declared at the top level.
        if (source !== '' && !source.startsWith('$')) t.ok(compose.volumes !== undefined && source in compose.volumes, `${name}: named volume ${source} is declared`)
        continue
      }
      t.ok(existsSync(resolve(root, source)), `${name}: bind-mounted path ${source} exists`)
    }
  }
})

test('profiles are valid and no always-on service needs a service from a profile', async (t) => {
  const profileOf = new Map(services.map(([name, s]) => [name, s.profiles ?? []]))
  for (const [name, service] of services) {
    for (const profile of service.profiles ?? []) {
      t.match(profile, /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, `${name}: profile ${profile} is a valid profile name`)
    }
    for (const dep of dependsOn(service)) {
      t.ok(profileOf.has(dep.name), `${name} depends on ${dep.name}, which is a service`)
      t.ok(['service_started', 'service_healthy', 'service_completed_successfully'].includes(dep.condition), `${name} → ${dep.name}: condition ${dep.condition} is known`)
      if (dep.condition === 'service_healthy') {
        const health = compose.services[dep.name]?.healthcheck
        t.ok(health?.test !== undefined && health.disable !== true, `${name} waits for ${dep.name} to be healthy, and it has a healthcheck`)
      }
      // Compose refuses to start a service whose required dependency is switched off by a profile.
      const depProfiles = profileOf.get(dep.name) ?? []
      const mine = service.profiles ?? []
      if (dep.required && depProfiles.length > 0) {
        t.ok(mine.length > 0 && mine.every((p) => depProfiles.includes(p)), `${name} depends on ${dep.name} only where its profile (${depProfiles.join(', ')}) is on`)
      }
    }
  }
  const ollama = compose.services.ollama
  t.ok(ollama, 'there is an ollama service')
  t.same(ollama?.profiles, ['ollama'], 'ollama runs only with --profile ollama')
  const models = (ollama?.volumes ?? []).find((v) => (typeof v === 'string' ? v.split(':')[1] : v.target) === '/root/.ollama')
  t.ok(models, 'Ollama\'s models live in a volume (/root/.ollama)')
  t.ok(readFileSync(join(root, 'README.md'), 'utf8').includes('OLLAMA_HOST=http://ollama:11434 docker compose --profile ollama up'), 'the README shows how to turn the profile on')
})

test('the app\'s environment uses only configuration variables and passes through the same names', async (t) => {
  const customProvider = /^CUSTOM_PROVIDER_\d+_(NAME|URL|API_KEY|CHAT_MODEL|EMBEDDING_MODEL|EMBEDDING_DIMENSION)$/
  const known = new Set(Object.keys(configProperties))
  for (const [key, value] of Object.entries(environmentOf(compose.services.app!))) {
    t.ok(known.has(key) || customProvider.test(key), `${key} is a townhall configuration variable`)
    // OPENAI_API_KEY: ${OPENAI_API_KEY:-}, never a misspelt ${OPENAI_KEY}.
    for (const match of value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) {
      t.equal(match[1], key, `${key} passes through the shell's ${key}`)
    }
  }
})

test('with nothing set in the shell, the app\'s environment is a valid configuration that reaches the other services', async (t) => {
  const env = appEnvironment({})
  const config = loadConfig(env)
  t.equal(config.STORE, 'mongodb')
  t.equal(config.HOST, '0.0.0.0', 'listens on every interface inside the container')
  t.equal(config.llm.chat.kind, 'offline', 'no provider configured: the town runs offline')
  const published = (compose.services.app!.ports ?? []).map((p) => typeof p === 'object' ? String(p.target) : String(p).split(':').at(-1))
  t.ok(published.includes(String(config.PORT)), `the app's port ${config.PORT} is the one published`)
  const app = compose.services.app!
  const needs = new Map(dependsOn(app).map((d) => [d.name, d]))
  for (const [variable, url, port] of [['MONGODB_URL', config.MONGODB_URL, 27017], ['REDIS_URL', config.REDIS_URL, 6379]] as const) {
    t.ok(url, `${variable} is set`)
    const { hostname, port: given } = new URL(url!)
    t.ok(compose.services[hostname] !== undefined, `${variable} names the ${hostname} service`)
    t.equal(compose.services[hostname]?.profiles, undefined, `${hostname} is always on`)
    t.equal(Number(given || port), port, `${variable} uses ${hostname}'s port`)
    t.equal(needs.get(hostname)?.condition, 'service_healthy', `the app waits for ${hostname} to be healthy`)
  }
  const dataVolume = (app.volumes ?? []).some((v) => (typeof v === 'string' ? v.split(':')[1] : v.target) === config.DATA_DIR)
  t.ok(dataVolume, `DATA_DIR (${config.DATA_DIR}) is a volume`)
})

test('with OLLAMA_HOST=http://ollama:11434 the app uses the ollama profile\'s service', async (t) => {
  const config = loadConfig(appEnvironment({ OLLAMA_HOST: 'http://ollama:11434' }))
  t.equal(config.llm.chat.kind, 'ollama', 'chat through Ollama')
  t.equal(config.llm.embedding.kind, 'ollama', 'embeddings through Ollama')
  const { hostname, port } = new URL(config.llm.chat.baseUrl)
  t.same(compose.services[hostname]?.profiles, ['ollama'], `${hostname} is the ollama profile's service`)
  t.equal(port, '11434', 'Ollama\'s port')
  // An OpenAI key in the shell reaches the app too.
  const openai = loadConfig(appEnvironment({ OPENAI_API_KEY: 'sk-from-the-shell' }))
  t.equal(openai.llm.chat.kind, 'openai')
})
