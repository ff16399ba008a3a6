import { Redis, type RedisOptions } from "ioredis";

/** The BullMQ queue that carries partition jobs (tests use their own names). */
export const DEFAULT_PARTITION_QUEUE = "refsim-partitions";

/**
 * A Redis connection for BullMQ from a URL (`redis://user:pass@host:6379/0`, `rediss://` for
 * TLS). Credentials stay in the URL's parsing, never in logs. BullMQ workers need
 * maxRetriesPerRequest null (they block on commands).
 */
export function redisConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false, ...extra });
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
