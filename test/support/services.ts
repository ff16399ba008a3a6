import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redactUrl } from "../../worker/transport/server-url.ts";

/**
 * Redis and NATS for tests. `redisService()` / `natsService()` find one in this order:
 *   1. `REDIS_URL` / `NATS_URL` from the environment;
 *   2. the default local port, if it answers (127.0.0.1:6379 PING, 127.0.0.1:4222 INFO);
 *   3. a container started by testcontainers, if a container runtime answers;
 *   4. otherwise, under CI, they throw `ServiceUnavailableError`; elsewhere they return
 *      `{ skip }` with a reason that says how to provide the service.
 * With `REFSIM_TEST_SERVICES=testcontainers` they skip 1 and 2: every caller gets containers of
 * its own (CI runs the whole suite this way), and a missing runtime fails under CI.
 * Containers use the registry's `redis:7` and `nats:2.10-alpine` with mapped ports, or, with
 * `REFSIM_CONTAINER_NETWORK=host` (an engine without bridge networking, as
 * `scripts/container-runtime.sh` starts it), the host's network, listening on 127.0.0.1 on a
 * free port of their own.
 * `startNatsServer()` / `startRedisServer()` start a private server on a random port instead,
 * for tests that stop and restart it.
 */

export interface RunningService {
  url: string;
  source: "env" | "local" | "testcontainers";
  /** Stops what this call started (a container); a no-op for env and local services. */
  stop(): Promise<void>;
}

export type ServiceResolution = RunningService | { skip: string };

export interface ResolveOptions {
  /** Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** The local service to probe; default `redis://127.0.0.1:6379` / `nats://127.0.0.1:4222`. */
  localUrl?: string;
  /** Try testcontainers when nothing else answers; default true. */
  containers?: boolean;
}

/** A required service (Redis or NATS) is missing under CI. */
export class ServiceUnavailableError extends Error {
  override readonly name = "ServiceUnavailableError";
  constructor(
    readonly service: "Redis" | "NATS",
    message: string,
  ) {
    super(message);
  }
}

export function isCI(env: Record<string, string | undefined> = process.env): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

interface ServiceKind {
  service: "Redis" | "NATS";
  envVar: "REDIS_URL" | "NATS_URL";
  localUrl: string;
  probe(host: string, port: number): Promise<boolean>;
  startContainer(): Promise<RunningService>;
  howToStart: string;
}

const REDIS: ServiceKind = {
  service: "Redis",
  envVar: "REDIS_URL",
  localUrl: "redis://127.0.0.1:6379",
  probe: (host, port) => probeRedis(host, port),
  startContainer: () => startRedisContainer(),
  howToStart: "start redis-server on 127.0.0.1:6379 (apt-get install redis-server; .ci/run shows the command)",
};

const NATS: ServiceKind = {
  service: "NATS",
  envVar: "NATS_URL",
  localUrl: "nats://127.0.0.1:4222",
  probe: (host, port) => probeNats(host, port),
  startContainer: () => startNatsContainer(),
  howToStart: "start nats-server -js on 127.0.0.1:4222 (apt-get install nats-server; .ci/run shows the command)",
};

export function redisService(options: ResolveOptions = {}): Promise<ServiceResolution> {
  return resolveService(REDIS, options);
}

export function natsService(options: ResolveOptions = {}): Promise<ServiceResolution> {
  return resolveService(NATS, options);
}

/** Where tests take Redis and NATS from: `REFSIM_TEST_SERVICES` (unset or `auto`, or `testcontainers`). */
export function servicesMode(env: Record<string, string | undefined> = process.env): "auto" | "testcontainers" {
  const mode = env.REFSIM_TEST_SERVICES;
  if (mode === undefined || mode === "" || mode === "auto") return "auto";
  if (mode === "testcontainers") return mode;
  throw new Error(`REFSIM_TEST_SERVICES must be "auto" or "testcontainers", not ${JSON.stringify(mode)}`);
}

