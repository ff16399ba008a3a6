import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInThreads } from "../../coordinator/threaded.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";
import { decodeMessage, encodeMessage, PROTOCOL_VERSION, type StepMessage } from "../../shared/protocol/messages.ts";
import { RECLAIM_PERIOD_PS } from "../../shared/protocol/reclaim.ts";
import { sealedPayload } from "../../shared/protocol/seal.ts";
import { connectNats } from "../../worker/transport/nats.ts";
import type { Transport } from "../../worker/transport/transport.ts";
import { faultOnFirstStep, runInProcess } from "../support/in-process-run.ts";
import { start } from "../support/refsim-process.ts";
import { natsService, redisService, startNatsServer, type LocalServer, type RunningService } from "../support/services.ts";

const BIN = fileURLToPath(new URL("../../bin/refsim.mjs", import.meta.url));

/** Cross-CPU forks and migrations on two sockets, so events really cross partitions. */
const SPEC = resolveSpec(
  parseSpec({ machine: "xeon-80", cpus: [24], schemes: ["nsproxy"], workload: { preset: "migration", fork: { placement: "random" } }, duration: "150us", warmup: "15us" }),
);
const EMBEDDED = JSON.stringify(simulate(planRuns(SPEC)[0]));
/**
 * Under refcounts-only every fork makes a UTS namespace and a bundle and its child's exit frees
 * both, on CPUs of both sockets: each partition retires memory in most windows (due at the
 * boundaries of 200, 300 and 400 us) and at 200 us reclaims what it and the others retired
 * before 100 us. A partition that missed the others' notices would keep lines they dropped, and
 * the merge of the reports would refuse it.
 */
const RECLAIM_DOC = {
  kernel: "refcounts-only",
  machine: "xeon-80",
  cpus: [24],
  schemes: ["nsproxy"],
  workload: { preset: "fork-storm", fork: { newNamespaces: ["uts"], placement: "random" } },
  duration: "250us",
  warmup: "20us",
};
const STEP: StepMessage = {
  v: PROTOCOL_VERSION,
  run: "",
  kind: "step",
  epoch: 1,
  window: 0,
  from: 0,
  nextPs: 1000,
  earliestSendPs: 1000,
  minSentTo: [null, null],
  sent: [0, 0],
  batches: [],
  retired: [],
  sinceCheckpointMs: 0,
  checkpointCostMs: 0,
};

