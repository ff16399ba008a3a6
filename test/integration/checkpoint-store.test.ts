import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newRunId } from "../../coordinator/run-id.ts";
import { MemoryCheckpointStore, RedisCheckpointStore, RUN_TTL_SECONDS, type CheckpointStore } from "../../worker/checkpoint-store.ts";
import { redisConnection } from "../../worker/queue.ts";
import { redisService, type RunningService } from "../support/services.ts";

/**
 * One contract, both stores: the Redis store (what workers use) must behave as the in-memory
 * one the in-process recovery tests rely on.
 */
function contract(name: string, store: () => CheckpointStore | null, skip: () => string | null) {
  describe(`checkpoint store contract: ${name}`, () => {
    const use = (ctx: { skip: (note?: string) => void }): CheckpointStore => {
      const why = skip();
      if (why !== null) ctx.skip(why);
      return store() as CheckpointStore;
    };

    it("counts incarnations per partition", async (ctx) => {
      const s = use(ctx);
      const run = newRunId();
      expect(await s.incarnation(run, 0)).toBe(0);
      expect(await s.claimIncarnation(run, 0)).toBe(1);
      expect(await s.claimIncarnation(run, 0)).toBe(2);
      expect(await s.claimIncarnation(run, 1)).toBe(1);
      expect(await s.incarnation(run, 0)).toBe(2);
    });

    it("completes a checkpoint when every partition saved it, keeps only the newest, and refuses older epochs", async (ctx) => {
      const s = use(ctx);
      const run = newRunId();
      expect(await s.beginEpoch(run)).toEqual({ epoch: 1, window: -1 });
      const bytes = (b: number) => new Uint8Array([b, 0, 255, b]);
      expect(await s.save(run, 1, 9, 0, 2, bytes(1))).toBe("saved");
      expect(await s.save(run, 1, 9, 1, 2, bytes(2))).toBe("complete");
      expect(await s.load(run, 9, 1)).toEqual(bytes(2));
      expect(await s.save(run, 1, 19, 1, 2, bytes(3))).toBe("saved");
      expect(await s.save(run, 1, 19, 0, 2, bytes(4))).toBe("complete");
      // The older complete checkpoint is dropped.
      expect(await s.load(run, 9, 0)).toBeNull();
      expect(await s.beginEpoch(run)).toEqual({ epoch: 2, window: 19 });
      // A slow save from epoch 1 cannot complete anything now.
      expect(await s.save(run, 1, 29, 0, 1, bytes(5))).toBe("stale");
      expect(await s.load(run, 29, 0)).toBeNull();
    });

    it("keeps reports and the run record; finish drops checkpoints and reports; the finished mark is separate", async (ctx) => {
      const s = use(ctx);
      const run = newRunId();
      await s.beginEpoch(run);
      await s.save(run, 1, 4, 0, 1, new Uint8Array([7]));
      await s.saveReport(run, 0, "{\"r\":0}");
      await s.saveReport(run, 1, "{\"r\":1}");
      await s.saveRecord(run, "{\"record\":true}");
      expect(await s.reports(run)).toEqual(
        new Map([
          [0, "{\"r\":0}"],
          [1, "{\"r\":1}"],
        ]),
      );
      expect(await s.finished(run)).toBe(false);
      await s.markFinished(run);
      expect(await s.finished(run)).toBe(true);
      expect(await s.finished(newRunId())).toBe(false);
      await s.finish(run);
      expect((await s.reports(run)).size).toBe(0);
      expect(await s.load(run, 4, 0)).toBeNull();
      expect(await s.record(run)).toBe("{\"record\":true}");
      expect(await s.finished(run)).toBe(true);
    });
  });
}

contract(
  "in memory",
  () => new MemoryCheckpointStore(),
  () => null,
);

let redis: RunningService | { skip: string } = { skip: "not resolved yet" };
let connection: Redis | null = null;
beforeAll(async () => {
  redis = await redisService();
  if (!("skip" in redis)) connection = redisConnection(redis.url);
});
afterAll(async () => {
  await connection?.quit();
  if (!("skip" in redis)) await redis.stop();
});

contract(
  "Redis",
  () => new RedisCheckpointStore(connection as Redis),
  () => ("skip" in redis ? redis.skip : null),
);

describe("the Redis store's keys", () => {
  it("all expire (a run's keys live RUN_TTL_SECONDS after their last write)", async (ctx) => {
    if ("skip" in redis) return ctx.skip(redis.skip);
    const s = new RedisCheckpointStore(connection as Redis);
    const run = newRunId();
    await s.claimIncarnation(run, 0);
    await s.beginEpoch(run);
    await s.save(run, 1, 3, 0, 2, new Uint8Array([1]));
    await s.saveReport(run, 0, "{}");
    await s.saveRecord(run, "{}");
    await s.markFinished(run);
    const keys = await (connection as Redis).keys(`refsim:run:${run}*`);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    for (const k of keys) {
      const ttl = await (connection as Redis).ttl(k);
      expect(ttl, k).toBeGreaterThan(0);
      expect(ttl, k).toBeLessThanOrEqual(RUN_TTL_SECONDS);
    }
  });
});