async function resolveService(kind: ServiceKind, options: ResolveOptions): Promise<ServiceResolution> {
  const env = options.env ?? process.env;
  const onlyContainers = servicesMode(env) === "testcontainers";
  const localUrl = options.localUrl ?? kind.localUrl;
  if (!onlyContainers) {
    const fromEnv = env[kind.envVar];
    if (fromEnv !== undefined && fromEnv !== "") return { url: fromEnv, source: "env", stop: async () => {} };
    const local = new URL(localUrl);
    if (await kind.probe(local.hostname, Number(local.port))) return { url: localUrl, source: "local", stop: async () => {} };
  }

  let containerReason = "testcontainers not tried";
  if (options.containers ?? true) {
    const runtime = await containerRuntime();
    if (runtime.available) return kind.startContainer();
    containerReason = `no container runtime for testcontainers (${runtime.reason})`;
  }

  const why = onlyContainers
    ? `${kind.service} is not available: REFSIM_TEST_SERVICES=testcontainers asks for a container, and ${containerReason}.`
    : `${kind.service} is not available: ${kind.envVar} is not set, nothing answers at ${redactUrl(localUrl)}, and ${containerReason}.`;
  const how = onlyContainers
    ? "Start Docker (scripts/container-runtime.sh up, then eval its env), or unset REFSIM_TEST_SERVICES."
    : `Set ${kind.envVar}, ${kind.howToStart}, or make Docker available to testcontainers.`;
  if (isCI(env)) throw new ServiceUnavailableError(kind.service, `${why} CI is set, so this is a failure. ${how}`);
  return { skip: `${why} ${how} (Under CI=true this fails instead of skipping.)` };
}

let runtimeCheck: Promise<{ available: true } | { available: false; reason: string }> | undefined;

/** Whether testcontainers finds a container runtime (asked once per process). */
export function containerRuntime(): Promise<{ available: true } | { available: false; reason: string }> {
  runtimeCheck ??= import("testcontainers").then(
    ({ getContainerRuntimeClient }) =>
      getContainerRuntimeClient().then(
        () => ({ available: true as const }),
        (e: Error) => ({ available: false as const, reason: e.message }),
      ),
    (e: Error) => ({ available: false as const, reason: `cannot load testcontainers: ${e.message}` }),
  );
  return runtimeCheck;
}

/** A server image, how to start it listening on HOST:PORT, and the log line that says it is ready. */
interface ContainerRecipe {
  image: string;
  /** The port it listens on when its port is mapped (not on the host's network). */
  port: number;
  command(host: string, port: number): string[];
  ready: RegExp;
  url(host: string, port: number): string;
}

const REDIS_CONTAINER: ContainerRecipe = {
  image: "redis:7",
  port: 6379,
  command: (host, port) => ["redis-server", "--bind", host, "--port", String(port), "--protected-mode", "no", "--save", "", "--appendonly", "no"],
  ready: /Ready to accept connections/,
  url: (host, port) => `redis://${host}:${port}`,
};

const NATS_CONTAINER: ContainerRecipe = {
  image: "nats:2.10-alpine",
  port: 4222,
  command: (host, port) => ["nats-server", "-js", "-a", host, "-p", String(port)],
  ready: /Server is ready/,
  url: (host, port) => `nats://${host}:${port}`,
};

export function startRedisContainer(): Promise<RunningService> {
  return startContainer(REDIS_CONTAINER);
}

export function startNatsContainer(): Promise<RunningService> {
  return startContainer(NATS_CONTAINER);
}

/** Whether containers share the host's network (`REFSIM_CONTAINER_NETWORK=host`). */
export function hostNetwork(env: Record<string, string | undefined> = process.env): boolean {
  return env.REFSIM_CONTAINER_NETWORK === "host";
}

async function startContainer(recipe: ContainerRecipe): Promise<RunningService> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const wait = Wait.forLogMessage(recipe.ready);
  if (!hostNetwork()) {
    const container = await new GenericContainer(recipe.image)
      .withExposedPorts(recipe.port)
      .withCommand(recipe.command("0.0.0.0", recipe.port))
      .withWaitStrategy(wait)
      .start();
    return started(container, recipe.url(container.getHost(), container.getMappedPort(recipe.port)));
  }
  // On the host's network the port must be free on 127.0.0.1; another process may take it
  // between freePort() and the server's bind (the container then exits and is removed): try again.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const container = await new GenericContainer(recipe.image)
        .withNetworkMode("host")
        .withCommand(recipe.command("127.0.0.1", port))
        .withWaitStrategy(wait)
        .start();
      return started(container, recipe.url("127.0.0.1", port));
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

function started(container: { stop(): Promise<unknown> }, url: string): RunningService {
  return {
    url,
    source: "testcontainers",
    stop: async () => {
      await container.stop();
    },
  };
}

/** Whether a Redis server answers PING with PONG at host:port. */
export function probeRedis(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return probe(host, port, timeoutMs, "PING\r\n", (text) => text.startsWith("+PONG"));
}

/** Whether a NATS server greets a new connection with INFO at host:port. */
export function probeNats(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return probe(host, port, timeoutMs, undefined, (text) => text.startsWith("INFO "));
}

