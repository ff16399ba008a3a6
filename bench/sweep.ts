import { startWorkerProcesses, stopWorkerProcesses } from "./worker-processes.ts";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { codeVersion } from "../coordinator/code-version.ts";
import { resultsCsv } from "../coordinator/output.ts";
import { runSweepOnCluster } from "../coordinator/sweep/cluster-sweep.ts";
import { runSweepEmbedded } from "../coordinator/sweep/embedded.ts";
import { sweepParentQueue } from "../coordinator/sweep/keys.ts";
import type { PointOutcome } from "../coordinator/sweep/outcome.ts";
import { sweepResultsDocument } from "../coordinator/sweep/output.ts";
import { PointPool } from "../coordinator/sweep/point-pool.ts";
import { runPoint } from "../coordinator/sweep/point-run.ts";
import { loadSweep, type SweepPlan } from "../coordinator/sweep/points.ts";
import { redisConnection } from "../worker/queue.ts";

const fmt = (v: number, digits = 0) => v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** 200 tiny points: 5 schemes x 4 CPU counts x 10 seeds on small-4, 20 us simulated each. */
export const TINY_SWEEP = {
  name: "200 tiny points",
  machines: ["small-4"],
  workloads: ["fork-storm"],
  schemes: ["clone-flags", "container", "nsproxy", "percpu", "sloppy"],
  cpus: [1, 2, 3, 4],
  seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  duration: "20us",
  warmup: "2us",
};

/** 40 points where the simulation dominates (tens of ms each): the speedup a sweep can reach here. */
export const HEAVIER_SWEEP = {
  name: "40 heavier points",
  machines: ["modern-2s"],
  workloads: ["fork-storm"],
  schemes: ["clone-flags", "nsproxy", "percpu", "sloppy"],
  cpus: [16, 32],
  seeds: [1, 2, 3, 4, 5],
  duration: "1ms",
  warmup: "100us",
};


function csvOf(plan: SweepPlan, outcomes: Map<string, PointOutcome>): string {
  return resultsCsv(sweepResultsDocument(plan, outcomes).runs);
}

interface Case {
  plan: SweepPlan;
  /** The same points with another seed: run first, untimed, so threads start and compile the code. */
  warmUp: SweepPlan;
  bareMs: number;
  expected: string;
}

type Wall = (c: Case, workers: number) => Promise<{ ms: number; csv: string }>;

/** Times each plan on 1 and 2 workers of one kind and prints per-point overhead and speedup. */
async function measure(kind: string, cases: Case[], wall: Wall): Promise<void> {
  for (const c of cases) {
    const { plan, bareMs, expected } = c;
    const n = plan.points.length;
    const ms: number[] = [];
    for (const workers of [1, 2]) {
      const r = await wall(c, workers);
      ms.push(r.ms);
      console.log(
        `  ${plan.name}, ${kind}, ${workers} worker(s): ${fmt(r.ms)} ms, ${fmt((n / r.ms) * 1000)} points/s, overhead ${fmt((r.ms * workers - bareMs) / n, 2)} ms/point per worker${r.csv === expected ? "" : "  RESULTS DIFFER"}`,
      );
    }
    console.log(`  ${plan.name}, ${kind}: speedup of 2 workers over 1: ${fmt(ms[0] / ms[1], 2)}x`);
  }
}

/**
 * Sweep overhead: points run bare (runPoint in a loop, this thread), as an embedded sweep on 1
 * and 2 threads, and as a cluster sweep on 1 and 2 refsim worker processes. Overhead per point
 * = (wall time x workers - bare time) / points: what a point costs beyond its simulation, per
 * worker. Thread and worker start-up are excluded (reported apart); the results are checked
 * equal to the embedded sweep's.
 */
export async function sweepBench(): Promise<void> {
  const version = codeVersion();
  // The bare loops run in a fresh process: this one's heap holds whatever ran before.
  const bare = JSON.parse(execFileSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), BARE_FLAG], { encoding: "utf8" }).trim().split("\n").pop() as string) as number[];
  const cases: Case[] = [TINY_SWEEP, HEAVIER_SWEEP].map((doc, i) => {
    const plan = loadSweep(doc, version);
    const bareMs = bare[i];
    console.log(`${plan.name}: bare runPoint in a loop (a fresh process, after a warm-up) ${fmt(bareMs)} ms (${fmt(bareMs / plan.points.length, 2)} ms/point)`);
    return { plan, warmUp: warmUpOf(doc), bareMs, expected: "" };
  });
  for (const c of cases) c.expected = csvOf(c.plan, await runSweepEmbedded(c.plan, { workers: 2 }));

  await measure("embedded threads", cases, async ({ plan, warmUp }, workers) => {
    const pool = new PointPool(workers);
    try {
      const t0 = performance.now();
      await runSweepEmbedded(warmUp, { workers, pool });
      const startMs = performance.now() - t0;
      const t = performance.now();
      const outcomes = await runSweepEmbedded(plan, { workers, pool });
      const ms = performance.now() - t;
      console.log(`  (start-up of ${workers} point thread(s) and the ${warmUp.points.length}-point warm-up: ${fmt(startMs)} ms)`);
      return { ms, csv: csvOf(plan, outcomes) };
    } finally {
      await pool.close();
    }
  });

  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  let runId = 0;
  await measure("cluster worker processes", cases, async ({ plan, warmUp }, workers) => {
    const queue = `refsim-bench-points-${process.pid}-${++runId}`;
    const partitions = `refsim-bench-partitions-${process.pid}-${runId}`;
    const procs = await startWorkerProcesses(workers, ["--nats", natsUrl, "--redis", redisUrl, "--queue", partitions, "--points-queue", queue], "waiting for sweep points");
    try {
      await runSweepOnCluster(warmUp, { redisUrl, queue, partitionQueue: partitions, reconcileMs: 1000 });
      const t = performance.now();
      const outcomes = await runSweepOnCluster(plan, { redisUrl, queue, partitionQueue: partitions, reconcileMs: 1000 });
      return { ms: performance.now() - t, csv: csvOf(plan, outcomes) };
    } finally {
      await stopWorkerProcesses(procs);
      const connection = redisConnection(redisUrl);
      for (const name of [queue, sweepParentQueue(queue), partitions]) {
        const q = new Queue(name, { connection });
        await q.obliterate({ force: true }).catch(() => {});
        await q.close();
      }
      const keys = await connection.keys(`refsim:${queue}:*`);
      if (keys.length > 0) await connection.del(...keys);
      await connection.quit();
    }
  }).catch((e: Error) => console.log(`  cluster: skipped (${e.message.split("\n")[0]})`));
}

const BARE_FLAG = "--bare-loops";

function warmUpOf(doc: typeof TINY_SWEEP | typeof HEAVIER_SWEEP): SweepPlan {
  return loadSweep({ ...doc, name: `${doc.name} (warm-up)`, seeds: [99] }, codeVersion());
}

/** Each case's points run in a loop in this thread after its warm-up; prints the times (ms) as JSON. */
function bareLoops(): void {
  const times = [TINY_SWEEP, HEAVIER_SWEEP].map((doc) => {
    for (const p of warmUpOf(doc).points) runPoint(p.doc);
    const points = loadSweep(doc, codeVersion()).points;
    const t = performance.now();
    for (const p of points) runPoint(p.doc);
    return performance.now() - t;
  });
  console.log(JSON.stringify(times));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes(BARE_FLAG)) bareLoops();
  else await sweepBench();
}
