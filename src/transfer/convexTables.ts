// How each AI Town table of a Convex export becomes townhall documents (BRIEF §1). Convex `_id`s and
// `_creationTime`s are kept, so every reference (worldStatus → worlds/engines, memories → memoryEmbeddings,
// messages → worlds) stays valid; game ids (`p:3`, `c:9`) are kept as they are.
import { Type, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { createRng } from '../game/index.ts'
import { unpackLocation } from '../game/locationHistory.ts'
import type { Agent, CharacterDescription, Conversation, PathComponent, Pathfinding, Player } from '../game/index.ts'
import type { CollectionName } from '../store/collections.ts'
import type { Doc } from '../store/types.ts'
import { bytesField } from './convexValue.ts'

export type ConvexDoc = Record<string, unknown> & { _id: string, _creationTime: number }

/** What the mapping of one table needs to know about the rest of the export (read before it). */
export interface MapContext {
  dimension: number
  /** The embeddings cache's model key for imported vectors (`model#dimension`). */
  embeddingModel: string
  /** worldId → its worldStatus (engineId, and the _id it is stored under). */
  statusByWorld: Map<string, { engineId: string, storedId: string }>
  /** engine _id → the Convex engine document. */
  engines: Map<string, ConvexDoc>
  /** worldId → playerId → player description. */
  playerDescriptions: Map<string, Map<string, ConvexDoc>>
  /** worldId → agentId → agent description. */
  agentDescriptions: Map<string, Map<string, ConvexDoc>>
  /** Convex _id of the worldStatus row stored under townhall's fixed default id, if any. */
  defaultStatusId: string | null
  /** Memory embeddings that were skipped: memories pointing at them are skipped too. */
  skippedEmbeddings: Set<string>
  /** The only world of the export, for messages written before AI Town stored their worldId. */
  onlyWorldId: string | null
  /** (model, textHash) pairs already mapped: AI Town can cache the same text twice under a race. */
  cacheKeys: Set<string>
  /** Notes for the report (said once each). */
  note: (text: string) => void
}

/** A document to write, one not imported (and why), or a harmless duplicate of one already mapped. */
export type Mapped = { doc: Doc } | { skip: string } | { duplicate: string }

export interface TableMapping {
  table: string
  target: CollectionName | null
  /** Small tables read in full before anything is written: the others' mappings need them. */
  preload?: boolean
  /** No other table's mapping needs this one's: it is imported beside the others, at the same time. */
  beside?: boolean
  /**
   * A top-level field of long number arrays (embeddings) that the mapping takes as the reading worker gives it,
   * a Float64Array, and passes on as one: the stores write a Float64Array as an array of numbers, and the
   * checksum hashes it as one, so 1,024 numbers are not copied into a plain array and back for each document.
   */
  float64Field?: string
  map: (doc: ConvexDoc, ctx: MapContext) => Mapped
}

const Num = Type.Number()
const Str = Type.String()
const Point = Type.Object({ x: Num, y: Num })
const Vec = Type.Object({ dx: Num, dy: Num })

const schemas = {
  worldStatus: Type.Object({
    worldId: Str,
    isDefault: Type.Boolean(),
    engineId: Str,
    lastViewed: Num,
    status: Type.Union([Type.Literal('running'), Type.Literal('stoppedByDeveloper'), Type.Literal('inactive')])
  }),
  engines: Type.Object({
    currentTime: Type.Optional(Num),
    lastStepTs: Type.Optional(Num),
    processedInputNumber: Type.Optional(Num),
    running: Type.Boolean(),
    generationNumber: Num
  }),
  playerDescriptions: Type.Object({ worldId: Str, playerId: Str, name: Str, description: Str, character: Str }),
  agentDescriptions: Type.Object({ worldId: Str, agentId: Str, identity: Str, plan: Str }),
  maps: Type.Object({
    worldId: Str,
    width: Num,
    height: Num,
    tileDim: Num,
    bgTiles: Type.Array(Type.Array(Type.Array(Num))),
    objectTiles: Type.Array(Type.Array(Type.Array(Num)))
  }),
  player: Type.Object({
    id: Str,
    human: Type.Optional(Str),
    lastInput: Num,
    position: Point,
    facing: Vec,
    speed: Num,
    pathfinding: Type.Optional(Type.Object({ destination: Point, started: Num, state: Type.Object({ kind: Str }) })),
    activity: Type.Optional(Type.Object({ description: Str, emoji: Type.Optional(Str), until: Num }))
  }),
  agent: Type.Object({
    id: Str, playerId: Str, toRemember: Type.Optional(Str), lastConversation: Type.Optional(Num), lastInviteAttempt: Type.Optional(Num)
  }),
  conversation: Type.Object({
    id: Str,
    creator: Str,
    created: Num,
    numMessages: Num,
    isTyping: Type.Optional(Type.Object({ playerId: Str, messageUuid: Str, since: Num })),
    lastMessage: Type.Optional(Type.Object({ author: Str, timestamp: Num })),
    participants: Type.Array(Type.Object({ playerId: Str, invited: Type.Optional(Num), status: Type.Object({ kind: Str, started: Type.Optional(Num) }) }))
  }),
  archivedConversations: Type.Object({
    worldId: Str,
    id: Str,
    creator: Str,
    created: Num,
    ended: Num,
    numMessages: Num,
    participants: Type.Array(Str),
    lastMessage: Type.Optional(Type.Object({ author: Str, timestamp: Num }))
  }),
  participatedTogether: Type.Object({ worldId: Str, conversationId: Str, player1: Str, player2: Str, ended: Num }),
  messages: Type.Object({ conversationId: Str, messageUuid: Str, author: Str, text: Str, worldId: Type.Optional(Str) }),
  inputs: Type.Object({
    engineId: Str,
    number: Num,
    name: Str,
    received: Num,
    returnValue: Type.Optional(Type.Union([
      Type.Object({ kind: Type.Literal('ok'), value: Type.Unknown() }),
      Type.Object({ kind: Type.Literal('error'), message: Str })
    ]))
  }),
  memories: Type.Object({
    playerId: Str,
    description: Str,
    embeddingId: Str,
    importance: Num,
    lastAccess: Num,
    data: Type.Union([
      Type.Object({ type: Type.Literal('conversation'), conversationId: Str, playerIds: Type.Array(Str) }),
      Type.Object({ type: Type.Literal('reflection'), relatedMemoryIds: Type.Array(Str) }),
      Type.Object({ type: Type.Literal('relationship'), playerId: Str })
    ])
  }),
  // embedding: an array of numbers or a Float64Array, checked by embeddingProblem.
  memoryEmbeddings: Type.Object({ playerId: Str, embedding: Type.Unknown() }),
  embeddingsCache: Type.Object({ textHash: Type.Unknown(), embedding: Type.Unknown() })
}

/** Why a document's embedding is not one: neither a Float64Array nor an array of numbers (null when it is). */
function embeddingProblem (value: unknown): string | null {
  if (value instanceof Float64Array) return null
  if (!Array.isArray(value)) return 'embedding must be an array of numbers'
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'number') return `embedding.${i} must be a number`
  return null
}

