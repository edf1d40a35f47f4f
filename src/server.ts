// The only file that touches the process: environment, logger, listen, signals.
import Fastify from 'fastify'
import closeWithGrace from 'close-with-grace'
import fp from 'fastify-plugin'
import app, { serverOptions } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { loggerOptions, requestId, scrubber, secretValues } from './logger.ts'

try {
  process.loadEnvFile()
} catch { /* a .env file is optional */ }

let config: Config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  // A rejected value may be a credential (an ADMIN_API_KEY too short, a malformed connection string).
  const scrub = scrubber(secretValues({}, process.env))
  for (const problem of err.problems) process.stderr.write(scrub(`townhall: config: ${problem}\n`))
  process.exit(1)
}

const server = Fastify({
  ...serverOptions,
  logger: loggerOptions(config, process.stdout.isTTY, process.env),
  // requestId() takes a client's x-request-id only when it is a plain token; otherwise a UUID.
  requestIdHeader: false,
  genReqId: requestId,
  pluginTimeout: 120_000,
  forceCloseConnections: true
})

closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ err, signal }) => {
  if (err !== undefined) server.log.error({ err }, 'shutting down after an error')
  else server.log.info({ signal }, 'shutting down')
  // No new connections first: the WebSockets closed in preClose reconnect at once, and must reach another
  // instance through the balancer, not this one while it hands its worlds off. Fastify's own close of the
  // listener later takes ERR_SERVER_NOT_RUNNING as done.
  if (server.server.listening) server.server.close()
  await server.close()
})

try {
  await server.register(fp(app), { config })
  await server.listen({ host: config.HOST, port: config.PORT })
} catch (err) {
  server.log.fatal({ err }, `could not start: ${(err as Error).message}`)
  process.exit(1)
}
