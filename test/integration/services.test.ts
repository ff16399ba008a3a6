import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { connectNats } from "../../worker/transport/nats.ts";
import {
  containerRuntime,
  freePort,
  natsService,
  redisService,
  ServiceUnavailableError,
  startNatsContainer,
  startNatsServer,
  startRedisContainer,
  startRedisServer,
  type LocalServer,
  type RunningService,
} from "../support/services.ts";

async function redisPing(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000 });
  try {
    await redis.connect();
    return await redis.ping();
  } finally {
    redis.disconnect();
  }
}

async function natsRoundTrip(url: string): Promise<string> {
  const [a, b] = await Promise.all([connectNats(url), connectNats(url)]);
  try {
    const subject = `services.${process.pid}.${Date.now().toString(36)}`;
    b.subscribe(subject, (m) => m.respond?.(m.data));
    await b.flush();
    return new TextDecoder().decode(await a.request(subject, new TextEncoder().encode("ping"), 5000));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

describe("test services", () => {
  const started: Array<RunningService | LocalServer> = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  });

  // Under CI, redisService()/natsService() throw when nothing provides the service, so these
  // fail there; elsewhere they skip with the reason and how to provide the service.
  it("finds a Redis that answers PING", async (ctx) => {
    const redis = await redisService();
    if ("skip" in redis) return ctx.skip(redis.skip);
    started.push(redis);
    expect(await redisPing(redis.url)).toBe("PONG");
  });

  it("finds a NATS that answers a request/reply round trip", async (ctx) => {
    const nats = await natsService();
    if ("skip" in nats) return ctx.skip(nats.skip);
    started.push(nats);
    expect(await natsRoundTrip(nats.url)).toBe("ping");
  });

  it("takes REDIS_URL and NATS_URL from the environment before anything else", async () => {
    const env = { REDIS_URL: "redis://redis.invalid:1", NATS_URL: "nats://nats.invalid:1" };
    expect(await redisService({ env })).toMatchObject({ url: env.REDIS_URL, source: "env" });
    expect(await natsService({ env })).toMatchObject({ url: env.NATS_URL, source: "env" });
  });

  it("uses a local server that answers at the default address", async () => {
    const redis = await startRedisServer();
    const nats = await startNatsServer();
    started.push(redis, nats);
    expect(await redisService({ env: {}, localUrl: redis.url })).toMatchObject({ url: redis.url, source: "local" });
    expect(await natsService({ env: {}, localUrl: nats.url })).toMatchObject({ url: nats.url, source: "local" });
    expect(await redisPing(redis.url)).toBe("PONG");
    expect(await natsRoundTrip(nats.url)).toBe("ping");
  });

  it("under CI, fails for a missing service, naming it and how to provide it", async () => {
    const port = await freePort();
    const options = { env: { CI: "true" }, containers: false };
    const redis = redisService({ ...options, localUrl: `redis://127.0.0.1:${port}` });
    await expect(redis).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(redis).rejects.toMatchObject({ service: "Redis", message: expect.stringMatching(/REDIS_URL.*redis-server.*testcontainers/s) });
    const nats = natsService({ ...options, localUrl: `nats://127.0.0.1:${port}` });
    await expect(nats).rejects.toMatchObject({ service: "NATS", message: expect.stringMatching(/NATS_URL.*nats-server.*testcontainers/s) });
  });

  it("outside CI, returns a skip reason that says how to provide the service", async () => {
    const port = await freePort();
    for (const ci of [undefined, "", "false", "0"]) {
      const resolved = await natsService({ env: { CI: ci }, containers: false, localUrl: `nats://127.0.0.1:${port}` });
      expect(resolved).toEqual({ skip: expect.stringMatching(/NATS is not available.*Set NATS_URL/s) });
    }
  });
});

// There is no Docker engine on the development and CI machines of this project (only the
// client), so testcontainers finds no runtime there; this test runs wherever one answers
// (GitHub runners, a laptop with Docker) and is reported as skipped, with the reason in its
// name, elsewhere. It is the only test allowed to skip under CI=true.
const runtime = await containerRuntime();
const notApplicable = runtime.available ? "" : ` (not applicable: no container runtime: ${runtime.reason})`;

describe("testcontainers", () => {
  it.runIf(runtime.available)(`starts Redis and NATS containers that answer${notApplicable}`, { timeout: 300_000 }, async () => {
    const [redis, nats] = await Promise.all([startRedisContainer(), startNatsContainer()]);
    try {
      expect(redis.source).toBe("testcontainers");
      expect(await redisPing(redis.url)).toBe("PONG");
      expect(await natsRoundTrip(nats.url)).toBe("ping");
    } finally {
      await Promise.all([redis.stop(), nats.stop()]);
    }
  });
});
