import { startWorkerProcesses, stopWorkerProcesses, workerLogs } from "./worker-processes.ts";
import { Cluster } from "../coordinator/cluster.ts";
import type { DistributedStats } from "../coordinator/distributed.ts";
import { runInThreads } from "../coordinator/threaded.ts";
import type { RunResult } from "../shared/metrics/result.ts";
import { parseSpec } from "../shared/spec/parse.ts";
import { planRuns, resolveSpec, type ResolvedSpec } from "../shared/spec/resolve.ts";
import { simulate } from "../shared/simulation.ts";

const fmt = (v: number, digits = 0) => v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** (a) dense: 1024 CPUs forking in one shared container; (b) sparse: one container per socket, pinned like a cpuset. */
export const DISTRIBUTED_CASES: Array<[string, ResolvedSpec]> = [
  [
    "(a) dense: 1024-CPU fork-storm, one shared container",
    resolveSpec(parseSpec({ machine: "numa-4096", cpus: [1024], schemes: ["nsproxy"], workload: "fork-storm", duration: "400us", warmup: "40us" })),
  ],
  [
    "(b) sparse: 1024-CPU fork-storm, a container per socket pinned to it",
    resolveSpec(
      parseSpec({
        machine: "numa-4096",
        cpus: [1024],
        schemes: ["nsproxy"],
        duration: "5ms",
        warmup: "500us",
        workload: { preset: "fork-storm", containers: { count: 64, nesting: 0, pinToSockets: true }, fork: { placement: "same-socket" } },
      }),
    ),
  ],
];

const eventsPerSec = new Map<string, number>();

function line(label: string, wallMs: number, r: RunResult, s: DistributedStats | null): string {
  eventsPerSec.set(label, r.engineEvents / (wallMs / 1000));
  const secs = wallMs / 1000;
  const parts = [`${label}: ${fmt(r.engineEvents / secs)} events/s`];
  if (s !== null) {
    const busy = s.partitionStats.reduce((a, p) => a + p.busyMs, 0) / Math.max(1, s.partitionStats.length);
    const loop = s.partitionStats.reduce((a, p) => a + p.loopMs, 0) / Math.max(1, s.partitionStats.length);
    const messages = s.partitionStats.reduce((a, p) => a + p.messagesSent, 0) + s.coordinatorMessages;
    const bytes = s.partitionStats.reduce((a, p) => a + p.bytesSent, 0) + s.coordinatorBytes;
    const loopS = Math.max(...s.partitionStats.map((p) => p.loopMs)) / 1000;
    parts.push(
      `${fmt(s.windows / secs)} windows/s (${fmt(s.windows / loopS)} in the window loop, set-up excluded)`,
      `${fmt(r.engineEvents / s.windows, 1)} events/window`,
      `barrier share ${fmt((1 - busy / loop) * 100, 0)}% of the window loop`,
      `${fmt(messages / r.totalOps, 2)} msgs and ${fmt(bytes / r.totalOps)} bytes per simulated op`,
      `lookahead ${fmt(s.lookaheadPs / 1000, 2)} ns`,
    );
  }
  return `  ${parts.join(", ")}`;
}

export async function distributedBench(only?: string): Promise<void> {
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  for (const [name, spec] of DISTRIBUTED_CASES) {
    if (only !== undefined && !name.startsWith(only)) continue;
    console.log(name);
    const config = planRuns(spec)[0];
    const t0 = performance.now();
    const embedded = simulate(config);
    console.log(line("embedded, one thread", performance.now() - t0, embedded, null));
    const expected = JSON.stringify(embedded);
    for (const workers of [1, 2]) {
      const t1 = performance.now();
      const { result, stats } = await runInThreads(spec, 0, workers);
      console.log(line(`${workers} worker thread(s)`, performance.now() - t1, result, stats) + (JSON.stringify(result) === expected ? "" : "  RESULT DIFFERS"));
    }
    let cluster: Cluster | null = null;
    const queue = `refsim-bench-${process.pid}`;
    try {
      // REFSIM_CHECKPOINT_EVERY=0 measures without checkpoints (default: the cluster default).
      const every = process.env.REFSIM_CHECKPOINT_EVERY;
      cluster = await Cluster.connect({ natsUrl, redisUrl, queue, checkpointEvery: every === undefined ? undefined : Number(every) });
    } catch (e) {
      console.log(`  worker processes over NATS: skipped (${(e as Error).message})`);
      continue;
    }
    try {
      for (const workers of [1, 2]) {
        const procs = await startWorkerProcesses(workers, ["--nats", natsUrl, "--redis", redisUrl, "--queue", queue, "--points-queue", `${queue}-points`], "waiting for partition jobs");
        try {
          // Workers are long-running: the first run on fresh processes pays for V8's JIT warm-up
          // (on 2 cores its compiler threads compete with the workers and nats-server). Three
          // more runs on the same processes show the steady state: the median one is printed,
          // with the three whole-run rates.
          const label = `${workers} worker process(es) over NATS`;
          const runs: Array<{ wallMs: number; result: RunResult; stats: DistributedStats; note: string }> = [];
          const jobsTaken = () => procs.map((p) => (workerLogs.get(p) ?? "").split(/ partition \d+\/\d+ \(job /).length);
          for (let i = 0; i < 4; i++) {
            const before = jobsTaken();
            const t1 = performance.now();
            const { result, stats } = await cluster.run(spec, 0, workers);
            const wallMs = performance.now() - t1;
            // A worker runs a second partition only when no other took it in time: say so, it changes the figures.
            const ran = jobsTaken().filter((n, k) => n > before[k]).length;
            const note = (JSON.stringify(result) === expected ? "" : "  RESULT DIFFERS") + (ran === workers ? "" : `  (the ${workers} partitions ran on ${ran} process(es))`);
            runs.push({ wallMs, result, stats, note });
          }
          const rate = (r: (typeof runs)[number]) => r.stats.windows / r.wallMs;
          const events = (r: (typeof runs)[number]) => r.result.engineEvents / (r.wallMs / 1000);
          const [first, ...later] = runs;
          console.log(line(`${label}, first run, fresh processes`, first.wallMs, first.result, first.stats) + first.note);
          eventsPerSec.set(`${label} (first)`, events(first));
          const median = [...later].sort((x, y) => rate(x) - rate(y))[1];
          const steady = `${label}, steady state (the median of 3 more runs on the same processes; whole-run windows/s ${later.map((r) => fmt(rate(r) * 1000)).join(", ")})`;
          console.log(line(steady, median.wallMs, median.result, median.stats) + later.map((r) => r.note).join(""));
          eventsPerSec.set(label, events(median));
        } finally {
          await stopWorkerProcesses(procs);
        }
      }
    } finally {
      await cluster.queue.obliterate({ force: true }).catch(() => {});
      await cluster.close();
    }
    const speedup = (two: string, one: string) => {
      const a = eventsPerSec.get(two);
      const b = eventsPerSec.get(one);
      return a !== undefined && b !== undefined ? `${fmt(a / b, 2)}x` : "n/a";
    };
    console.log(
      `  speedup of 2 workers over 1: threads ${speedup("2 worker thread(s)", "1 worker thread(s)")}, processes ${speedup("2 worker process(es) over NATS", "1 worker process(es) over NATS")} (steady state; first runs ${speedup("2 worker process(es) over NATS (first)", "1 worker process(es) over NATS (first)")})`,
    );
  }
}
