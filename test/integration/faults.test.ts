import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeVersion } from "../../coordinator/code-version.ts";
import { sweepKeys } from "../../coordinator/sweep/keys.ts";
import { loadSweep } from "../../coordinator/sweep/points.ts";
import { redisConnection } from "../../worker/queue.ts";
import { start, type Finished } from "../support/refsim-process.ts";
import { startNatsServer, startRedisServer, type LocalServer } from "../support/services.ts";

/**
 * Faults on a real cluster: refsim worker processes, and a NATS server and a Redis server this
 * file starts on free ports (so it may kill and restart them). Every outcome is compared with
 * the embedded run of the same spec, byte for byte.
 */

/**
 * Cross-socket forks and migrations over 3 partitions, long enough to hit mid-run: a cluster run
 * of it takes 15-25 s here (its windows wait on each other's messages), and every fault below
 * lands within its first 2.5 s.
 */
const RUN_ARGS = ["--machine", "xeon-80", "--cpus", "24", "--workload", "migration", "--duration", "400us", "--warmup", "40us"];

/** Log lines a fault test prints for the record (kept in the test output). */
const record = (line: string) => process.stdout.write(`[faults] ${line}\n`);

interface WorkerProc {
  child: ChildProcess;
  done: Promise<Finished>;
  lines: string[];
}

