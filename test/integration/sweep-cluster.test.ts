import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeVersion } from "../../coordinator/code-version.ts";
import { resultsCsv } from "../../coordinator/output.ts";
import { runSweepEmbedded } from "../../coordinator/sweep/embedded.ts";
import { SWEEP_TTL_SECONDS, sweepKeys, sweepParentQueue } from "../../coordinator/sweep/keys.ts";
import { POINT_JOB_OPTIONS, type PointJob } from "../../coordinator/sweep/point-job.ts";
import { sweepResultsDocument } from "../../coordinator/sweep/output.ts";
import { loadSweep, type SweepPlan } from "../../coordinator/sweep/points.ts";
import { redisConnection } from "../../worker/queue.ts";
import { natsService, redisService, type RunningService } from "../support/services.ts";
import { start, type Finished } from "../support/refsim-process.ts";

/** Two workloads on small-4; the 4-CPU points run distributed over 2 partitions (distributeAbove: 2). */
function sweepDoc(seeds: number[]): Record<string, unknown> {
  return {
    name: "cluster test sweep",
    machines: ["small-4"],
    workloads: ["fork-storm", "migration"],
    schemes: ["clone-flags", "nsproxy", "percpu"],
    cpus: [1, 2, 4],
    seeds,
    duration: "300us",
    warmup: "50us",
    distributeAbove: 2,
  };
}

/** The CSV an uninterrupted embedded sweep of the same spec gives. */
async function embeddedCsv(plan: SweepPlan): Promise<string> {
  return resultsCsv(sweepResultsDocument(plan, await runSweepEmbedded(plan, { workers: 2 })).runs);
}

