// Players: joining, leaving, moving, and the per-tick pathfinding and position update.
import type { Game } from './game.ts'
import {
  addedPlayer, agentByPlayer, allocateId, conversationOf, invalidate, playerIndexOf, rng, spatialHash
} from './game.ts'
import type { PathComponent, Player, Point, Vector } from './types.ts'
import {
  COLLISION_THRESHOLD, HUMAN_IDLE_TIMEOUT, MAX_HUMAN_PLAYERS, MOVEMENT_SPEED,
  PATHFINDING_BACKOFF, PATHFINDING_TIMEOUT, SPAWN_ATTEMPTS
} from './constants.ts'
import { findPlayerNear, isStaticBlocked } from './grid.ts'
import { findRoute } from './pathfinding.ts'
import { direction, distance, samePoint } from './geometry.ts'
import { nextFloat, nextInt, pick } from './rng.ts'
import { endConversation } from './conversations.ts'
import { GameError } from './errors.ts'

const FACINGS: Vector[] = [{ dx: 1, dy: 0 }, { dx: -1, dy: 0 }, { dx: 0, dy: 1 }, { dx: 0, dy: -1 }]

export interface JoinArgs {
  name: string
  character: string
  description: string
  tokenIdentifier?: string
}

/** Adds a player on a random free tile; returns its id. */
export function joinWorld (game: Game, args: JoinArgs): string {
  const { world, now, grid } = game
  if (args.tokenIdentifier !== undefined) {
    let humans = 0
    for (const p of world.players) {
      if (p.human === undefined) continue
      if (p.human === args.tokenIdentifier) throw new GameError('join: you are already in this world')
      humans++
    }
    if (humans >= MAX_HUMAN_PLAYERS) throw new GameError(`join: the world is full (at most ${MAX_HUMAN_PLAYERS} human players)`)
  }
  const hash = spatialHash(game)
  let position: Point | undefined
  for (let attempt = 0; attempt < SPAWN_ATTEMPTS && position === undefined; attempt++) {
    const x = nextInt(rng(game), grid.width)
    const y = nextInt(rng(game), grid.height)
    if (grid.blocked[x + y * grid.width] === 1) continue
    if (findPlayerNear(hash, world.players, x, y, COLLISION_THRESHOLD) !== -1) continue
    position = { x, y }
  }
  if (position === undefined) {
    throw new GameError(`join: found no free tile to spawn on after ${SPAWN_ATTEMPTS} tries`)
  }
  const facing = pick(rng(game), FACINGS)
  const player: Player = {
    id: allocateId(game, 'p'),
    lastInput: now,
    position,
    facing: { dx: facing.dx, dy: facing.dy },
    speed: 0
  }
  if (args.tokenIdentifier !== undefined) player.human = args.tokenIdentifier
  world.players.push(player)
  addedPlayer(game, player)
  game.out.playerDescriptions.push({
    playerId: player.id,
    name: args.name,
    description: args.description,
    character: args.character
  })
  return player.id
}

/** Removes a player (and its agent) from the live world, ending its conversation. */
export function removePlayer (game: Game, playerId: string): void {
  const conversation = conversationOf(game, playerId)
  if (conversation) endConversation(game, conversation)
  const index = playerIndexOf(game, playerId)
  if (index === -1) return
  const [player] = game.world.players.splice(index, 1)
  game.out.archivedPlayers.push(player)
  const agent = agentByPlayer(game, playerId)
  if (agent) {
    game.world.agents.splice(game.world.agents.indexOf(agent), 1)
    game.out.archivedAgents.push(agent)
  }
  invalidate(game)
}

export function stopMoving (player: Player): void {
  delete player.pathfinding
  player.speed = 0
}

/** Starts (or with null, cancels) a walk to an integer tile. */
export function movePlayer (game: Game, player: Player, destination: Point | null): void {
  const conversation = conversationOf(game, player.id)
  const member = conversation?.participants.find((m) => m.playerId === player.id)
  if (member?.status === 'participating') {
    throw new GameError(`moveTo: ${player.id} cannot move while participating in ${conversation!.id}`)
  }
  if (destination === null) {
    stopMoving(player)
    return
  }
  player.pathfinding = {
    destination: { x: destination.x, y: destination.y },
    started: game.now,
    state: { kind: 'needsPath', since: game.now }
  }
}

