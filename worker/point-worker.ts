import { UnrecoverableError, Worker as QueueWorker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { SimulationError, SpecError } from "../shared/engine/errors.ts";
import type { RunResult } from "../shared/metrics/result.ts";
import { redisConnection, redisErrorLog } from "./queue.ts";
import { Cluster } from "../coordinator/cluster.ts";
import { codeVersion } from "../coordinator/code-version.ts";
import { SWEEP_TTL_SECONDS, sweepKeys } from "../coordinator/sweep/keys.ts";
import { PointPool, PointRunError } from "../coordinator/sweep/point-pool.ts";
import type { PointJob } from "../coordinator/sweep/point-job.ts";
import { resolvePoint } from "../coordinator/sweep/point-run.ts";
import { pointId } from "../coordinator/sweep/points.ts";

export interface PointWorkerOptions {
  natsUrl: string;
  redisUrl: string;
  /** The points queue. */
  queue: string;
  /** How long a distributed point waits for any worker's word before it gives up, ms. */
  timeoutMs?: number;
  log: (line: string) => void;
  /** Where Redis errors go (the worker process's rate-limited log); default: that log, once per line. */
  redisError?: (e: Error) => void;
}

/**
 * The BullMQ worker of a `refsim worker` process for sweep points, beside its partition worker.
 *
 * One point at a time, in a worker thread, so this process's event loop stays free for BullMQ's
 * locks and for the partition jobs it runs meanwhile. A point with `distributed` coordinates a
 * distributed run (Cluster.run) from inside its job. That cannot deadlock on a busy cluster:
 * every worker process takes partition jobs in a slot of their own (its partition worker), so a
 * point job waiting for partitions never holds the slot they need. What it does need is at least
 * as many live workers on the partition queue as partitions; it checks before it starts, and
 * with fewer the attempt fails and is retried with back-off.
 *
 * The result is written to the sweep's results hash in Redis before the job completes, and a
 * point whose result is already there returns it without running again: a retried job (its
 * worker died after writing) never runs the point twice.
 */
export async function startPointWorker(o: PointWorkerOptions): Promise<{ worker: QueueWorker<PointJob, RunResult>; close(): Promise<void> }> {
  const connection = redisConnection(o.redisUrl);
  const redisError = o.redisError ?? redisErrorLog(o.log, `worker ${process.pid}`, o.redisUrl);
  connection.on("error", redisError);
  const pool = new PointPool(1);
  const clusters = new Map<string, Promise<Cluster>>();
  const clusterFor = (partitionQueue: string) => {
    let c = clusters.get(partitionQueue);
    if (c === undefined) {
      c = Cluster.connect({ natsUrl: o.natsUrl, redisUrl: o.redisUrl, queue: partitionQueue, timeoutMs: o.timeoutMs, log: o.log });
      c.catch(() => clusters.delete(partitionQueue));
      clusters.set(partitionQueue, c);
    }
    return c;
  };
  const workerConnection = redisConnection(o.redisUrl);
  const worker = new QueueWorker<PointJob, RunResult>(
    o.queue,
    (job) => processPoint(job, { redis: connection, pool, clusterFor, log: o.log }),
    // The simulation runs in a thread, so this event loop renews locks on time: a short lock
    // lets another worker take over the point of a worker that died within about 20 s.
    { connection: workerConnection, concurrency: 1, lockDuration: 15_000, stalledInterval: 5_000, maxStalledCount: 3 },
  );
  worker.on("failed", (job, e) => o.log(`worker ${process.pid}: point ${job?.id ?? "?"} failed (attempt ${job?.attemptsMade ?? "?"}): ${e.message}`));
  worker.on("error", redisError);
  await worker.waitUntilReady();
  return {
    worker,
    close: async () => {
      await worker.close();
      await pool.close();
      for (const c of clusters.values()) await (await c.catch(() => null))?.close();
      for (const c of [workerConnection, connection]) await c.quit().catch(() => c.disconnect());
    },
  };
}

interface PointDeps {
  redis: Redis;
  pool: PointPool;
  clusterFor(partitionQueue: string): Promise<Cluster>;
  log(line: string): void;
}

/** Runs one point job; see startPointWorker. */
export async function processPoint(job: Job<PointJob, RunResult>, d: PointDeps): Promise<RunResult> {
  const data = job.data;
  const keys = sweepKeys(job.queueName, data.sweepId);
  const stored = await d.redis.hget(keys.results, data.pointId);
  if (stored !== null) {
    d.log(`worker ${process.pid}: point ${data.pointId} (${data.label}) was already done`);
    return JSON.parse(stored) as RunResult;
  }
  let spec;
  try {
    spec = resolvePoint(data.doc).spec;
  } catch (e) {
    if (e instanceof SpecError) throw new UnrecoverableError(`invalid spec: ${e.message}`);
    throw e;
  }
  const version = codeVersion();
  if (pointId(spec, data.codeVersion) !== data.pointId) throw new UnrecoverableError(`the point's spec does not match its id ${data.pointId}`);
  if (version !== data.codeVersion) {
    throw new UnrecoverableError(`this worker runs refsim ${version}, the point was planned for ${data.codeVersion}: its result would not be the point's`);
  }
  const distributed = data.distributed;
  const cluster = distributed === undefined ? null : await d.clusterFor(distributed.partitionQueue);
  if (cluster !== null && distributed !== undefined) {
    // A distributed run waits for all its partitions at once: with fewer workers than
    // partitions it would wait for good. Fail this attempt instead (retried with back-off).
    const listening = await cluster.queue.getWorkersCount();
    if (listening < distributed.partitions) {
      throw new Error(`${listening} worker(s) listen on partition queue ${distributed.partitionQueue}; this distributed point needs ${distributed.partitions} (start more refsim workers)`);
    }
  }
  const started = performance.now();
  await d.redis.multi().hincrby(keys.executions, data.pointId, 1).expire(keys.executions, SWEEP_TTL_SECONDS).exec();
  d.log(`worker ${process.pid}: point ${data.pointId} (${data.label})${distributed ? ` distributed over ${distributed.partitions} workers` : ""}, start ${job.attemptsStarted}`);
  let result: RunResult;
  try {
    result = cluster !== null && distributed !== undefined ? (await cluster.run(spec, 0, distributed.partitions)).result : await d.pool.run(data.doc);
  } catch (e) {
    // Deterministic failures would fail again: do not retry them.
    if (e instanceof SpecError) throw new UnrecoverableError(`invalid spec: ${e.message}`);
    if (e instanceof SimulationError || e instanceof PointRunError) throw new UnrecoverableError(e.message);
    throw e;
  }
  const json = JSON.stringify(result);
  await d.redis.multi().hset(keys.results, data.pointId, json).expire(keys.results, SWEEP_TTL_SECONDS).exec();
  d.log(`worker ${process.pid}: point ${data.pointId} done in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  return JSON.parse(json) as RunResult;
}
