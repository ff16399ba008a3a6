import { Worker as QueueWorker, UnrecoverableError, type Job } from "bullmq";
import { connectNats } from "./transport/nats.ts";
import type { Transport } from "./transport/transport.ts";
import { CountMismatchError, runPartition, type PartitionJob, type RunnerStats } from "./partition-runner.ts";
import { DEFAULT_PARTITION_QUEUE, redactRedisUrl, redisConnection } from "./queue.ts";
import { SpecError } from "../shared/engine/errors.ts";
import { DEFAULT_POINT_QUEUE } from "../coordinator/sweep/keys.ts";
import { startPointWorker } from "../coordinator/sweep/point-job.ts";

export interface WorkerProcessOptions {
  natsUrl: string;
  redisUrl: string;
  queue?: string;
  /** The BullMQ queue of sweep points (default refsim-points). */
  pointsQueue?: string;
  /** How long a partition waits for the coordinator or a peer before it gives up, ms. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * A long-running worker: takes partition jobs from the BullMQ queue one at a time, runs each
 * over NATS, and answers SIGTERM by finishing its current job, then closing BullMQ and
 * draining NATS. Beside them it takes sweep points, one at a time, from the points queue
 * (coordinator/sweep/point-job.ts): two BullMQ workers, so a point that waits for partition
 * jobs never holds this process's partition slot. A job whose spec is invalid fails for good
 * (UnrecoverableError); any other failure may be retried.
 */
export async function runWorkerProcess(o: WorkerProcessOptions): Promise<{ stop(): Promise<void>; stopped: Promise<void> }> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const transport: Transport = await connectNats(o.natsUrl, { name: `refsim-worker-${process.pid}`, firstConnectWaitMs: 30_000, log });
  const connection = redisConnection(o.redisUrl);
  connection.on("error", (e) => log(`worker ${process.pid}: Redis ${redactRedisUrl(o.redisUrl)}: ${e.message}`));
  const queue = o.queue ?? DEFAULT_PARTITION_QUEUE;
  const worker = new QueueWorker<PartitionJob, RunnerStats>(
    queue,
    async (job: Job<PartitionJob>) => {
      const data = job.data;
      log(`worker ${process.pid}: run ${data.run} partition ${data.partition}/${data.partitions} (job ${job.id})`);
      try {
        const stats = await runPartition(transport, data, { timeoutMs: o.timeoutMs, log });
        log(`worker ${process.pid}: run ${data.run} partition ${data.partition} done: ${stats.windows} windows, ${stats.rejected} messages rejected`);
        return stats;
      } catch (e) {
        if (e instanceof SpecError || e instanceof CountMismatchError) throw new UnrecoverableError((e as Error).message);
        throw e;
      }
    },
    { connection, concurrency: 1, lockDuration: 60_000, stalledInterval: 15_000, maxStalledCount: 3 },
  );
  worker.on("failed", (job, e) => log(`worker ${process.pid}: job ${job?.id ?? "?"} failed: ${e.message}`));
  worker.on("error", (e) => log(`worker ${process.pid}: ${e.message}`));
  const points = await startPointWorker({ natsUrl: o.natsUrl, redisUrl: o.redisUrl, queue: o.pointsQueue ?? DEFAULT_POINT_QUEUE, timeoutMs: o.timeoutMs, log });
  let stopping: Promise<void> | null = null;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const stop = () => {
    stopping ??= (async () => {
      log(`worker ${process.pid}: stopping (finishing the current job)`);
      await Promise.all([worker.close(), points.close()]);
      await transport.drain().catch(() => transport.close());
      await connection.quit().catch(() => connection.disconnect());
      resolveStopped();
    })();
    return stopping;
  };
  transport.closed.then((e) => {
    if (e !== undefined && stopping === null) {
      log(`worker ${process.pid}: NATS connection lost: ${e.message}`);
      void stop();
    }
  });
  await worker.waitUntilReady();
  log(`worker ${process.pid}: waiting for partition jobs on queue ${queue}`);
  log(`worker ${process.pid}: waiting for sweep points on queue ${o.pointsQueue ?? DEFAULT_POINT_QUEUE}`);
  return { stop, stopped };
}
