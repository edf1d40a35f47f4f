// Perf sanity check, run by hand (not part of the suite):
//   npx tsx test/game/perf.ts [agents=1000] [steps=30]
// 1,000 agents on an open 64x48 map; an engine stand-in answers their operations
// between steps. Prints the CPU time of each simulateStep and the size of its history.
import { Sim, openMap, serveOperations } from './helpers.ts'
import type { CharacterDescription, StepResult } from '../../src/game/types.ts'

const agents = Number(process.argv[2] ?? 1000)
const steps = Number(process.argv[3] ?? 30)
const cast: CharacterDescription[] = Array.from({ length: 8 }, (_, i) => ({
  name: `Agent ${i}`, character: `f${i + 1}`, identity: `identity ${i}`, plan: `plan ${i}`
}))
const sim = new Sim(openMap(64, 48), 'perf', cast)
for (let i = 0; i < agents; i++) sim.send('createAgent', { descriptionIndex: i % cast.length })
let served = 0
const historyBytes = (r: StepResult): number => r.historicalLocations.reduce((n, e) => n + e.location.length, 0)
const times: number[] = []
for (let s = 0; s < steps; s++) {
  // CPU time rather than wall time: the machine may be shared.
  const c0 = process.cpuUsage()
  sim.advance(1000)
  const cpu = process.cpuUsage(c0)
  const ms = (cpu.user + cpu.system) / 1000
  times.push(ms)
  const r = sim.steps[sim.steps.length - 1]
  served = serveOperations(sim, served)
  if (s % 10 === 0 || ms > 100) {
    console.log(`step ${s}: ${ms.toFixed(1)} ms, ${r.stats.routeSearches} route searches, waited ${r.stats.agentsWaitingForPath} (max ${r.stats.maxPathWaitMs} ms), ` +
    `${r.operations.length} ops, ${sim.world.conversations.length} conversations, history ${historyBytes(r)} B in ${r.historicalLocations.length} records, players ${sim.world.players.length}`)
  }
}
// Agents spend their first minute on an activity, so the busy part starts after that.
const busy = times.slice(Math.min(70, times.length - 1)).sort((a, b) => a - b)
const at = (q: number): number => Math.round(busy[Math.min(busy.length - 1, Math.floor(busy.length * q))])
console.log(`RESULT ${JSON.stringify({
  agents,
  steps,
  cpuMsFirstStep: Math.round(times[0]),
  cpuMsBusyMedian: at(0.5),
  cpuMsBusyP95: at(0.95),
  cpuMsMax: Math.round(Math.max(...times)),
  maxPathWaitMs: Math.max(...sim.steps.map((r) => r.stats.maxPathWaitMs)),
  maxHistoryBytes: Math.max(...sim.steps.map(historyBytes))
})}`)
