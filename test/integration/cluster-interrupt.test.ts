import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisConnection } from "../../worker/queue.ts";
import { runWorkerProcess } from "../../worker/worker-process.ts";
import { start } from "../support/refsim-process.ts";
import { redisService, startNatsServer, type LocalServer, type RunningService } from "../support/services.ts";

/**
 * Ctrl-C on the coordinator of a cluster run over NATS workers: the runs that finished are
 * written (results.json marked incomplete), the command exits 130 naming its --resume ID, and
 * `refsim run --resume ID` finishes the rest with results byte-identical to the embedded run.
 * Four short runs over two partitions each: the signal comes once the first is in Redis.
 */

const RUN = ["run", "--machine", "small-4", "--cpus", "2,4", "--schemes", "clone-flags,percpu", "--workload", "migration", "--duration", "60us", "--quiet"];

describe("SIGINT to a cluster run's coordinator", () => {
  let nats: LocalServer;
  let redis: RunningService | { skip: string };
  let connection: Redis | null = null;
  const queue = `refsim-cluster-interrupt-${process.pid}-${Date.now()}`;
  const base = mkdtempSync(join(tmpdir(), "refsim-cluster-interrupt-"));
  const workers: Array<{ stop(): Promise<void> }> = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    redis = await redisService();
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    if (connection !== null) {
      const q = new Queue(queue, { connection });
      await q.obliterate({ force: true });
      await q.close();
      await connection.quit();
    }
    await nats?.stop();
    if ("stop" in redis) await redis.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it("keeps the finished runs, exits 130, and --resume ID completes them byte for byte", async (ctx) => {
    if ("skip" in redis) return ctx.skip(redis.skip);
    const services = ["--nats", nats.url, "--redis", redis.url, "--queue", queue];
    connection = redisConnection(redis.url);
    for (let i = 0; i < 2; i++) workers.push(await runWorkerProcess({ natsUrl: nats.url, redisUrl: redis.url, queue, pointsQueue: `${queue}-points`, slots: 1, log: () => {} }));
    const embedded = join(base, "embedded");
    expect((await start([...RUN, "--out", embedded]).done).code).toBe(0);

    const dir = join(base, "cluster");
    let id: string | null = null;
    const p = start([...RUN.filter((a) => a !== "--quiet"), "--cluster", "--workers", "2", ...services, "--out", dir], (line) => {
      const m = /^refsim: cluster run (\S+) /.exec(line);
      if (m !== null) id = m[1];
    });
    // A condition on Redis, not a delay: the first run's result is stored.
    for (;;) {
      if (p.child.exitCode !== null) throw new Error("the cluster run ended before it was interrupted");
      if (id !== null && (await connection.hlen(`refsim:experiment:${id}:results`)) >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    p.child.kill("SIGINT");
    const r = await p.done;
    expect(r.code, r.stderr).toBe(130);
    const doc = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    const continueWith = `refsim run --resume ${id} (with the same --nats, --redis and --queue)`;
    expect(doc.incomplete).toMatchObject({ reason: "interrupted by SIGINT", total: 4, continueWith });
    expect(doc.incomplete.done).toBeGreaterThanOrEqual(1);
    expect(doc.runs).toHaveLength(doc.incomplete.done);
    expect(r.stderr).toContain(`refsim: interrupted by SIGINT: kept ${doc.incomplete.done} of 4 runs in ${dir}: results.json (marked incomplete), results.csv, report.html`);
    expect(r.stderr).toContain(`refsim: continue with: ${continueWith}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    const resumed = await start(["run", "--resume", id as unknown as string, ...services, "--quiet"]).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    for (const file of ["results.json", "results.csv"]) expect(readFileSync(join(dir, file)).equals(readFileSync(join(embedded, file))), file).toBe(true);
  }, 180_000);
});
