// The viewer's WebSocket client against the real app, with the `ws` package standing in for the browser's WebSocket.
import t from 'tap'
import type { AddressInfo } from 'node:net'
import WebSocket from 'ws'
import { buildApp } from '../helpers/app.ts'
import { storeTargets } from '../helpers/stores.ts'
import { Connection, type ConnectionStatus } from '../../src/viewer/connection.ts'

/** Resolves with the first value `check` accepts, polling a list the callbacks append to. */
async function until<T> (read: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = read()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('subscribes, mutates, decodes bytes, reconnects and resubscribes, switches identity', async (t) => {
  const app = await buildApp(t, storeTargets()[0])
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`
  const original = (globalThis as { WebSocket?: unknown }).WebSocket
  Object.assign(globalThis, { WebSocket })
  t.teardown(() => { Object.assign(globalThis, { WebSocket: original }) })

  const statuses: ConnectionStatus[] = []
  const connection = new Connection(base, (status) => { statuses.push(status) })
  const worlds: Array<{ worldId: string, engineId: string } | null> = []
  connection.subscribe('world:defaultWorldStatus', {}, (value) => { worlds.push(value) })
  connection.connect(null)
  const world = await until(() => worlds.find((w) => w !== null) ?? undefined)
  t.same(statuses, ['connected'])

  const states: Array<{ world: { historicalLocations?: Array<{ playerId: string, location: Uint8Array }> } }> = []
  connection.subscribe('world:worldState', { worldId: world.worldId }, (value) => { states.push(value) })
  const moving = await until(() => states.find((s) => (s.world.historicalLocations ?? []).length > 0))
  t.type(moving.world.historicalLocations![0]!.location, Uint8Array, 'packed movement arrives as bytes ($bytes decoded)')

  t.equal(await connection.mutation('world:heartbeatWorld', { worldId: world.worldId }), null)
  await t.rejects(connection.mutation('world:heartbeatWorld', {}), /worldId/, 'a server error rejects with its message')

  // The server drops every socket: the client reconnects and its subscriptions start again.
  const before = worlds.length
  for (const client of app.websocketServer.clients) client.terminate()
  await until(() => statuses.includes('reconnecting') && statuses.at(-1) === 'connected' ? true : undefined)
  await until(() => worlds.length > before ? true : undefined)
  t.pass('reconnected and resubscribed')

  // An identity token makes the socket act for one human; joining as it gives that human a player.
  const me: Array<string | null> = []
  connection.subscribe('world:userStatus', { worldId: world.worldId }, (value) => { me.push(value) })
  await until(() => me.length > 0 ? true : undefined)
  t.equal(me.at(-1), null, 'no identity before a token')
  const { token, tokenIdentifier } = await connection.mutation('auth:newPlayerToken', {})
  connection.connect(token)
  t.equal(await until(() => me.find((id) => id !== null) ?? undefined), tokenIdentifier, 'the socket is that identity')
  const joined = await connection.mutation('world:joinWorld', { worldId: world.worldId, name: 'Socket Sam' })
  const player = await until(() => states.at(-1)?.world && (states.at(-1)!.world as { players?: Array<{ id: string, human?: string }> }).players?.find((p) => p.human === tokenIdentifier))
  t.type(joined, 'string', 'joinWorld answers with the input id')
  t.type(await connection.mutation('world:sendWorldInput', { engineId: world.engineId, name: 'moveTo', args: { playerId: player.id, destination: null } }), 'string')
  connection.close()
  await until(() => app.websocketServer.clients.size === 0 ? true : undefined)
})