describe("distributed runs give the embedded result", () => {
  it("over 1, 2, 3 and 4 worker threads, with events crossing workers", async () => {
    for (const workers of [1, 2, 3, 4]) {
      const { result, stats } = await runInThreads(SPEC, 0, workers);
      expect(JSON.stringify(result), `${workers} workers`).toBe(EMBEDDED);
      if (workers > 1) {
        expect(stats.crossEvents).toBeGreaterThan(0);
        expect(stats.windows).toBeGreaterThan(1);
      }
    }
  });

  it("over 2 worker threads for container churn under linux-6: sleeping waiters, lock words and the netns worker on different workers", async () => {
    const spec = resolveSpec(
      parseSpec({
        machine: "small-4",
        cpus: [4],
        schemes: ["nsproxy"],
        workload: { preset: "container-churn", tasksPerCpu: 2, fork: { placement: "random" } },
        duration: "1ms",
        warmup: "100us",
        costs: { netnsCreate: "100us" },
      }),
    );
    const embedded = simulate(planRuns(spec)[0]);
    // Something slept on rtnl_mutex (two tasks per CPU: need_resched), so wake-ups cross workers.
    expect(embedded.kernelPath?.locks.find((l) => l.name === "rtnl_mutex.wait_lock")?.acquisitions).toBeGreaterThan(0);
    for (const workers of [2]) {
      const { result, stats } = await runInThreads(spec, 0, workers);
      expect(JSON.stringify(result), `${workers} workers`).toBe(JSON.stringify(embedded));
      expect(stats.crossEvents).toBeGreaterThan(0);
    }
  });

  it("over 2 and 3 worker threads under refcounts-only, with every partition reclaiming what the others retired", async () => {
    const spec = resolveSpec(parseSpec(RECLAIM_DOC));
    const embedded = JSON.stringify(simulate(planRuns(spec)[0]));
    for (const workers of [2, 3]) {
      const { result, stats } = await runInThreads(spec, 0, workers);
      expect(JSON.stringify(result), `${workers} workers`).toBe(embedded);
      expect(stats.crossEvents).toBeGreaterThan(0);
    }
  });

  it("rejects and logs malformed messages on a run's subjects without changing the answer", async () => {
    const junk = [
      new TextEncoder().encode("not json"),
      encodeMessage({ v: PROTOCOL_VERSION, run: "x".repeat(12), kind: "start", partitions: 2, epoch: 1, window: -1 }),
      new TextEncoder().encode(JSON.stringify({ v: 99, run: "whatever-run", kind: "step" })),
      new TextEncoder().encode(JSON.stringify({ v: PROTOCOL_VERSION, run: "will-be-replaced", kind: "step", window: 0 })),
    ];
    const out = await runInProcess(SPEC, 0, 2, {
      onStarted: (job, bus) => {
        const attacker = bus.connect();
        const forgedJson = new TextEncoder().encode(JSON.stringify({ v: PROTOCOL_VERSION, run: job.run, kind: "step", window: "zero" }));
        // Well-formed binary steps of this run, from a partition it does not have, and cut short.
        const stranger = encodeMessage({ ...STEP, run: job.run, from: 9 });
        const forged = [forgedJson, stranger, stranger.subarray(0, stranger.byteLength - 3)];
        for (const subject of [`${job.prefix}.step.9`, `${job.prefix}.ctl`]) {
          for (const data of [...junk, ...forged]) attacker.publish(subject, data);
        }
      },
    });
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    const rejected = out.runnerStats.reduce((s, r) => s + r.rejected, 0);
    // Each junk message reaches both partitions on each of the two subjects.
    expect(rejected).toBeGreaterThanOrEqual(2 * 2 * (junk.length + 3));
    expect(out.logs.some((l) => l.includes("rejected a message"))).toBe(true);
  });

  it("stops with a counts error naming the window and the workers when a step message is lost", async () => {
    const drop = faultOnFirstStep(1, () => {});
    await expect(runInProcess(SPEC, 0, 2, { wrap: drop.wrap })).rejects.toThrow(/window \d+: the step message of partition 1 never reached partition 0/);
    expect(drop.fired()).toBe(true);
  });

  it("stops with a counts error when a step message is duplicated", async () => {
    const twice = faultOnFirstStep(0, (_step, data, send) => {
      send(data);
      send(data);
    });
    await expect(runInProcess(SPEC, 0, 2, { wrap: twice.wrap })).rejects.toThrow(/window \d+: duplicate step message from partition 0 \(at partition 1\)/);
    expect(twice.fired()).toBe(true);
  });

  it("rejects a step message whose batch disagrees with its counts, and then stops with a counts error", async () => {
    const tamper = faultOnFirstStep(0, (step, _data, send, seal) => {
      step.sent[step.batches[0].to] += 1; // the counts now promise one event more than the batch holds
      send(seal(encodeMessage(step)));
    });
    await expect(runInProcess(SPEC, 0, 2, { wrap: tamper.wrap })).rejects.toThrow(/window \d+: the step message of partition 0 never reached partition 1/);
    expect(tamper.fired()).toBe(true);
  });
});

