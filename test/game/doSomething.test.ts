import { test } from 'tap'
import { ACTIVITIES, doSomething, doSomethingSnapshot, wanderDestination } from '../../src/game/doSomething.ts'
import type { DoSomethingSnapshot } from '../../src/game/doSomething.ts'
import { createRng } from '../../src/game/rng.ts'
import type { Agent, Player } from '../../src/game/types.ts'
import { openMap } from './helpers.ts'

const NOW = 1_000_000

function player (id: string, x: number, y: number, extra: Partial<Player> = {}): Player {
  return { id, lastInput: 0, position: { x, y }, facing: { dx: 1, dy: 0 }, speed: 0, ...extra }
}

function snapshot (over: { agent?: Partial<Agent>, player?: Partial<Player>, others?: Player[], seed?: number } = {}): DoSomethingSnapshot {
  return {
    agent: { id: 'a:1', playerId: 'p:0', ...over.agent },
    player: player('p:0', 5, 5, over.player),
    otherFreePlayers: over.others ?? [],
    map: openMap(20, 12),
    now: NOW,
    rng: createRng(over.seed ?? 1)
  }
}

const walking = { pathfinding: { destination: { x: 9, y: 9 }, started: NOW, state: { kind: 'needsPath' as const, since: NOW } } }

test('a newcomer with no activity or conversation yet walks into town first', async (t) => {
  const d = doSomething(snapshot({ seed: 1 }))
  t.ok(d.destination)
  t.notOk(d.activity)
})

test('idle with nothing recent: take a 60 s activity with an emoji', async (t) => {
  const seen = new Set<string>()
  for (let seed = 0; seed < 40; seed++) {
    const d = doSomething(snapshot({ seed, player: { activity: { description: 'reading', until: NOW - 60_000 } } }))
    t.notOk(d.destination)
    t.equal(d.activity?.until, NOW + 60_000)
    t.ok(ACTIVITIES.some((a) => a.description === d.activity?.description && a.emoji === d.activity?.emoji))
    seen.add(d.activity!.description)
  }
  t.same([...seen].sort(), ['daydreaming', 'gardening', 'reading'])
})

test('within 10 s of an activity or 15 s of a conversation: wander', async (t) => {
  t.ok(doSomething(snapshot({ player: { activity: { description: 'reading', until: NOW - 9_000 } } })).destination)
  t.ok(doSomething(snapshot({ player: { activity: { description: 'reading', until: NOW - 11_000 } } })).activity)
  t.ok(doSomething(snapshot({ agent: { lastConversation: NOW - 14_000 } })).destination)
  t.ok(doSomething(snapshot({ agent: { lastConversation: NOW - 16_000 } })).activity)
})

test('wander destinations stay at least one tile from the edge', async (t) => {
  const map = openMap(6, 4)
  const rng = createRng(3)
  const xs = new Set<number>()
  for (let i = 0; i < 500; i++) {
    const p = wanderDestination(map, rng)
    t.ok(p.x >= 1 && p.x <= 4 && p.y >= 1 && p.y <= 2, `(${p.x}, ${p.y}) inside`)
    xs.add(p.x)
  }
  t.equal(xs.size, 4, 'covers the whole interior')
})

test('while walking: invite the nearest player not talked to within 60 s', async (t) => {
  const others = [player('p:7', 12, 5), player('p:8', 6, 7), player('p:9', 5, 6), player('p:3', 9, 9)]
  t.same(doSomething(snapshot({ player: walking, others })), { invitee: 'p:9' }, 'the nearest, not the first listed')
  t.same(doSomething(snapshot({
    player: walking,
    others,
    agent: { recentPartners: [{ playerId: 'p:9', ended: NOW - 30_000 }, { playerId: 'p:8', ended: NOW - 61_000 }] }
  })), { invitee: 'p:8' }, 'skips a partner from 30 s ago, not one from 61 s ago')
  t.same(doSomething(snapshot({ player: walking, others, agent: { lastInviteAttempt: NOW - 14_000 } })), {}, '15 s between invites')
  t.same(doSomething(snapshot({ player: walking, others, agent: { lastInviteAttempt: NOW - 16_000 } })), { invitee: 'p:9' })
  t.same(doSomething(snapshot({ player: walking, others: [] })), {}, 'nobody around')
})

test('snapshot leaves out players in conversations and the agent itself', async (t) => {
  const world = {
    nextId: 9,
    rngState: createRng(1),
    players: [player('p:0', 1, 1), player('p:1', 2, 2), player('p:2', 3, 3), player('p:3', 4, 4)],
    agents: [{ id: 'a:4', playerId: 'p:0' }],
    conversations: [{
      id: 'c:5',
      creator: 'p:1',
      created: 0,
      numMessages: 0,
      participants: [{ playerId: 'p:1', status: 'walkingOver' as const, since: 0 }, { playerId: 'p:2', status: 'invited' as const, since: 0 }]
    }]
  }
  const snap = doSomethingSnapshot(world, openMap(8, 8), 'a:4', NOW, createRng(2))!
  t.same(snap.otherFreePlayers.map((p) => p.id), ['p:3'])
  t.equal(doSomethingSnapshot(world, openMap(8, 8), 'a:404', NOW, createRng(2)), undefined)
})

test('an agent whose world may not call the LLM (paused, over budget) invites no one', async (t) => {
  const others = [player('p:9', 6, 5)]
  t.same(doSomething(snapshot({ player: walking, others })), { invitee: 'p:9' }, 'allowed: it invites the free player nearby')
  t.same(doSomething({ ...snapshot({ player: walking, others }), mayTalk: false }), {}, 'held: it keeps walking')
  const idle = doSomething({ ...snapshot({ seed: 3, player: { activity: { description: 'reading', until: NOW - 60_000 } }, others }), mayTalk: false })
  t.ok(idle.activity ?? idle.destination, 'and when idle it still does activities or wanders')
})
