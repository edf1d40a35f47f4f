// The numbers of the game rules (BRIEF §2–3). Times are in milliseconds, distances in tiles.

export const TICK_MS = 16
export const MAX_TICKS_PER_STEP = 600

export const MOVEMENT_SPEED = 0.75 // tiles per second
export const COLLISION_THRESHOLD = 0.75
export const PATHFINDING_TIMEOUT = 60_000
export const PATHFINDING_BACKOFF = 1_000
/**
 * The original allows 16 route searches per step, which makes agents queue for seconds
 * in a big world. A search on a 64x48 map costs tens of microseconds, so by default we
 * serve up to this many per step, oldest request first.
 */
export const DEFAULT_MAX_ROUTE_SEARCHES_PER_STEP = 4_096

export const MAX_HUMAN_PLAYERS = 8
export const HUMAN_IDLE_TIMEOUT = 5 * 60_000
export const SPAWN_ATTEMPTS = 10
export const CHARACTERS = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'] as const

export const CONVERSATION_DISTANCE = 1.3
export const TYPING_TIMEOUT = 15_000
export const MIDPOINT_THRESHOLD = 4

export const ACTION_TIMEOUT = 120_000
export const INVITE_ACCEPT_PROBABILITY = 0.8
export const INVITE_TIMEOUT = 60_000
export const AWKWARD_CONVERSATION_TIMEOUT = 60_000
export const MAX_CONVERSATION_DURATION = 10 * 60_000
export const MAX_CONVERSATION_MESSAGES = 8
export const MESSAGE_COOLDOWN = 2_000
export const CONVERSATION_COOLDOWN = 15_000
export const ACTIVITY_COOLDOWN = 10_000
export const PLAYER_CONVERSATION_COOLDOWN = 60_000
export const ACTIVITY_DURATION = 60_000
/** A walking-over agent stuck short of its goal re-plans at most this often. */
export const WALK_OVER_REPLAN_MS = 1_000
