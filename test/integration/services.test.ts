import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { connectNats } from "../../worker/transport/nats.ts";
import {
  containerRuntime,
  freePort,
  isCI,
  natsService,
  redisService,
  ServiceUnavailableError,
  servicesMode,
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
    if (servicesMode() === "testcontainers") expect(redis.source).toBe("testcontainers");
    expect(await redisPing(redis.url)).toBe("PONG");
  });

  it("finds a NATS that answers a request/reply round trip", async (ctx) => {
    const nats = await natsService();
    if ("skip" in nats) return ctx.skip(nats.skip);
    started.push(nats);
    if (servicesMode() === "testcontainers") expect(nats.source).toBe("testcontainers");
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

  it("with REFSIM_TEST_SERVICES=testcontainers, asks for a container even when REDIS_URL / NATS_URL are set", async () => {
    const env = { REFSIM_TEST_SERVICES: "testcontainers", REDIS_URL: "redis://redis.invalid:1", NATS_URL: "nats://nats.invalid:1", CI: "true" };
    await expect(redisService({ env, containers: false })).rejects.toMatchObject({ service: "Redis", message: expect.stringMatching(/REFSIM_TEST_SERVICES=testcontainers asks for a container/) });
    await expect(natsService({ env, containers: false })).rejects.toMatchObject({ service: "NATS", message: expect.stringMatching(/REFSIM_TEST_SERVICES=testcontainers/) });
    expect(await natsService({ env: { ...env, CI: undefined }, containers: false })).toEqual({ skip: expect.stringMatching(/NATS is not available: REFSIM_TEST_SERVICES/) });
    expect(() => servicesMode({ REFSIM_TEST_SERVICES: "docker" })).toThrow(/REFSIM_TEST_SERVICES must be "auto" or "testcontainers", not "docker"/);
    expect(servicesMode({})).toBe("auto");
  });

  it("outside CI, returns a skip reason that says how to provide the service", async () => {
    const port = await freePort();
    for (const ci of [undefined, "", "false", "0"]) {
      const resolved = await natsService({ env: { CI: ci }, containers: false, localUrl: `nats://127.0.0.1:${port}` });
      expect(resolved).toEqual({ skip: expect.stringMatching(/NATS is not available.*Set NATS_URL/s) });
    }
  });
});

// The container runtime: a Docker engine (scripts/container-runtime.sh starts one where none
// answers; .ci/run does). Outside CI, without one, this is reported as skipped with the reason in
// its name; under CI a missing runtime is a failure like any missing service.
const runtime = await containerRuntime();
const notApplicable = runtime.available ? "" : ` (not applicable: no container runtime: ${runtime.reason})`;

describe("testcontainers", () => {
  it.runIf(runtime.available || isCI())(`starts Redis and NATS containers that answer${notApplicable}`, { timeout: 300_000 }, async () => {
    if (!runtime.available) throw new Error(`CI is set and testcontainers finds no container runtime: ${runtime.reason}. Run scripts/container-runtime.sh up.`);
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
