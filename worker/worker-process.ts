import { AuthorizationError } from "@nats-io/transport-node";
import { DelayedError, Worker as QueueWorker, UnrecoverableError, type Job } from "bullmq";
import { RedisCheckpointStore } from "./checkpoint-store.ts";
import { connectNats } from "./transport/nats.ts";
import type { Transport } from "./transport/transport.ts";
import { CoordinatorAbortError, CountMismatchError, MemoryRefusalError, runPartition, type PartitionJob, type RunnerStats } from "./partition-runner.ts";
import { DEFAULT_PARTITION_QUEUE, redactRedisUrl, redisAnswers, redisConnection, redisErrorLog } from "./queue.ts";
import { connectPatiently } from "./patient-connect.ts";
import { redactUrl } from "./transport/server-url.ts";
import { SpecError } from "../shared/engine/errors.ts";
import { DEFAULT_POINT_QUEUE } from "../coordinator/sweep/keys.ts";
import { startPointWorker } from "./point-worker.ts";

/** A job waits this long for a worker with no partition before a busy worker's second slot takes it, ms. */
const SECOND_SLOT_AFTER_MS = 1500;

export interface WorkerProcessOptions {
  natsUrl: string;
  redisUrl: string;
  queue?: string;
  /** The BullMQ queue of sweep points (default refsim-points). */
  pointsQueue?: string;
  /** How long a partition waits for the coordinator or a peer before it gives up, ms. */
  timeoutMs?: number;
  /**
   * How long a partition job of a worker that went silent (killed, hung) stays with it before
   * BullMQ hands it to another worker, ms (the job lock). Default 15,000.
   */
  stallMs?: number;
  /** Partition jobs one worker runs at once (default 2: one more when a worker is lost). */
  slots?: number;
  /**
   * Exit (with an error) once Redis has been unreachable this long, ms: at start-up, or later
   * (the queue connection not ready). Absent: keep retrying, with a line a minute.
   */
  redisExitAfterMs?: number;
  /** Refuse a partition projected past this many bytes (default $REFSIM_MEMORY_LIMIT, else the V8 heap limit). */
  memoryLimitBytes?: number;
  log?: (line: string) => void;
}

/**
 * A long-running worker: takes partition jobs from the BullMQ queue, runs each over NATS with
 * its checkpoints in Redis, and answers SIGTERM by finishing its current jobs, then closing
 * BullMQ and draining NATS. It has two partition slots by default: when a worker dies its job
 * stalls, and BullMQ gives it to a worker with a free slot, which runs it beside its own. A
 * second slot only takes a job that has waited a moment for an idle worker, so partitions
 * spread over workers. Beside them it takes sweep points, one at a time, from the points queue
 * (point-worker.ts): two BullMQ workers, so a point that waits for partition
 * jobs never holds this process's partition slot. A job whose spec is invalid fails for good
 * (UnrecoverableError); any other failure may be retried.
 */