function probe(host: string, port: number, timeoutMs: number, send: string | undefined, ok: (firstBytes: string) => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let text = "";
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
    socket.on("connect", () => {
      if (send !== undefined) socket.write(send);
    });
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (text.includes("\n")) done(ok(text));
    });
  });
}

/** A port on 127.0.0.1 that was free a moment ago (the OS picked it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** A server process this test owns, on a random port of 127.0.0.1 with its own data folder. */
export interface LocalServer {
  url: string;
  port: number;
  /** Its data folder (JetStream store for NATS, working dir for Redis). */
  dir: string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its folder. Idempotent. */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port and folder; resolves once it answers. */
  restart(): Promise<void>;
  /** Stops it (SIGKILL) without removing its folder; `restart()` brings it back. */
  kill(): Promise<void>;
}

export interface LocalServerOptions {
  /** Extra command-line arguments, e.g. `["--user", "u", "--pass", "p"]` for nats-server. */
  args?: string[];
  /** Milliseconds to wait until it answers. Default 15,000. */
  startTimeoutMs?: number;
}

/**
 * Starts `nats-server -js` on a random port with its own store folder (`-sd`). The binary is
 * `NATS_SERVER_BIN`, else `/usr/sbin/nats-server` if present, else `nats-server` on PATH.
 */
export function startNatsServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const bin = process.env.NATS_SERVER_BIN ?? (existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server");
  return startLocalServer({
    what: "nats-server",
    bin,
    args: (port, dir) => ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir, ...(options.args ?? [])],
    url: (port) => `nats://127.0.0.1:${port}`,
    answers: (port) => probeNats("127.0.0.1", port, 500),
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
  });
}

/** Starts `redis-server` on a random port without persistence (`--save "" --appendonly no`). */
export function startRedisServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  return startLocalServer({
    what: "redis-server",
    bin: process.env.REDIS_SERVER_BIN ?? "redis-server",
    args: (port, dir) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...(options.args ?? [])],
    url: (port) => `redis://127.0.0.1:${port}`,
    answers: (port) => probeRedis("127.0.0.1", port, 500),
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
  });
}

interface ServerRecipe {
  what: string;
  bin: string;
  args(port: number, dir: string): string[];
  url(port: number): string;
  answers(port: number): Promise<boolean>;
  startTimeoutMs: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test process that dies must not leave servers behind. */
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

async function startLocalServer(recipe: ServerRecipe): Promise<LocalServer> {
  killAllOnExit();
  const dir = mkdtempSync(join(tmpdir(), `refsim-${recipe.what}-`));
  let port = 0;
  let child: ChildProcess | undefined;
  // Another process may take the port between freePort() and the server's bind: try again.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(recipe, port, dir);
      break;
    } catch (e) {
      if (attempt >= 3 || !/address already in use|bind/i.test((e as Error).message)) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const terminate = async (signal: NodeJS.Signals) => {
    const c = child;
    child = undefined;
    if (c !== undefined) await stopProcess(c, signal);
  };
  let stopped = false;
  return {
    url: recipe.url(port),
    port,
    dir,
    stop: async () => {
      await terminate("SIGTERM");
      if (!stopped) rmSync(dir, { recursive: true, force: true });
      stopped = true;
    },
    kill: () => terminate("SIGKILL"),
    restart: async () => {
      if (stopped) throw new Error(`${recipe.what} on port ${port} was stopped for good`);
      await terminate("SIGTERM");
      child = await launch(recipe, port, dir);
    },
  };
}

/** Spawns the server and resolves once it answers; rejects with its stderr if it exits first. */
async function launch(recipe: ServerRecipe, port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(recipe.bin, recipe.args(port, dir), { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited: string | undefined;
  child.once("exit", (code, signal) => {
    running.delete(child);
    exited = `exited with ${signal ?? `code ${code}`}`;
  });
  child.once("error", (e) => {
    running.delete(child);
    exited = `could not start: ${e.message}`;
  });
  const deadline = Date.now() + recipe.startTimeoutMs;
  for (;;) {
    if (exited !== undefined) throw new Error(`${recipe.what} on port ${port} ${exited}: ${output.trim()}`);
    if (await recipe.answers(port)) return child;
    if (Date.now() > deadline) {
      await stopProcess(child, "SIGKILL");
      throw new Error(`${recipe.what} on port ${port} did not answer within ${recipe.startTimeoutMs} ms: ${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** How long a server may take to exit after the polite signal before it is killed. */
const KILL_AFTER_MS = 5000;

/** Sends `signal` and resolves on the exit event; a server that ignores it is killed after KILL_AFTER_MS. */
function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}
