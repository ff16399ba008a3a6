import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "../../coordinator/cluster.ts";
import { simulate } from "../../shared/simulation.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { RUN_TTL_SECONDS } from "../../worker/checkpoint-store.ts";
import { redisConnection } from "../../worker/queue.ts";
import { runWorkerProcess } from "../../worker/worker-process.ts";
import { redisService, startNatsServer, type LocalServer, type RunningService } from "../support/services.ts";

/**
 * A run that fails leaves nothing behind: one worker with one partition slot, and a run over
 * three partitions, which can never gather its three hellos. The coordinator gives up and aborts:
 * the run is marked finished, the partition job the worker holds fails for good (no retry), the
 * two still queued are removed, and the next run on the same worker is the only thing it takes
 * next. The jobs' keys expire as the run's do.
 */

const SPEC = resolveSpec(parseSpec({ machine: "xeon-80", cpus: [4], schemes: ["nsproxy"], workload: "fork-storm", duration: "40us", warmup: "4us" }));
const EMBEDDED = JSON.stringify(simulate(planRuns(SPEC)[0]));

describe("an aborted cluster run", () => {
  let nats: LocalServer;
  let redis: RunningService | { skip: string };
  let connection: Redis | null = null;
  const queue = `refsim-aborted-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    nats = await startNatsServer();
    redis = await redisService();
  });
  afterAll(async () => {
    if (connection !== null) {
      const q = new Queue(queue, { connection });
      await q.obliterate({ force: true });
      await q.close();
      await connection.quit();
    }
    await nats?.stop();
    if ("stop" in redis) await redis.stop();
  });

  it("leaves no queued or retried jobs: the next run is the worker's next job", async (ctx) => {
    if ("skip" in redis) return ctx.skip(redis.skip);
    connection = redisConnection(redis.url);
    const lines: string[] = [];
    const worker = await runWorkerProcess({ natsUrl: nats.url, redisUrl: redis.url, queue, pointsQueue: `${queue}-points`, slots: 1, timeoutMs: 60_000, log: (l) => lines.push(l) });
    const logs: string[] = [];
    const cluster = await Cluster.connect({ natsUrl: nats.url, redisUrl: redis.url, queue, timeoutMs: 8000, waitWorkersMs: 8000, checkpointSeconds: 0, log: (l) => logs.push(l) });
    try {
      const aborted = `aborted-${process.pid}-${Date.now()}`;
      await expect(cluster.run(SPEC, 0, 3, aborted)).rejects.toThrow(/gave up waiting for workers after 8 s: 1 of 3 partitions taken/);
      expect(await cluster.store.finished(aborted)).toBe(true);
      const jobs = await Promise.all([0, 1, 2].map((p) => cluster.queue.getJob(`${aborted}-p${p}`)));
      // The one the worker took failed once, for good; the others are gone.
      const taken = jobs.filter((j) => j !== undefined);
      expect(taken).toHaveLength(1);
      expect(logs.filter((l) => l.includes("removed the queued partition job"))).toHaveLength(2);
      const fresh = await cluster.run(SPEC, 0, 1);
      expect(JSON.stringify(fresh.result)).toBe(EMBEDDED);
      const held = taken[0] as NonNullable<(typeof taken)[number]>;
      expect(await held.getState()).toBe("failed");
      expect(held.attemptsMade).toBe(1);
      expect(held.failedReason).toMatch(/the coordinator aborted the run/);
      // The worker took exactly two partition jobs: the aborted run's one, then the fresh run's.
      const runsTaken = lines.filter((l) => /: run \S+ partition \d+\//.test(l)).map((l) => /: run (\S+) partition/.exec(l)?.[1]);
      expect(runsTaken).toHaveLength(2);
      expect(runsTaken[0]).toBe(aborted);
      expect(runsTaken[1]).not.toBe(aborted);
      // Every key of both runs' jobs expires, as the runs' own keys do.
      for (const key of await (connection as Redis).keys(`bull:${queue}:${aborted}-p*`)) {
        const ttl = await (connection as Redis).ttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(RUN_TTL_SECONDS);
      }
    } finally {
      await cluster.close();
      await worker.stop();
    }
  });
});