describe("refsim sweep --cluster with refsim worker processes", () => {
  let nats: RunningService | { skip: string };
  let redis: RunningService | { skip: string };
  let connection: Redis | null = null;
  /** A worker process, its stderr lines so far, and who waits for which line. */
  const workers: Array<{ child: ChildProcess; done: Promise<Finished>; lines: string[]; watchers: Array<(line: string) => void> }> = [];
  /** Workers a test killed on purpose. */
  const killed = new Set<ChildProcess>();
  const stamp = `${process.pid}-${Date.now()}`;
  const pointQueue = `refsim-test-points-${stamp}`;
  const partitionQueue = `refsim-test-partitions-${stamp}`;
  const base = mkdtempSync(join(tmpdir(), "refsim-sweep-"));
  let urls: string[] = [];

  const sweep = (spec: string, ...more: string[]) => ["sweep", spec, "--cluster", ...urls, "--workers", "2", ...more];
  const writeSpec = (name: string, doc: Record<string, unknown>) => {
    const path = join(base, `${name}.json`);
    writeFileSync(path, JSON.stringify(doc));
    return path;
  };
  const executions = async (plan: SweepPlan) => {
    const counts = await (connection as Redis).hgetall(sweepKeys(pointQueue, plan.id).executions);
    return plan.points.map((p) => Number(counts[p.id] ?? 0));
  };

  beforeAll(async () => {
    nats = await natsService();
    redis = await redisService();
    if ("skip" in nats || "skip" in redis) return;
    connection = redisConnection(redis.url);
    urls = ["--nats", nats.url, "--redis", redis.url, "--queue", pointQueue, "--partition-queue", partitionQueue];
    const workerArgs = ["worker", "--nats", nats.url, "--redis", redis.url, "--queue", partitionQueue, "--points-queue", pointQueue];
    await Promise.all(
      [0, 1].map(
        () =>
          new Promise<void>((resolve, reject) => {
            const lines: string[] = [];
            const watchers: Array<(line: string) => void> = [];
            const w = start(workerArgs, (line) => {
              lines.push(line);
              for (const watch of watchers) watch(line);
              if (line.includes("waiting for sweep points")) resolve();
            });
            workers.push({ ...w, lines, watchers });
            void w.done.then((f) => reject(new Error(`a worker exited early (${f.code}): ${f.stderr}`)));
          }),
      ),
    );
  });

  afterAll(async () => {
    const stopped = workers.filter((w) => !killed.has(w.child));
    for (const w of stopped) w.child.kill("SIGTERM");
    // A worker finishes its current job and exits; one that hangs is killed, and the check below fails.
    const exits = await Promise.all(
      stopped.map(async (w) => {
        const timer = setTimeout(() => w.child.kill("SIGKILL"), 30_000);
        const f = await w.done;
        clearTimeout(timer);
        return f;
      }),
    );
    try {
      if (connection !== null) {
        for (const name of [pointQueue, sweepParentQueue(pointQueue), partitionQueue]) {
          const q = new Queue(name, { connection });
          await q.obliterate({ force: true });
          await q.close();
        }
        const keys = await connection.keys(`refsim:${pointQueue}:*`);
        if (keys.length > 0) await connection.del(...keys);
        await connection.quit();
      }
    } finally {
      // The servers (containers under REFSIM_TEST_SERVICES=testcontainers) stop even when the
      // clean-up above fails after a failed test.
      if (nats !== undefined && "stop" in nats) await nats.stop();
      if (redis !== undefined && "stop" in redis) await redis.stop();
    }
    // Workers stop cleanly on SIGTERM.
    expect(exits.map((e) => e.code)).toEqual(stopped.map(() => 0));
  });

  const skipIfMissing = (ctx: { skip: (note?: string) => void }) => {
    if ("skip" in nats || "skip" in redis) {
      ctx.skip(("skip" in nats ? nats.skip : "") + ("skip" in redis ? ` ${redis.skip}` : ""));
      return true;
    }
    return false;
  };

  it("gives the embedded sweep's results.csv, distributed points included", async (ctx) => {
    if (skipIfMissing(ctx)) return;
    const doc = sweepDoc([1]);
    const spec = writeSpec("c", doc);
    const embedded = start(["sweep", spec, "--workers", "2", "--quiet", "--out", join(base, "c-embedded")]);
    const cluster = start(sweep(spec, "--out", join(base, "c-cluster")));
    const [e, c] = await Promise.all([embedded.done, cluster.done]);
    expect(e.code, e.stderr).toBe(0);
    expect(c.code, c.stderr).toBe(0);
    const csv = readFileSync(join(base, "c-cluster", "results.csv"), "utf8");
    expect(csv).toBe(readFileSync(join(base, "c-embedded", "results.csv"), "utf8"));
    expect(csv.trim().split("\n")).toHaveLength(1 + 18);
    // Six 4-CPU points ran distributed: each over two partition jobs.
    const partitions = new Queue(partitionQueue, { connection: connection as Redis });
    expect(await partitions.getCompletedCount()).toBe(6 * 2);
    const partitionJobs = (await partitions.getCompleted()).map((j) => partitions.toKey(j.id as string));
    await partitions.close();
    const plan = loadSweep(doc, codeVersion());
    expect(await executions(plan)).toEqual(plan.points.map(() => 1));
    // The sweep's keys expire (a month after their last write), as run keys do.
    for (const key of Object.values(sweepKeys(pointQueue, plan.id))) {
      const ttl = await (connection as Redis).ttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(SWEEP_TTL_SECONDS);
    }
    // So do its jobs' keys: each point's, the sweep's parent's (with its dependencies and
    // processed children), and the partition jobs' of its distributed points (a run's TTL).
    const jobKeys = [...plan.points.map((p) => `bull:${pointQueue}:${p.id}`), `bull:${sweepParentQueue(pointQueue)}:${plan.id}`, ...partitionJobs];
    let checked = 0;
    for (const base of jobKeys) {
      for (const key of [base, ...(await (connection as Redis).keys(`${base}:*`))]) {
        const ttl = await (connection as Redis).ttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(SWEEP_TTL_SECONDS);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(plan.points.length + 1 + partitionJobs.length);
  });

  it("is idempotent: submitted twice at once and once more after, no point runs twice and the results are the same", async (ctx) => {
    if (skipIfMissing(ctx)) return;
    const doc = sweepDoc([2]);
    const plan = loadSweep(doc, codeVersion());
    const spec = writeSpec("b", doc);
    const [first, second] = await Promise.all([start(sweep(spec, "--out", join(base, "b1"))).done, start(sweep(spec, "--out", join(base, "b2"))).done]);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(await executions(plan)).toEqual(plan.points.map(() => 1));
    const again = await start(sweep(spec, "--out", join(base, "b3"))).done;
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`sweep ${plan.id}: 18 points, 18 done (18 earlier), 0 failed`);
    expect(await executions(plan)).toEqual(plan.points.map(() => 1));
    const csv = readFileSync(join(base, "b1", "results.csv"), "utf8");
    expect(readFileSync(join(base, "b2", "results.csv"), "utf8")).toBe(csv);
    expect(readFileSync(join(base, "b3", "results.csv"), "utf8")).toBe(csv);
    expect(csv).toBe(await embeddedCsv(plan));
  });

  it("resumes after its coordinator is killed: nothing done runs again, nothing is lost, the same results.csv", async (ctx) => {
    if (skipIfMissing(ctx)) return;
    const doc = sweepDoc([5, 6]);
    const plan = loadSweep(doc, codeVersion());
    const spec = writeSpec("a", doc);
    let doneLines = 0;
    const coordinator = start(sweep(spec, "--out", join(base, "a-killed")), (line) => {
      if (/^\[\d+\/36\] .*: done$/.test(line) && ++doneLines === 3) coordinator.child.kill("SIGKILL");
    });
    const interrupted = await coordinator.done;
    expect(interrupted.signal, interrupted.stderr).toBe("SIGKILL");
    const doneAtKill = await (connection as Redis).hlen(sweepKeys(pointQueue, plan.id).results);
    expect(doneAtKill).toBeGreaterThanOrEqual(3);
    expect(doneAtKill).toBeLessThan(plan.points.length);

    // Resume by id alone: the spec comes from Redis.
    const resumed = await start(["sweep", "--resume", plan.id, "--cluster", ...urls, "--out", join(base, "a-resumed")]).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    const earlier = Number(/36 done \((\d+) earlier\)/.exec(resumed.stdout)?.[1] ?? "0");
    expect(earlier).toBeGreaterThanOrEqual(doneAtKill);
    expect(await executions(plan)).toEqual(plan.points.map(() => 1));
    expect(readFileSync(join(base, "a-resumed", "results.csv"), "utf8")).toBe(await embeddedCsv(plan));
  });

  it("fails a point job whose spec is invalid once; submitting the sweep runs the point with the sweep's spec", async (ctx) => {
    if (skipIfMissing(ctx)) return;
    const doc = { ...sweepDoc([7]), workloads: ["fork-storm"], schemes: ["nsproxy"], distributeAbove: undefined };
    const plan = loadSweep(doc, codeVersion());
    const poisoned = plan.points[1];
    // A job already on the queue under the point's id, with a spec no worker can run.
    const queue = new Queue<PointJob>(pointQueue, { connection: connection as Redis });
    const eventsConnection = redisConnection((redis as RunningService).url);
    const events = new QueueEvents(pointQueue, { connection: eventsConnection });
    try {
      await events.waitUntilReady();
      const job = await queue.add(
        "point",
        { sweepId: plan.id, pointId: poisoned.id, codeVersion: plan.codeVersion, label: "poisoned", doc: { ...poisoned.doc, machine: "cray-1" } },
        { jobId: poisoned.id, ...POINT_JOB_OPTIONS },
      );
      await expect(job.waitUntilFinished(events)).rejects.toThrow(/^invalid spec: machine: /);
      expect((await queue.getJob(poisoned.id))?.attemptsMade).toBe(1);
    } finally {
      await events.close();
      await queue.close();
      await eventsConnection.quit();
    }
    expect(await executions(plan)).toEqual([0, 0, 0]);
    // The sweep retries its failed job with the point's own data.
    const r = await start(sweep(writeSpec("d", doc), "--out", join(base, "d"))).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("1 failed earlier and retried");
    expect(await executions(plan)).toEqual([1, 1, 1]);
    expect(readFileSync(join(base, "d", "results.csv"), "utf8")).toBe(await embeddedCsv(plan));
  });

  it("lists failed points with their errors and exits with code 1; --resume runs them again", async (ctx) => {
    if (skipIfMissing(ctx)) return;
    // The 4-CPU point is distributed over 3 partitions, but only 2 workers listen: it fails after 3 attempts.
    const doc = { ...sweepDoc([8]), workloads: ["fork-storm"], schemes: ["nsproxy"] };
    const plan = loadSweep(doc, codeVersion());
    const distributed = plan.points.filter((p) => p.distributed);
    expect(distributed.map((p) => p.cpus)).toEqual([4]);
    const spec = writeSpec("f", doc);
    const failed = await start(["sweep", spec, "--cluster", ...urls, "--workers", "3", "--out", join(base, "f1")]).done;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`refsim: 1 of 3 points of sweep ${plan.id} failed:`);
    expect(failed.stderr).toContain(`${distributed[0].id} nsproxy @ 4 CPUs, small-4, fork-storm, seed 8: 2 worker(s) listen on partition queue ${partitionQueue}; this distributed point needs 3`);
    const results = JSON.parse(readFileSync(join(base, "f1", "results.json"), "utf8"));
    expect(results.runs).toHaveLength(2);
    expect(results.sweep.failed.map((f: { id: string }) => f.id)).toEqual([distributed[0].id]);
    expect(await executions(plan)).toEqual([1, 1, 0]);

    const resumed = await start(["sweep", "--resume", plan.id, "--cluster", ...urls, "--workers", "2", "--out", join(base, "f2")]).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("3 done (2 earlier), 0 failed");
    expect(await executions(plan)).toEqual([1, 1, 1]);
    expect(readFileSync(join(base, "f2", "results.csv"), "utf8")).toBe(await embeddedCsv(plan));
  });

  it("runs a point again on another worker when its worker dies mid-run (last: it kills a worker)", async (ctx) => {
    if (skipIfMissing(ctx)) return;
    const doc = { name: "one long point", machines: ["modern-2s"], workloads: ["fork-storm"], schemes: ["clone-flags"], cpus: [64], seeds: [11], duration: "4ms" };
    const plan = loadSweep(doc, codeVersion());
    const [point] = plan.points;
    // Whichever worker starts the point is killed as soon as it says so: mid-run.
    const started = new Promise<(typeof workers)[number]>((resolve) => {
      for (const w of workers) w.watchers.push((line) => line.includes(`point ${point.id} (`) && resolve(w));
    });
    const coordinator = start(sweep(writeSpec("e", doc), "--out", join(base, "e")));
    const victim = await started;
    killed.add(victim.child);
    victim.child.kill("SIGKILL");
    const r = await coordinator.done;
    expect(r.code, r.stderr).toBe(0);
    const survivor = workers.find((w) => w !== victim) as (typeof workers)[number];
    expect(survivor.lines.some((l) => l.includes(`point ${point.id} done`))).toBe(true);
    expect(await executions(plan)).toEqual([2]);
    expect(readFileSync(join(base, "e", "results.csv"), "utf8")).toBe(await embeddedCsv(plan));
  });
});
