import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, type Finished } from "../support/refsim-process.ts";
import { freePort, natsService, redisService, type ServiceResolution } from "../support/services.ts";
import { redisConnection } from "../../worker/queue.ts";

// Nothing hangs: a server that is not there is one line and a non-zero exit, a run nobody
// takes says so and gives up, a worker says at once what it cannot reach and keeps trying.

const SMALL = ["--machine", "small-4", "--cpus", "4", "--schemes", "nsproxy", "--duration", "200us"];
const out = () => join(mkdtempSync(join(tmpdir(), "refsim-connect-")), "out");
/** A stack frame of a trace ("    at f (file:1:2)"), which no user-facing error may print. */
const STACK_FRAME = /^\s+at .+[:(]/m;

/** Runs refsim to its end; the test's own timeout (not this) bounds a hang. */
async function refsim(args: string[]): Promise<Finished> {
  return start(args).done;
}

function refsimLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("refsim: "));
}

describe("first connections are bounded", () => {
  let closedPort = 0;
  beforeAll(async () => {
    closedPort = await freePort();
  });

  it("run --cluster with nobody at the NATS URL: one line naming it (password masked), exit 1", async () => {
    const r = await refsim(["run", "--cluster", "--workers", "2", "--nats", `nats://refsim:s3cret@127.0.0.1:${closedPort}`, ...SMALL, "--out", out()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([`refsim: cannot connect to NATS: connection refused (nats://***@127.0.0.1:${closedPort})`]);
  }, 60_000);

  it("run --cluster and sweep --cluster with nobody at the Redis URL: one line, no stack, no repeats, exit 1", async () => {
    const redis = `redis://user:s3cret@127.0.0.1:${closedPort}`;
    const run = await refsim(["run", "--cluster", "--workers", "2", "--redis", redis, ...SMALL, "--out", out()]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^refsim: cannot reach Redis \(connect ECONNREFUSED .*\) \(redis:\/\/\*\*\*@127\.0\.0\.1:\d+\)$/)]);
    expect(run.stderr).not.toContain("s3cret");
    const sweep = await refsim(["sweep", "examples/sweep-small.yaml", "--cluster", "--redis", redis, "--out", out()]);
    expect(sweep.code).toBe(1);
    expect(sweep.stderr).not.toMatch(STACK_FRAME);
    expect(refsimLines(sweep.stderr)).toEqual([expect.stringMatching(/^refsim: cannot reach Redis /)]);
    expect(sweep.stderr.split("\n").length).toBeLessThanOrEqual(3);
  }, 90_000);

  it("refsim worker that cannot reach NATS, or Redis, says so at once and keeps trying", async () => {
    for (const args of [["--nats", `nats://127.0.0.1:${closedPort}`], ["--redis", `redis://127.0.0.1:${closedPort}`]]) {
      const lines: string[] = [];
      let said: () => void = () => {};
      const saidIt = new Promise<void>((resolve) => (said = resolve));
      const w = start(["worker", ...args, "--queue", `refsim-test-unreachable-${process.pid}`], (line) => {
        lines.push(line);
        if (line.includes("cannot reach")) said();
      });
      await saidIt;
      expect(lines.at(-1)).toMatch(/^worker \d+: cannot reach (NATS|Redis) at \S+:\d+: .*; retrying every 2 s/);
      // Still running (retrying), not exited: it is stopped here.
      expect(w.child.exitCode).toBeNull();
      w.child.kill("SIGTERM");
      await w.done;
    }
  }, 90_000);
});

describe("a cluster run that no worker takes", () => {
  let nats: ServiceResolution;
  let redis: ServiceResolution;
  const queue = `refsim-test-noworkers-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    nats = await natsService();
    redis = await redisService();
  });
  afterAll(async () => {
    try {
      if ("skip" in redis) return;
      const connection = redisConnection(redis.url);
      const q = new Queue(queue, { connection });
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
      connection.disconnect();
    } finally {
      // Under REFSIM_TEST_SERVICES=testcontainers these are containers of this file's own.
      if (nats !== undefined && "stop" in nats) await nats.stop();
      if (redis !== undefined && "stop" in redis) await redis.stop();
    }
  });

  it("says how many partitions are taken and gives up after --wait-workers, exit 1", async (ctx) => {
    if ("skip" in nats || "skip" in redis) return ctx.skip();
    const r = await refsim(["run", "--cluster", "--workers", "2", "--nats", nats.url, "--redis", redis.url, "--queue", queue, "--wait-workers", "4", ...SMALL, "--out", out()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("waiting for workers: 0 of 2 partitions taken");
    expect(refsimLines(r.stderr).at(-1)).toMatch(/^refsim: gave up waiting for workers after 4 s: 0 of 2 partitions taken \(start workers with `refsim worker`/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  }, 90_000);
});