export async function runWorkerProcess(o: WorkerProcessOptions): Promise<{ stop(): Promise<void>; stopped: Promise<void>; failure(): Error | null }> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // The process's own NATS connection carries no run's messages (each partition job opens its
  // own): it waits for the server at start-up, and stops the worker when NATS is gone for good.
  const who = `worker ${process.pid}`;
  const transport: Transport = await connectPatiently("NATS", redactUrl(o.natsUrl), () => connectNats(o.natsUrl, { name: `refsim-worker-${process.pid}`, log }), {
    log,
    who,
    fatal: (e) => (e as Error).cause instanceof AuthorizationError,
  });
  const connection = redisConnection(o.redisUrl);
  const redisError = redisErrorLog(log, who, o.redisUrl);
  connection.on("error", redisError);
  try {
    await connectPatiently("Redis", redactRedisUrl(o.redisUrl), () => redisAnswers(connection, o.redisUrl), { log, who, giveUpAfterMs: o.redisExitAfterMs });
  } catch (e) {
    connection.disconnect();
    await transport.drain().catch(() => transport.close());
    throw e;
  }
  const storeConnection = redisConnection(o.redisUrl);
  storeConnection.on("error", () => {});
  const store = new RedisCheckpointStore(storeConnection);
  const queue = o.queue ?? DEFAULT_PARTITION_QUEUE;
  const stallMs = o.stallMs ?? 15_000;
  let running = 0;
  const worker = new QueueWorker<PartitionJob, RunnerStats>(
    queue,
    async (job: Job<PartitionJob>, token?: string) => {
      const data = job.data;
      if (running > 0 && Date.now() - job.timestamp < SECOND_SLOT_AFTER_MS) {
        await job.moveToDelayed(Date.now() + 200, token);
        throw new DelayedError();
      }
      running++;
      log(`worker ${process.pid}: run ${data.run} partition ${data.partition}/${data.partitions} (job ${job.id})`);
      try {
        // Its own connection, which does not hear itself: the server sends each step message
        // only to the other partitions (half the traffic of the densest runs).
        const own = await connectNats(o.natsUrl, { name: `refsim-worker-${process.pid}-p${data.partition}`, firstConnectWaitMs: 30_000, log, noEcho: true });
        let stats: RunnerStats;
        try {
          stats = await runPartition(own, data, { timeoutMs: o.timeoutMs, log, store, memoryLimitBytes: o.memoryLimitBytes });
        } finally {
          await own.drain().catch(() => own.close());
        }
        log(`worker ${process.pid}: run ${data.run} partition ${data.partition} done: ${stats.windows} windows, ${stats.rejected} messages rejected`);
        return stats;
      } catch (e) {
        // Reasons that a retry cannot change: the spec, a broken message count, an aborted run, a
        // partition too big for this process.
        if (e instanceof SpecError || e instanceof CountMismatchError || e instanceof CoordinatorAbortError || e instanceof MemoryRefusalError) throw new UnrecoverableError((e as Error).message);
        throw e;
      } finally {
        running--;
      }
    },
    { connection, concurrency: o.slots ?? 2, lockDuration: stallMs, stalledInterval: Math.max(1000, Math.floor(stallMs / 2)), maxStalledCount: 5 },
  );
  worker.on("failed", (job, e) => log(`worker ${process.pid}: job ${job?.id ?? "?"} failed: ${e.message}`));
  worker.on("error", redisError);
  const points = await startPointWorker({ natsUrl: o.natsUrl, redisUrl: o.redisUrl, queue: o.pointsQueue ?? DEFAULT_POINT_QUEUE, timeoutMs: o.timeoutMs, log, redisError });
  let stopping: Promise<void> | null = null;
  let failure: Error | null = null;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const stop = () => {
    stopping ??= (async () => {
      // Without Redis, BullMQ cannot finish a job or close cleanly: the worker leaves at once.
      const redisDown = connection.status !== "ready";
      log(`worker ${process.pid}: stopping (${redisDown ? "Redis is unreachable: not waiting for the current job" : "finishing the current job"})`);
      const closing = Promise.all([worker.close(redisDown), points.close()]);
      if (redisDown) await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      else await closing;
      await transport.drain().catch(() => transport.close());
      if (redisDown) {
        connection.disconnect();
        storeConnection.disconnect();
      } else {
        await connection.quit().catch(() => connection.disconnect());
        await storeConnection.quit().catch(() => storeConnection.disconnect());
      }
      resolveStopped();
    })();
    return stopping;
  };
  // --redis-exit-after: Redis unreachable (the queue connection not ready) for that long ends the worker.
  if (o.redisExitAfterMs !== undefined) {
    const limit = o.redisExitAfterMs;
    let downSince: number | null = null;
    const watch = setInterval(() => {
      if (connection.status === "ready") {
        downSince = null;
        return;
      }
      downSince ??= Date.now();
      if (Date.now() - downSince < limit || stopping !== null) return;
      clearInterval(watch);
      failure = new Error(`worker ${process.pid}: Redis ${redactRedisUrl(o.redisUrl)} unreachable for ${Math.round((Date.now() - downSince) / 1000)} s (--redis-exit-after ${limit / 1000}): exiting`);
      log(failure.message);
      void stop();
    }, Math.min(1000, limit));
    watch.unref();
    void stopped.then(() => clearInterval(watch));
  }
  transport.closed.then((e) => {
    if (e !== undefined && stopping === null) {
      log(`worker ${process.pid}: NATS connection lost: ${e.message}`);
      void stop();
    }
  });
  await worker.waitUntilReady();
  log(`worker ${process.pid}: waiting for partition jobs on queue ${queue}`);
  log(`worker ${process.pid}: waiting for sweep points on queue ${o.pointsQueue ?? DEFAULT_POINT_QUEUE}`);
  return { stop, stopped, failure: () => failure };
}