describe("faults on a cluster of refsim workers, with servers this test starts and restarts", () => {
  let nats: LocalServer;
  let redis: LocalServer;
  let connection: Redis;
  const base = mkdtempSync(join(tmpdir(), "refsim-faults-"));
  const stamp = `${process.pid}-${Date.now()}`;
  const queue = `refsim-faults-partitions-${stamp}`;
  const pointQueue = `refsim-faults-points-${stamp}`;
  const workers: WorkerProc[] = [];
  const embedded = new Map<string, string>();

  const urls = () => ["--nats", nats.url, "--redis", redis.url];
  const startWorker = (): Promise<WorkerProc> =>
    new Promise((resolve, reject) => {
      const lines: string[] = [];
      const w = start(["worker", ...urls(), "--queue", queue, "--points-queue", pointQueue, "--stall-ms", "3000"], (line) => {
        lines.push(line);
        if (line.includes("waiting for sweep points")) resolve(proc);
      });
      const proc = { ...w, lines };
      workers.push(proc);
      void w.done.then((f) => reject(new Error(`a worker exited early (${f.code}): ${f.stderr}`)));
    });
  /** Partition jobs the workers have taken so far (each logs one line). */
  const takenSoFar = (within: WorkerProc[]) => within.flatMap((w) => w.lines.filter((l) => /: run \S+ partition \d+\//.test(l))).length;
  /** Resolves once `more` partition jobs beyond those taken so far have been taken. */
  const jobsTaken = (more: number, within: WorkerProc[]) => {
    const target = takenSoFar(within) + more;
    return new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (takenSoFar(within) >= target) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
  };
  const embeddedCsv = (args: string[]): string => {
    const key = args.join(" ");
    const hit = embedded.get(key);
    if (hit !== undefined) return hit;
    throw new Error(`no embedded result for ${key}`);
  };
  const runEmbedded = async (args: string[]) => {
    const out = join(base, `embedded-${embedded.size}`);
    const r = await start(["run", ...args, "--quiet", "--out", out]).done;
    expect(r.code, r.stderr).toBe(0);
    embedded.set(args.join(" "), readFileSync(join(out, "results.csv"), "utf8"));
  };
  /** A cluster run over the 3 workers; `id()` is its run id once it has printed it. */
  const clusterRun = (args: string[], out: string) => {
    let id = "";
    const run = start(["run", ...args, "--cluster", "--workers", "3", ...urls(), "--queue", queue, "--checkpoint-every", "25", "--out", out], (line) => {
      const m = /cluster run (\S+)/.exec(line);
      if (m !== null) id = m[1];
    });
    return { ...run, id: () => id };
  };
  const randomMs = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    nats = await startNatsServer();
    // Redis keeps its data across a restart (append-only file), as a cluster's Redis should.
    redis = await startRedisServer({ args: ["--appendonly", "yes", "--appendfsync", "always"] });
    connection = redisConnection(redis.url);
    connection.on("error", () => {});
    await Promise.all([startWorker(), startWorker(), startWorker()]);
    await runEmbedded([...RUN_ARGS, "--schemes", "nsproxy"]);
    await runEmbedded([...RUN_ARGS, "--schemes", "nsproxy,percpu"]);
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.done));
    connection?.disconnect();
    await nats?.stop();
    await redis?.stop();
  });

  it("kill -9 one of three workers at a random moment: its job moves to another worker, every partition rolls back, identical results", async () => {
    const args = [...RUN_ARGS, "--schemes", "nsproxy"];
    const live = workers.filter((w) => w.child.exitCode === null);
    const taken = jobsTaken(3, live);
    const out = join(base, "killed-worker");
    const run = clusterRun(args, out);
    await taken;
    const delay = randomMs(300, 2500);
    await sleep(delay);
    const victim = live[randomMs(0, live.length)];
    victim.child.kill("SIGKILL");
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const rollback = r.stderr.split("\n").find((l) => l.includes("rolling back"));
    const epoch = r.stderr.split("\n").find((l) => /epoch 2 starts/.test(l));
    record(`worker kill -9 after ${delay} ms: exit ${r.code}; ${rollback ?? "no rollback (the run had ended)"}; ${epoch ?? ""}`);
    expect(readFileSync(join(out, "results.csv"), "utf8")).toBe(embeddedCsv(args));
    expect(rollback).toMatch(/rolling back: partition \d restarted \(incarnation 2\)/);
    // A worker replaces the lost one for the next tests.
    await startWorker();
  });

  it("restart the NATS server mid-run: the clients reconnect and the run rolls back (or stops, and --resume completes it), identical results", async () => {
    const args = [...RUN_ARGS, "--schemes", "nsproxy"];
    const live = workers.filter((w) => w.child.exitCode === null);
    const taken = jobsTaken(3, live);
    const out = join(base, "nats-restart");
    const run = clusterRun(args, out);
    await taken;
    const delay = randomMs(300, 2000);
    await sleep(delay);
    await nats.restart();
    let r = await run.done;
    let how = `exit ${r.code}`;
    if (r.code !== 0) {
      how += ` (${r.stderr.split("\n").filter((l) => /^refsim: (?!cluster run)|rolling back/.test(l)).join(" | ")})`;
      const resumed = await start(["run", "--resume", run.id(), ...urls(), "--queue", queue, "--out", out]).done;
      how += `, then --resume: exit ${resumed.code}`;
      r = resumed;
    }
    const rollbacks = r.stderr.split("\n").filter((l) => l.includes("rolling back")).length;
    record(`NATS restart after ${delay} ms: ${how}; ${rollbacks} rollback(s)`);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, "results.csv"), "utf8")).toBe(embeddedCsv(args));
  });

  it("kill -9 the coordinator mid-run: refsim run --resume ID completes the run from its checkpoints, identical results", async () => {
    const args = [...RUN_ARGS, "--schemes", "nsproxy,percpu"];
    const live = workers.filter((w) => w.child.exitCode === null);
    // Kill it during the second configuration's run: the first one's result must come from Redis.
    const taken = jobsTaken(6, live);
    const out = join(base, "killed-coordinator");
    const run = clusterRun(args, out);
    await taken;
    const delay = randomMs(200, 1500);
    await sleep(delay);
    run.child.kill("SIGKILL");
    await run.done;
    expect(run.id()).not.toBe("");
    const resumed = await start(["run", "--resume", run.id(), ...urls(), "--queue", queue]).done;
    record(`coordinator kill -9 after ${delay} ms into its second run: --resume exit ${resumed.code}; ${resumed.stderr.split("\n").filter((l) => /resum|epoch \d+ starts|report is in/.test(l)).join(" | ")}`);
    expect(resumed.code, resumed.stderr).toBe(0);
    // The results go where the lost coordinator would have put them.
    expect(readFileSync(join(out, "results.csv"), "utf8")).toBe(embeddedCsv(args));
  });

  it("restart Redis mid-sweep: every point is present exactly once and ran exactly once", async () => {
    const doc = {
      name: "redis restart sweep",
      machines: ["modern-2s"],
      workloads: ["fork-storm"],
      schemes: ["clone-flags", "nsproxy", "percpu"],
      cpus: [1, 2, 4, 8, 16],
      seeds: [1, 2],
      // Short points: the restart only has to land while most of the 30 are still to run.
      duration: "500us",
      warmup: "50us",
    };
    const spec = join(base, "sweep.json");
    writeFileSync(spec, JSON.stringify(doc));
    const plan = loadSweep(doc, codeVersion());
    const out = join(base, "redis-restart");
    let done = 0;
    let restarted = false;
    const sweep = start(["sweep", spec, "--cluster", ...urls(), "--queue", pointQueue, "--partition-queue", queue, "--out", out], (line) => {
      if (/: done$/.test(line)) done++;
    });
    while (done < 3) await sleep(20);
    const at = done;
    await redis.restart();
    restarted = true;
    const r = await sweep.done;
    record(`Redis restart after ${at} of ${plan.points.length} points: sweep exit ${r.code}`);
    expect(at).toBeLessThan(plan.points.length);
    expect(restarted).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(join(out, "results.csv"), "utf8").trim().split("\n").slice(1);
    const header = readFileSync(join(out, "results.csv"), "utf8").split("\n")[0].split(",");
    const idColumns = ["machine", "workload", "scheme", "cpus", "seed"].map((c) => header.indexOf(c));
    const keys = rows.map((row) => idColumns.map((i) => row.split(",")[i]).join("|"));
    expect(new Set(keys).size).toBe(plan.points.length);
    expect(keys).toHaveLength(plan.points.length);
    const counts = await connection.hgetall(sweepKeys(pointQueue, plan.id).executions);
    expect(plan.points.map((p) => Number(counts[p.id] ?? 0))).toEqual(plan.points.map(() => 1));
  });
});
