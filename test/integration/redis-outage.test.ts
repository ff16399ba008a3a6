import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start } from "../support/refsim-process.ts";
import { freePort, natsService, startRedisServer, type LocalServer, type ServiceResolution } from "../support/services.ts";

// A Redis that goes away: a worker told to (--redis-exit-after) leaves after that long with one
// line and exit code 1, at start-up or later; a coordinator says so in one line, no client stack
// dumps, and does not hang on its clean-up. Each test starts and stops a redis-server of its own.

/** A stack frame of a trace ("    at f (file:1:2)"), which no user-facing output may print. */
const STACK_FRAME = /^\s+at .+[:(]/m;
const out = () => join(mkdtempSync(join(tmpdir(), "refsim-outage-")), "out");

describe("Redis outages", () => {
  let nats: ServiceResolution;
  beforeAll(async () => {
    nats = await natsService();
  });
  afterAll(async () => {
    if (nats !== undefined && "stop" in nats) await nats.stop();
  });

  it("refsim worker --redis-exit-after with nobody at the Redis URL: one line at once, gives up after the time, exit 1", async (ctx) => {
    if ("skip" in nats) return ctx.skip();
    const port = await freePort();
    const t0 = Date.now();
    const r = await start(["worker", "--nats", nats.url, "--redis", `redis://u:s3cret@127.0.0.1:${port}`, "--queue", `refsim-outage-${process.pid}`, "--redis-exit-after", "3"]).done;
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code).toBe(1);
    expect(seconds).toBeLessThan(30);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stderr).not.toContain("s3cret");
    const lines = r.stderr.trim().split("\n");
    expect(lines.find((l) => l.includes("cannot reach Redis at"))).toMatch(/^worker \d+: cannot reach Redis at redis:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/?: .*; retrying every 2 s \(giving up after 3 s\)$/);
    expect(lines.at(-1)).toMatch(/^refsim: cannot reach Redis at \S+ for \d+ s \(\d+ attempts\): .*; giving up$/);
    expect(lines.length).toBeLessThanOrEqual(4);
  }, 60_000);

  it("a running worker whose Redis stops leaves after --redis-exit-after with one line, exit 1", async (ctx) => {
    if ("skip" in nats) return ctx.skip();
    const redis: LocalServer = await startRedisServer();
    try {
      let ready: () => void = () => {};
      const waiting = new Promise<void>((resolve) => (ready = resolve));
      const w = start(["worker", "--nats", nats.url, "--redis", redis.url, "--queue", `refsim-outage-${process.pid}`, "--redis-exit-after", "3"], (line) => {
        if (line.includes("waiting for sweep points")) ready();
      });
      await waiting;
      await redis.kill();
      const t0 = Date.now();
      const r = await w.done;
      expect(r.code).toBe(1);
      expect((Date.now() - t0) / 1000).toBeLessThan(30);
      expect(r.stderr).not.toMatch(STACK_FRAME);
      expect(r.stderr).toMatch(/worker \d+: Redis redis:\/\/127\.0\.0\.1:\d+\/? unreachable for \d+ s \(--redis-exit-after 3\): exiting/);
      // The error is said once (then once a minute), not per reconnection attempt.
      expect(r.stderr.split("\n").filter((l) => l.includes("ECONNREFUSED")).length).toBeLessThanOrEqual(2);
    } finally {
      await redis.stop();
    }
  }, 90_000);

  it("a coordinator whose Redis stops while it waits for workers: one line per error, no stack dumps, and it ends", async (ctx) => {
    if ("skip" in nats) return ctx.skip();
    const redis: LocalServer = await startRedisServer();
    try {
      let waiting: () => void = () => {};
      const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
      const run = start(
        ["run", "--cluster", "--workers", "2", "--nats", nats.url, "--redis", redis.url, "--queue", `refsim-outage-none-${process.pid}`, "--wait-workers", "6", "--machine", "small-4", "--cpus", "4", "--schemes", "nsproxy", "--duration", "100us", "--out", out()],
        (line) => {
          if (line.startsWith("waiting for workers")) waiting();
        },
      );
      await isWaiting;
      await redis.kill();
      const r = await run.done;
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(STACK_FRAME);
      expect(r.stderr).not.toContain("Unhandled error event");
      expect(r.stderr.split("\n").filter((l) => l.includes("ECONNREFUSED")).length).toBeLessThanOrEqual(2);
      expect(r.stderr).toMatch(/^refsim: gave up waiting for workers/m);
    } finally {
      await redis.stop();
    }
  }, 90_000);
});