function checker (schema: TSchema): (value: unknown) => string | null {
  const compiled = Compile(schema)
  return (value) => {
    if (compiled.Check(value)) return null
    const [error] = compiled.Errors(value)
    if (error === undefined) return 'does not have the expected shape'
    const where = error.instancePath === '' ? 'the document' : error.instancePath.slice(1).replace(/\//g, '.')
    return `${where} ${error.message}`
  }
}

const check = Object.fromEntries(Object.entries(schemas).map(([k, s]) => [k, checker(s)])) as Record<keyof typeof schemas, (value: unknown) => string | null>

function base (doc: ConvexDoc): { _id: string, _creationTime: number } {
  return { _id: doc._id, _creationTime: doc._creationTime }
}

/** Copies the document's own fields (Convex's _id and _creationTime included). */
function asIs (doc: ConvexDoc): Doc {
  return { ...doc }
}

function checked (kind: keyof typeof schemas, doc: ConvexDoc, build: () => Mapped): Mapped {
  const problem = check[kind](doc) ?? ('embedding' in schemas[kind].properties ? embeddingProblem(doc.embedding) : null)
  return problem === null ? build() : { skip: `not an AI Town ${kind} document: ${problem}` }
}

/** AI Town paths are [x, y, dx, dy, t] tuples (older versions: {position, vector|facing, t} objects). */
function convertPath (path: unknown): PathComponent[] | null {
  if (!Array.isArray(path)) return null
  const out: PathComponent[] = []
  for (const item of path) {
    if (Array.isArray(item) && item.length === 5 && item.every((n) => typeof n === 'number')) {
      out.push({ position: { x: item[0], y: item[1] }, facing: { dx: item[2], dy: item[3] }, t: item[4] })
    } else if (item !== null && typeof item === 'object') {
      const o = item as { position?: { x: number, y: number }, facing?: { dx: number, dy: number }, vector?: { dx: number, dy: number }, t?: number }
      const facing = o.facing ?? o.vector
      if (o.position === undefined || facing === undefined || typeof o.t !== 'number') return null
      out.push({ position: { x: o.position.x, y: o.position.y }, facing: { dx: facing.dx, dy: facing.dy }, t: o.t })
    } else {
      return null
    }
  }
  return out
}

function convertPathfinding (p: Record<string, unknown>, now: number): Pathfinding | undefined {
  const state = p.state as { kind: string, until?: number, path?: unknown }
  const common = { destination: p.destination as Pathfinding['destination'], started: p.started as number }
  if (state.kind === 'waiting' && typeof state.until === 'number') return { ...common, state: { kind: 'waiting', until: state.until } }
  if (state.kind === 'moving') {
    const path = convertPath(state.path)
    if (path !== null && path.length > 0) return { ...common, state: { kind: 'moving', path } }
  }
  // needsPath (or a path we cannot read): the engine plans the route again.
  return { ...common, state: { kind: 'needsPath', since: now } }
}

export function convertPlayer (raw: Record<string, unknown>, now: number): Player {
  const player: Player = {
    id: raw.id as string,
    lastInput: raw.lastInput as number,
    position: { ...(raw.position as Player['position']) },
    facing: { ...(raw.facing as Player['facing']) },
    speed: raw.speed as number
  }
  if (typeof raw.human === 'string') player.human = raw.human
  if (raw.pathfinding !== undefined) player.pathfinding = convertPathfinding(raw.pathfinding as Record<string, unknown>, now)
  if (raw.activity !== undefined) player.activity = { ...(raw.activity as NonNullable<Player['activity']>) }
  return player
}

/** In-flight operations are dropped: the Convex action running them is gone, and the agent simply starts anew. */
export function convertAgent (raw: Record<string, unknown>): Agent {
  const agent: Agent = { id: raw.id as string, playerId: raw.playerId as string }
  if (typeof raw.toRemember === 'string') agent.toRemember = raw.toRemember
  if (typeof raw.lastConversation === 'number') agent.lastConversation = raw.lastConversation
  if (typeof raw.lastInviteAttempt === 'number') agent.lastInviteAttempt = raw.lastInviteAttempt
  return agent
}

const participantStatuses = new Set(['invited', 'walkingOver', 'participating'])

export function convertConversation (raw: Record<string, unknown>): Conversation {
  const participants = (raw.participants as Array<{ playerId: string, invited?: number, status: { kind: string, started?: number } }>).map((m) => ({
    playerId: m.playerId,
    status: (participantStatuses.has(m.status.kind) ? m.status.kind : 'invited') as Conversation['participants'][number]['status'],
    since: m.status.started ?? m.invited ?? (raw.created as number)
  }))
  const conversation: Conversation = {
    id: raw.id as string, creator: raw.creator as string, created: raw.created as number, numMessages: raw.numMessages as number, participants
  }
  if (raw.isTyping !== undefined) conversation.isTyping = { ...(raw.isTyping as NonNullable<Conversation['isTyping']>) }
  if (raw.lastMessage !== undefined) conversation.lastMessage = { ...(raw.lastMessage as NonNullable<Conversation['lastMessage']>) }
  return conversation
}

function keyed<T extends { id: string }> (items: T[]): Record<string, T> {
  return Object.fromEntries(items.map((item) => [item.id, item]))
}

/** AI Town's packed history is our own format: kept when every record decodes, else null. */
function packedLocationsOf (raw: unknown): Array<{ playerId: string, location: Buffer }> | null {
  if (!Array.isArray(raw)) return null
  const out: Array<{ playerId: string, location: Buffer }> = []
  for (const entry of raw as unknown[]) {
    if (entry === null || typeof entry !== 'object') return null
    const { playerId, location } = entry as Record<string, unknown>
    const bytes = bytesField(location)
    if (typeof playerId !== 'string' || bytes === null) return null
    try {
      unpackLocation(bytes)
    } catch {
      return null
    }
    out.push({ playerId, location: bytes })
  }
  return out
}

function mapWorld (doc: ConvexDoc, ctx: MapContext): Mapped {
  const status = ctx.statusByWorld.get(doc._id)
  if (status === undefined) return { skip: 'no worldStatus row names this world' }
  const engine = ctx.engines.get(status.engineId)
  if (engine === undefined) return { skip: `its engine ${status.engineId} is not in the engines table` }
  for (const field of ['players', 'agents', 'conversations'] as const) {
    if (!Array.isArray(doc[field])) return { skip: `not an AI Town world document: ${field} must be an array` }
  }
  if (typeof doc.nextId !== 'number') return { skip: 'not an AI Town world document: nextId must be a number' }
  const currentTime = (engine.currentTime as number | undefined) ?? doc._creationTime
  const rawPlayers = doc.players as Array<Record<string, unknown>>
  const rawAgents = doc.agents as Array<Record<string, unknown>>
  const rawConversations = doc.conversations as Array<Record<string, unknown>>
  for (const p of rawPlayers) { const e = check.player(p); if (e !== null) return { skip: `player ${String(p.id)}: ${e}` } }
  for (const a of rawAgents) { const e = check.agent(a); if (e !== null) return { skip: `agent ${String(a.id)}: ${e}` } }
  for (const c of rawConversations) { const e = check.conversation(c); if (e !== null) return { skip: `conversation ${String(c.id)}: ${e}` } }
  if (rawAgents.some((a) => a.inProgressOperation !== undefined)) ctx.note('agents\' in-flight operations were dropped (the Convex actions running them are gone); those agents start a new one on the first step')
  const historicalLocations = doc.historicalLocations === undefined ? undefined : packedLocationsOf(doc.historicalLocations)
  if (historicalLocations === null) ctx.note('worlds.historicalLocations (the last step\'s movement) was not carried over: not a list of {playerId, location} records packed for AI Town\'s location fields; the engine writes its own on its first step')
  // The cast agents are created from: the world's agents, described as AI Town described them.
  const players = ctx.playerDescriptions.get(doc._id)
  const agents = ctx.agentDescriptions.get(doc._id)
  const cast: CharacterDescription[] = []
  for (const a of rawAgents) {
    const pd = players?.get(a.playerId as string)
    const ad = agents?.get(a.id as string)
    if (pd !== undefined && ad !== undefined) cast.push({ name: pd.name as string, character: pd.character as string, identity: ad.identity as string, plan: ad.plan as string })
  }
  const processed = (engine.processedInputNumber as number | undefined) ?? 0
  return {
    doc: {
      ...base(doc),
      nextId: doc.nextId,
      rngState: createRng(doc._id),
      players: keyed(rawPlayers.map((p) => convertPlayer(p, currentTime))),
      agents: keyed(rawAgents.map(convertAgent)),
      conversations: keyed(rawConversations.map(convertConversation)),
      ...(historicalLocations != null ? { historicalLocations } : {}),
      engineId: status.engineId,
      cast,
      step: {
        number: 0,
        generation: engine.generationNumber as number,
        currentTime,
        lastStepTs: (engine.lastStepTs as number | undefined) ?? currentTime,
        processedInputNumber: processed
      }
    }
  }
}

function worldOf (doc: ConvexDoc, ctx: MapContext): string | null {
  if (typeof doc.worldId === 'string') return doc.worldId
  return ctx.onlyWorldId
}

/** AI Town keys memories by player id alone; townhall by world too: the export's world that has the player. */
function memoryWorldOf (playerId: string, ctx: MapContext): string | null {
  if (ctx.onlyWorldId !== null) return ctx.onlyWorldId
  const worlds = [...ctx.playerDescriptions].filter(([, players]) => players.has(playerId)).map(([worldId]) => worldId)
  return worlds.length === 1 ? worlds[0]! : null
}

const NO_MEMORY_WORLD = 'its player id is in more than one world of the export (or none), so its world is unknown'

export const tableMappings: TableMapping[] = [
  {
    table: 'worldStatus',
    target: 'worldStatus',
    preload: true,
    map: (doc, ctx) => checked('worldStatus', doc, () => ({
      doc: { ...asIs(doc), _id: doc._id === ctx.defaultStatusId ? 'default' : doc._id, isDefault: doc._id === ctx.defaultStatusId }
    }))
  },
  {
    table: 'engines',
    target: 'engines',
    preload: true,
    map: (doc, ctx) => checked('engines', doc, () => {
      const worldId = [...ctx.statusByWorld].find(([, s]) => s.engineId === doc._id)?.[0]
      if (worldId === undefined) return { skip: 'no worldStatus row names this engine' }
      const currentTime = (doc.currentTime as number | undefined) ?? doc._creationTime
      return {
        doc: {
          ...base(doc),
          worldId,
          running: doc.running,
          generationNumber: doc.generationNumber,
          currentTime,
          lastStepTs: (doc.lastStepTs as number | undefined) ?? currentTime,
          processedInputNumber: (doc.processedInputNumber as number | undefined) ?? 0,
          runner: null
        }
      }
    })
  },
  { table: 'playerDescriptions', target: 'playerDescriptions', preload: true, map: (doc) => checked('playerDescriptions', doc, () => ({ doc: asIs(doc) })) },
  { table: 'agentDescriptions', target: 'agentDescriptions', preload: true, map: (doc) => checked('agentDescriptions', doc, () => ({ doc: asIs(doc) })) },
  { table: 'maps', target: 'maps', map: (doc) => checked('maps', doc, () => ({ doc: asIs(doc) })) },
  { table: 'worlds', target: 'worlds', map: mapWorld },
  {
    table: 'archivedPlayers',
    target: 'archivedPlayers',
    map: (doc, ctx) => {
      const e = check.player(doc)
      if (e !== null || typeof doc.worldId !== 'string') return { skip: `not an AI Town archived player: ${e ?? 'worldId must be a string'}` }
      const engine = ctx.engines.get(ctx.statusByWorld.get(doc.worldId)?.engineId ?? '')
      return { doc: { ...base(doc), worldId: doc.worldId, ...convertPlayer(doc, (engine?.currentTime as number | undefined) ?? doc._creationTime) } }
    }
  },
  {
    table: 'archivedAgents',
    target: 'archivedAgents',
    map: (doc) => {
      const e = check.agent(doc)
      if (e !== null || typeof doc.worldId !== 'string') return { skip: `not an AI Town archived agent: ${e ?? 'worldId must be a string'}` }
      return { doc: { ...base(doc), worldId: doc.worldId, ...convertAgent(doc) } }
    }
  },
  { table: 'archivedConversations', target: 'archivedConversations', map: (doc) => checked('archivedConversations', doc, () => ({ doc: asIs(doc) })) },
  { table: 'participatedTogether', target: 'participatedTogether', map: (doc) => checked('participatedTogether', doc, () => ({ doc: asIs(doc) })) },
  {
    table: 'messages',
    target: 'messages',
    map: (doc, ctx) => checked('messages', doc, () => {
      const worldId = worldOf(doc, ctx)
      if (worldId === null) return { skip: 'the message has no worldId and the export holds more than one world' }
      return { doc: { ...asIs(doc), worldId } }
    })
  },
  { table: 'inputs', target: 'inputs', map: (doc) => checked('inputs', doc, () => ({ doc: asIs(doc) })) },
  {
    table: 'memoryEmbeddings',
    target: 'memoryEmbeddings',
    float64Field: 'embedding',
    map: (doc, ctx) => checked('memoryEmbeddings', doc, () => {
      const length = (doc.embedding as ArrayLike<number>).length
      if (length !== ctx.dimension) {
        ctx.skippedEmbeddings.add(doc._id)
        return { skip: `embedding has ${length} dimensions, EMBEDDING_DIMENSION is ${ctx.dimension}` }
      }
      const worldId = memoryWorldOf(doc.playerId as string, ctx)
      if (worldId === null) {
        ctx.skippedEmbeddings.add(doc._id)
        return { skip: NO_MEMORY_WORLD }
      }
      return { doc: { ...asIs(doc), worldId } }
    })
  },
  {
    table: 'memories',
    target: 'memories',
    map: (doc, ctx) => checked('memories', doc, () => {
      const worldId = memoryWorldOf(doc.playerId as string, ctx)
      if (worldId === null) return { skip: NO_MEMORY_WORLD }
      if (ctx.skippedEmbeddings.has(doc.embeddingId as string)) return { skip: 'its embedding was skipped' }
      return { doc: { ...asIs(doc), worldId } }
    })
  },
  {
    table: 'embeddingsCache',
    target: 'embeddingsCache',
    beside: true,
    float64Field: 'embedding',
    map: (doc, ctx) => checked('embeddingsCache', doc, () => {
      const hash = bytesField(doc.textHash)
      if (hash === null || hash.length !== 32) return { skip: 'textHash must be the 32 bytes of a SHA-256' }
      const length = (doc.embedding as ArrayLike<number>).length
      if (length !== ctx.dimension) return { skip: `embedding has ${length} dimensions, EMBEDDING_DIMENSION is ${ctx.dimension}` }
      const textHash = hash.toString('hex')
      if (ctx.cacheKeys.has(textHash)) return { duplicate: 'the same text cached twice: the first entry is kept' }
      ctx.cacheKeys.add(textHash)
      return { doc: { ...base(doc), model: ctx.embeddingModel, textHash, embedding: doc.embedding } }
    })
  },
  { table: 'music', target: null, map: () => ({ skip: 'townhall has no background music (file storage is not part of the export)' }) }
]

export const mappingByTable = new Map(tableMappings.map((m) => [m.table, m]))