function backOff (game: Game, player: Player): void {
  player.pathfinding!.state = { kind: 'waiting', until: game.now + nextFloat(rng(game)) * PATHFINDING_BACKOFF }
  player.speed = 0
}

function planRoute (game: Game, index: number): void {
  const player = game.world.players[index]
  const pathfinding = player.pathfinding!
  const { now } = game
  if (samePoint(player.position, pathfinding.destination)) {
    stopMoving(player)
    return
  }
  game.routes.searches++
  const corners = findRoute({
    grid: game.grid,
    hash: spatialHash(game),
    players: game.world.players,
    self: index,
    from: player.position,
    destination: pathfinding.destination
  }, game.search)
  if (corners === null) {
    backOff(game, player)
    return
  }
  if (corners.length < 2) {
    // Already at the reachable point closest to the destination.
    stopMoving(player)
    return
  }
  const path: PathComponent[] = []
  let t = now
  let facing = player.facing
  for (let i = 0; i < corners.length; i++) {
    if (i > 0) t += (distance(corners[i - 1], corners[i]) / MOVEMENT_SPEED) * 1000
    if (i < corners.length - 1) facing = direction(corners[i], corners[i + 1])
    path.push({ position: corners[i], facing: { dx: facing.dx, dy: facing.dy }, t })
  }
  pathfinding.state = { kind: 'moving', path }
}

function advance (game: Game, index: number): void {
  const player = game.world.players[index]
  const pathfinding = player.pathfinding!
  if (pathfinding.state.kind !== 'moving') return
  const { path } = pathfinding.state
  const { now } = game
  const last = path[path.length - 1]
  let x: number
  let y: number
  let facing: Vector
  let arrived = false
  if (now >= last.t) {
    x = last.position.x
    y = last.position.y
    facing = path.length > 1 ? path[path.length - 2].facing : player.facing
    arrived = true
  } else {
    let k = 0
    while (k < path.length - 2 && path[k + 1].t <= now) k++
    const a = path[k]
    const b = path[k + 1]
    const f = b.t > a.t ? (now - a.t) / (b.t - a.t) : 1
    x = a.position.x + (b.position.x - a.position.x) * f
    y = a.position.y + (b.position.y - a.position.y) * f
    facing = a.facing
  }
  if (isStaticBlocked(game.grid, x, y) ||
      findPlayerNear(spatialHash(game), game.world.players, x, y, COLLISION_THRESHOLD, index, -1, player.position) !== -1) {
    backOff(game, player)
    return
  }
  // Updated in place: this runs for every walker on every tick.
  player.position.x = x
  player.position.y = y
  player.facing.dx = facing.dx
  player.facing.dy = facing.dy
  if (arrived) stopMoving(player)
  else player.speed = MOVEMENT_SPEED
}

/** Per tick: drop idle humans, run pathfinding, move. */
export function tickPlayers (game: Game): void {
  const { world, now, routes } = game
  for (let i = world.players.length - 1; i >= 0; i--) {
    const player = world.players[i]
    if (player.human !== undefined && now - player.lastInput > HUMAN_IDLE_TIMEOUT) removePlayer(game, player.id)
  }

  const needing: number[] = []
  for (let i = 0; i < world.players.length; i++) {
    const player = world.players[i]
    const pathfinding = player.pathfinding
    if (!pathfinding) continue
    if (now - pathfinding.started > PATHFINDING_TIMEOUT) {
      stopMoving(player)
      continue
    }
    if (pathfinding.state.kind === 'waiting' && now >= pathfinding.state.until) {
      pathfinding.state = { kind: 'needsPath', since: now }
    }
    if (pathfinding.state.kind === 'needsPath') needing.push(i)
  }
  if (needing.length > 0) {
    // Oldest request first, so a cap on searches delays players fairly instead of starving some.
    const since = new Float64Array(world.players.length)
    for (const i of needing) since[i] = (world.players[i].pathfinding!.state as { since: number }).since
    needing.sort((a, b) => since[a] - since[b] || a - b)
    for (const i of needing) {
      const waited = now - since[i]
      if (waited > routes.maxWaitMs) routes.maxWaitMs = waited
      if (routes.searches < routes.budget) planRoute(game, i)
      else routes.waited.add(world.players[i].id)
    }
  }

  for (let i = 0; i < world.players.length; i++) {
    if (world.players[i].pathfinding?.state.kind === 'moving') advance(game, i)
  }
}
