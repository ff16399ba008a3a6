import { parseSpec } from "../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../shared/spec/resolve.ts";
import { simulate } from "../shared/simulation.ts";

/**
 * The scale run, in its own process so that its peak memory is its own: numa-4096 with 100,000
 * tasks (25 per CPU, 102,400) in 10,000 containers pinned to sockets, fork-storm, nsproxy.
 * Prints one JSON line.
 */
const duration = process.argv[2] ?? "1ms";
const scheme = process.argv[3] ?? "nsproxy";
const spec = resolveSpec(
  parseSpec({
    machine: "numa-4096",
    cpus: [4096],
    schemes: [scheme],
    duration,
    warmup: "100us",
    workload: { preset: "fork-storm", tasksPerCpu: 25, containers: { count: 10000, nesting: 0, pinToSockets: true } },
  }),
);
const t0 = performance.now();
const r = simulate(planRuns(spec)[0]);
const seconds = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    scheme,
    duration,
    seconds,
    events: r.engineEvents,
    eventsPerSec: r.engineEvents / seconds,
    tasks: 4096 * 25,
    containers: 10000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    invariantsOk: r.invariants.ok,
  }),
);