describe("refsim worker processes over real NATS and Redis", () => {
  let nats: RunningService | { skip: string };
  let redis: RunningService | { skip: string };
  const workers: ChildProcess[] = [];
  const queue = `refsim-test-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    nats = await natsService();
    redis = await redisService();
  });

  afterAll(async () => {
    for (const w of workers) w.kill("SIGTERM");
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.exitCode !== null ? resolve(null) : w.once("exit", resolve)))));
    if ("stop" in nats) await nats.stop();
    if ("stop" in redis) await redis.stop();
  });

  it("give byte-identical results.csv with 2 and 3 workers, and a worker stops cleanly on SIGTERM", async (ctx) => {
    if ("skip" in nats || "skip" in redis) {
      ctx.skip(("skip" in nats ? nats.skip : "") + ("skip" in redis ? ` ${redis.skip}` : ""));
      return;
    }
    const urls = ["--nats", nats.url, "--redis", redis.url, "--queue", queue];
    for (let i = 0; i < 3; i++) {
      const w = spawn(process.execPath, [BIN, "worker", ...urls, "--points-queue", `${queue}-points`], { stdio: ["ignore", "ignore", "pipe"] });
      workers.push(w);
    }
    const args = ["--machine", "xeon-80", "--cpus", "24", "--schemes", "nsproxy,percpu", "--workload", "migration", "--duration", "120us", "--warmup", "12us", "--quiet"];
    const base = mkdtempSync(join(tmpdir(), "refsim-cluster-"));
    const embedded = spawnSync(process.execPath, [BIN, "run", ...args, "--out", join(base, "embedded")], { encoding: "utf8" });
    expect(embedded.status, embedded.stderr).toBe(0);
    for (const n of [2, 3]) {
      const r = spawnSync(process.execPath, [BIN, "run", ...args, "--cluster", "--workers", String(n), ...urls, "--out", join(base, `cluster-${n}`)], {
        encoding: "utf8",
        timeout: 180_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(base, `cluster-${n}`, "results.csv"), "utf8")).toBe(readFileSync(join(base, "embedded", "results.csv"), "utf8"));
    }
    const first = workers[0];
    first.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => first.once("exit", resolve));
    expect(code).toBe(0);
  });
});

describe("refsim worker processes over a NATS server of their own, under refcounts-only", () => {
  let nats: LocalServer;
  let redis: RunningService | { skip: string };
  let bystander: Transport;
  const workers: ChildProcess[] = [];
  const queue = `refsim-test-reclaim-${process.pid}-${Date.now()}`;
  /** Every whole step message on the server (read before its MAC: the bystander has no secret). */
  const steps: StepMessage[] = [];

  beforeAll(async () => {
    // A server of this file's own: no other run's step messages reach the bystander.
    nats = await startNatsServer();
    redis = await redisService();
    bystander = await connectNats(nats.url);
    bystander.subscribe("refsim.>", (msg) => {
      const d = decodeMessage(sealedPayload(msg.data));
      if (d.ok && d.message.kind === "step") steps.push(d.message);
    });
    await bystander.flush();
  });

  afterAll(async () => {
    for (const w of workers) w.kill("SIGTERM");
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.exitCode !== null ? resolve(null) : w.once("exit", resolve)))));
    await bystander?.close().catch(() => {});
    await nats?.stop();
    if ("stop" in redis) await redis.stop();
  });

  it("give byte-identical results.csv with 2 and 3 workers, their step messages carrying what each partition retired, due at reclaim boundaries", async (ctx) => {
    if ("skip" in redis) {
      ctx.skip(redis.skip);
      return;
    }
    const urls = ["--nats", nats.url, "--redis", redis.url, "--queue", queue];
    for (let i = 0; i < 3; i++) workers.push(start(["worker", ...urls, "--points-queue", `${queue}-points`]).child);
    const base = mkdtempSync(join(tmpdir(), "refsim-reclaim-cluster-"));
    const specFile = join(base, "spec.json");
    writeFileSync(specFile, JSON.stringify(RECLAIM_DOC));
    const run = async (out: string, extra: string[] = []) => {
      const r = await start(["run", "--spec", specFile, "--quiet", ...extra, "--out", join(base, out)]).done;
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(join(base, out, "results.csv"), "utf8");
    };
    const embedded = await run("embedded");
    for (const n of [2, 3]) expect(await run(`cluster-${n}`, ["--cluster", "--workers", String(n), ...urls]), `${n} workers`).toBe(embedded);
    await bystander.flush();
    const retiring = steps.filter((m) => m.retired.length > 0);
    // Each partition of each run (a step message names its run's partition count in minSentTo)
    // retired something: forks land on both sockets...
    for (const [n, from] of [[2, 0], [2, 1], [3, 0], [3, 1], [3, 2]]) expect(retiring.some((m) => m.minSentTo.length === n && m.from === from), `partition ${from} of ${n}`).toBe(true);
    // ...in pairs [duePs, id], each due at a reclaim boundary, and they fell due at more than one.
    const dues = new Set(retiring.flatMap((m) => m.retired.filter((_, i) => i % 2 === 0)));
    for (const due of dues) expect(due % RECLAIM_PERIOD_PS, `${due} ps`).toBe(0);
    expect(dues.size).toBeGreaterThanOrEqual(2);
  });
});
