import { Redis, type RedisOptions } from "ioredis";
import { readTlsFiles, tlsFilesFromEnv } from "./transport/tls-env.ts";

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
