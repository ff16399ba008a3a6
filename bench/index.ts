import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseSpec } from "../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../shared/spec/resolve.ts";
import { simulate } from "../shared/simulation.ts";
import { bareHeapLoop, phold } from "./phold.ts";

/** npm run bench: prints figures; asserts nothing (targets are for people to read). */
const fmt = (v: number) => Math.round(v).toLocaleString("en-US");

function best<T extends { events: number; seconds: number }>(runs: number, f: () => T): T {
  let top: T | null = null;
  for (let i = 0; i < runs; i++) {
    const r = f();
    if (top === null || r.events / r.seconds > top.events / top.seconds) top = r;
  }
  return top as T;
}

console.log("refsim benchmarks (best of 3 where repeated)\n");

const EVENTS = 3_000_000;
for (const population of [1_000, 100_000]) {
  const engine = best(3, () => phold(1024, population, EVENTS));
  const bare = best(3, () => bareHeapLoop(population, EVENTS));
  const e = engine.events / engine.seconds;
  const b = bare.events / bare.seconds;
  console.log(`PHOLD, 1024 processes, ${fmt(population)} pending: engine ${fmt(e)} events/s; bare typed-array heap ${fmt(b)} events/s; ratio ${(e / b).toFixed(2)} (target >= 0.5)`);
}

for (const [machine, cpus, scheme] of [
  ["modern-2s", 64, "nsproxy"],
  ["modern-2s", 64, "clone-flags"],
  ["xeon-80", 80, "clone-flags"],
] as const) {
  const spec = resolveSpec(parseSpec({ machine, cpus: [cpus], schemes: [scheme], workload: "fork-storm", duration: "5ms", warmup: "500us" }));
  const config = planRuns(spec)[0];
  const t0 = performance.now();
  const r = simulate(config);
  const s = (performance.now() - t0) / 1000;
  console.log(`fork-storm, ${scheme} on ${machine} x ${cpus} CPUs, 5 ms simulated: ${fmt(r.engineEvents)} events in ${s.toFixed(2)} s = ${fmt(r.engineEvents / s)} events/s (whole model, set-up included)`);
}

const script = fileURLToPath(new URL("./scale-run.ts", import.meta.url));
const out = execFileSync(process.execPath, ["--import", "tsx", script, "1ms", "nsproxy"], { encoding: "utf8" });
const scale = JSON.parse(out.trim().split("\n").pop() as string) as { seconds: number; events: number; eventsPerSec: number; maxRssBytes: number; invariantsOk: boolean };
console.log(
  `scale run, numa-4096, 102,400 tasks in 10,000 containers, fork-storm, nsproxy, 1 ms simulated: ${scale.seconds.toFixed(1)} s, ${fmt(scale.events)} events (${fmt(scale.eventsPerSec)} events/s), peak RSS ${(scale.maxRssBytes / 2 ** 30).toFixed(2)} GiB (target < 2 GiB), invariants ${scale.invariantsOk ? "ok" : "FAILED"}`,
);

console.log("\nMemory over simulated time (the run's state after a full GC; linux-6 reuses freed objects' memory):");
const { memoryBench } = await import("./memory.ts");
memoryBench();

console.log("\nCheckpoints (one partition's whole state, as a worker saves it to Redis):");
const { checkpointBench } = await import("./checkpoint.ts");
checkpointBench();

console.log("\nDistributed runs (events/s counts the whole run's events over its wall time):");
const { distributedBench } = await import("./distributed.ts");
await distributedBench();

console.log("\nSweeps (per-point overhead, and 2 workers against 1):");
const { sweepBench } = await import("./sweep.ts");
await sweepBench();
