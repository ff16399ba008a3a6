import { Redis, type RedisOptions } from "ioredis";
import { readTlsFiles, tlsFilesFromEnv } from "./transport/tls-env.ts";
import { ConnectError } from "./transport/errors.ts";

/** The BullMQ queue that carries partition jobs (tests use their own names). */
export const DEFAULT_PARTITION_QUEUE = "refsim-partitions";

/**
 * A Redis connection for BullMQ from a URL (`redis://user:pass@host:6379/0`, `rediss://` for
 * TLS; `REDIS_TLS_CA`, `REDIS_TLS_CERT`, `REDIS_TLS_KEY` name TLS files). Credentials stay in the URL's parsing, never in logs. BullMQ workers need
 * maxRetriesPerRequest null (they block on commands).
 */
export function redisConnection(url: string, extra: RedisOptions = {}): Redis {
  const files = tlsFilesFromEnv("REDIS");
  const tls = files === undefined ? {} : { tls: readTlsFiles(files) };
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false, ...tls, ...extra });
}

/** A URL with its password (and user) replaced, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    if (u.username !== "") u.username = "***";
    return u.toString();
  } catch {
    return "(unparseable Redis URL)";
  }
}

/**
 * Gives every key of these BullMQ jobs (the job's hash and whatever hangs off it: logs, lock, a
 * flow parent's dependencies and processed children) a TTL: BullMQ's own removeOnComplete
 * with an age only removes old jobs when newer ones finish, so a queue that falls idle would
 * keep them for ever.
 */
export async function expireJobKeys(redis: Redis, queue: { toKey(type: string): string }, ids: readonly string[], ttlSeconds: number): Promise<void> {
  for (const id of ids) {
    const base = queue.toKey(id);
    const keys = [base];
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", `${base}:*`, "COUNT", 100);
      cursor = next;
      keys.push(...found);
    } while (cursor !== "0");
    const multi = redis.multi();
    for (const key of keys) multi.expire(key, ttlSeconds);
    await multi.exec();
  }
}

/** How often a Redis error that keeps coming is logged again, ms. */
const REDIS_ERROR_EVERY_MS = 60_000;

/**
 * A log for one process's Redis errors (every connection's, and BullMQ workers'): a line when
 * the error changes, else at most one a minute with how many came since, so an unreachable
 * Redis or a wrong password does not print three lines every 0.7 s for ever.
 */
export function redisErrorLog(log: (line: string) => void, who: string, url: string): (e: Error) => void {
  let last = "";
  let lastAt = -Infinity;
  let repeats = 0;
  return (e) => {
    const now = Date.now();
    if (e.message === last && now - lastAt < REDIS_ERROR_EVERY_MS) {
      repeats++;
      return;
    }
    const more = e.message === last && repeats > 0 ? ` (${repeats} more times in the last minute; still retrying)` : "";
    log(`${who}: Redis ${redactRedisUrl(url)}: ${e.message}${more}`);
    last = e.message;
    lastAt = now;
    repeats = 0;
  };
}

/** How long a first connection to Redis may take before the command gives up, ms. */
export const REDIS_FIRST_CONNECT_MS = 5000;

/**
 * Logs a connection's errors without repeating itself: a line when the error changes, not one
 * per reconnection attempt, and the error is remembered for the first-connect message.
 */
export function reportRedisErrors(connection: Redis, url: string, log: ((line: string) => void) | undefined, who: string): { last(): string } {
  let last = "";
  // Before the first connection, redisAnswers says what is wrong, in one line.
  let connected = false;
  connection.once("ready", () => (connected = true));
  connection.on("error", (e: Error) => {
    if (connected && e.message !== last) log?.(`${who}: Redis ${redactRedisUrl(url)}: ${e.message}`);
    last = e.message;
  });
  return { last: () => last };
}

/**
 * Waits for Redis to answer a PING, at most `timeoutMs`; else rejects with a ConnectError
 * naming the URL (credentials masked) and the connection's last error. The caller closes the
 * connection.
 */
export async function redisAnswers(connection: Redis, url: string, timeoutMs = REDIS_FIRST_CONNECT_MS): Promise<void> {
  let last = "";
  let timer: NodeJS.Timeout | undefined;
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const giveUp = (why: string, cause: Error) => fail(new ConnectError(redactRedisUrl(url), `cannot reach Redis (${why})`, { cause }));
  // Nobody listening or no such host: said at once. Anything else may pass; the bound decides.
  const onError = (e: NodeJS.ErrnoException) => {
    last = e.message;
    if (e.code === "ECONNREFUSED" || e.code === "ENOTFOUND" || e.code === "EAI_AGAIN") giveUp(e.message, e);
  };
  connection.on("error", onError);
  timer = setTimeout(() => giveUp(`${last === "" ? "no answer" : last}; gave up after ${timeoutMs / 1000} s`, new Error(last === "" ? `no answer within ${timeoutMs / 1000} s` : last)), timeoutMs);
  try {
    await Promise.race([connection.ping(), failed]);
  } catch (e) {
    if (e instanceof ConnectError) throw e;
    throw new ConnectError(redactRedisUrl(url), `Redis refused the connection: ${(e as Error).message}`, { cause: e });
  } finally {
    clearTimeout(timer);
    connection.off("error", onError);
  }
}

/** Closes a connection: QUIT when it is connected, else at once (QUIT would wait for a server that is not there). */
export async function closeRedis(connection: Redis): Promise<void> {
  if (connection.status === "ready") await connection.quit().catch(() => connection.disconnect());
  else connection.disconnect();
}
