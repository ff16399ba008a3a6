import { FlowProducer, Queue, QueueEvents, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { RunResult } from "../../shared/metrics/result.ts";
import { closeRedis, DEFAULT_PARTITION_QUEUE, expireJobKeys, redactRedisUrl, redisAnswers, redisConnection, reportRedisErrors } from "../../worker/queue.ts";
import { DEFAULT_POINT_QUEUE, SWEEP_TTL_SECONDS, sweepKeys, sweepParentQueue } from "./keys.ts";
import { SILENT_PROGRESS, type PointOutcome, type SweepProgress } from "./outcome.ts";
import { POINT_JOB_OPTIONS, type PointJob } from "./point-job.ts";
import { pointLabel, type SweepPlan, type SweepPoint } from "./points.ts";

export interface ClusterSweepOptions {
  redisUrl: string;
  /** The points queue (default refsim-points). */
  queue?: string;
  /** The partition queue distributed points use (default refsim-partitions). */
  partitionQueue?: string;
  /** Partitions of a distributed point; default: the workers listening on the partition queue now. */
  partitions?: number;
  progress?: SweepProgress;
  /** How often every outstanding point's state is read again, besides the queue's events, ms. */
  reconcileMs?: number;
}

/** What a sweep's Redis record says about it (for --resume without a spec file). */
export interface StoredSweep {
  document: Record<string, unknown>;
  codeVersion: string;
}

export async function loadStoredSweep(redisUrl: string, queue: string, id: string): Promise<StoredSweep | null> {
  const connection = redisConnection(redisUrl);
  connection.on("error", () => {});
  try {
    await redisAnswers(connection, redisUrl);
    const text = await connection.get(sweepKeys(queue, id).spec);
    return text === null ? null : (JSON.parse(text) as StoredSweep);
  } finally {
    await closeRedis(connection);
  }
}

/**
 * Runs a sweep on the cluster, or resumes it: the same call serves both, since a sweep's jobs
 * and results are named by its content.
 *
 * It listens to the points queue's events first, so nothing finishes unseen; then reads which
 * points are done (the sweep's results hash, or a completed job of the same point), retries
 * points whose job failed, and adds the rest as children of the sweep's parent job in one
 * FlowProducer flow (job ids are point ids: a point already queued is not added again). Then it
 * waits for every outstanding point: each completed or failed event of one of its points, and a
 * periodic read of every outstanding point's state (a missed event, a job removed meanwhile,
 * which it adds again), settles points. Returns every point's outcome.
 */
export async function runSweepOnCluster(plan: SweepPlan, o: ClusterSweepOptions): Promise<Map<string, PointOutcome>> {
  const progress = o.progress ?? SILENT_PROGRESS;
  const queueName = o.queue ?? DEFAULT_POINT_QUEUE;
  const partitionQueueName = o.partitionQueue ?? DEFAULT_PARTITION_QUEUE;
  const keys = sweepKeys(queueName, plan.id);
  const connection = redisConnection(o.redisUrl);
  // Once per kind of error, not once per reconnection attempt.
  reportRedisErrors(connection, o.redisUrl, (line) => progress.note(line), "sweep");
  const queue = new Queue<PointJob, RunResult>(queueName, { connection });
  queue.on("error", () => {}); // the connection's errors are reported above
  let latestEvent: string;
  try {
    await redisAnswers(connection, o.redisUrl);
    // The queue's events are read from its latest one now, however late the reader's first
    // read is: whatever happens after this line is seen.
    const [latest] = await connection.xrevrange(queue.keys.events, "+", "-", "COUNT", 1);
    latestEvent = latest?.[0] ?? "0-0";
  } catch (e) {
    connection.disconnect();
    await queue.close().catch(() => {});
    throw e;
  }
  const flow = new FlowProducer({ connection });
  flow.on("error", () => {});
  const eventsConnection = redisConnection(o.redisUrl);
  eventsConnection.on("error", () => {}); // reported once through `connection`
  const events = new QueueEvents(queueName, { connection: eventsConnection, lastEventId: latestEvent });
  events.on("error", () => {});
  const outcomes = new Map<string, PointOutcome>();
  const outstanding = new Map<string, SweepPoint>();
  const dirty = new Set<string>();
  let wake: (() => void) | null = null;
  const poke = (id: string) => {
    if (!outstanding.has(id)) return;
    dirty.add(id);
    const w = wake;
    wake = null;
    w?.();
  };
  events.on("completed", ({ jobId }) => poke(jobId));
  events.on("failed", ({ jobId }) => poke(jobId));
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    await connection.set(keys.spec, JSON.stringify({ document: plan.document, codeVersion: plan.codeVersion } satisfies StoredSweep), "EX", SWEEP_TTL_SECONDS);

    const partitions = o.partitions ?? (plan.points.some((p) => p.distributed) ? Math.max(1, await partitionWorkers(connection, partitionQueueName)) : 1);
    const jobData = (p: SweepPoint): PointJob => ({
      sweepId: plan.id,
      pointId: p.id,
      codeVersion: plan.codeVersion,
      label: pointLabel(p),
      doc: p.doc,
      ...(p.distributed ? { distributed: { partitions, partitionQueue: partitionQueueName } } : {}),
    });
    const parent = {
      name: "sweep",
      queueName: sweepParentQueue(queueName),
      data: { sweepId: plan.id, name: plan.name, points: plan.points.length, codeVersion: plan.codeVersion },
      opts: { jobId: plan.id },
    };
    const addPoints = async (points: SweepPoint[]) => {
      if (points.length === 0) return;
      await flow.add({
        ...parent,
        children: points.map((p) => ({ name: "point", queueName, data: jobData(p), opts: { jobId: p.id, ...POINT_JOB_OPTIONS } })),
      });
    };

    // What is done already, what is queued or running, what must be added.
    const stored = await connection.hgetall(keys.results);
    const toAdd: SweepPoint[] = [];
    let retried = 0;
    for (const p of plan.points) {
      const json = stored[p.id];
      if (json !== undefined) {
        outcomes.set(p.id, { status: "done", result: JSON.parse(json) as RunResult, earlier: true });
        continue;
      }
      const job = await queue.getJob(p.id);
      const state = job === undefined ? "missing" : await job.getState();
      if (job !== undefined && state === "completed" && job.returnvalue !== null) {
        // Run already, by this sweep or another with the same point.
        await connection.multi().hset(keys.results, p.id, JSON.stringify(job.returnvalue)).expire(keys.results, SWEEP_TTL_SECONDS).exec();
        outcomes.set(p.id, { status: "done", result: job.returnvalue, earlier: true });
        continue;
      }
      outstanding.set(p.id, p);
      if (job === undefined || state === "unknown") toAdd.push(p);
      else if (state === "failed") {
        // With this submission's settings (e.g. --workers for a distributed point).
        await job.updateData(jobData(p));
        await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
        retried++;
      }
    }
    await addPoints(toAdd);
    const earlier = outcomes.size;
    progress.note(
      `sweep ${plan.id}: ${plan.points.length} points on queue ${queueName}: ${earlier} done earlier, ${toAdd.length} added${retried > 0 ? `, ${retried} failed earlier and retried` : ""}, ${outstanding.size - toAdd.length - retried} already queued`,
    );
    if (outstanding.size > 0 && (await queue.getWorkersCount()) === 0) {
      progress.note(`sweep ${plan.id}: no refsim worker listens on queue ${queueName} yet; its points wait until one starts (refsim worker --points-queue ${queueName})`);
    }
    progress.start(plan.points.length, earlier);

    const settle = async (id: string) => {
      const point = outstanding.get(id);
      if (point === undefined) return;
      let outcome: PointOutcome | undefined;
      const json = await connection.hget(keys.results, id);
      if (json !== null) outcome = { status: "done", result: JSON.parse(json) as RunResult, earlier: false };
      else {
        const job: Job<PointJob, RunResult> | undefined = await queue.getJob(id);
        const state = job === undefined ? "missing" : await job.getState();
        if (job !== undefined && state === "completed" && job.returnvalue !== null) {
          await connection.multi().hset(keys.results, id, JSON.stringify(job.returnvalue)).expire(keys.results, SWEEP_TTL_SECONDS).exec();
          outcome = { status: "done", result: job.returnvalue, earlier: false };
        } else if (job !== undefined && state === "failed") {
          outcome = { status: "failed", error: job.failedReason ?? "failed", attempts: job.attemptsMade };
        } else if (job === undefined || state === "unknown") {
          // Its job was removed (by hand, or by a queue clean-up) before its result reached Redis.
          await addPoints([point]);
        }
      }
      if (outcome === undefined || !outstanding.has(id)) return;
      outstanding.delete(id);
      outcomes.set(id, outcome);
      progress.point(point, outcome);
    };

    const reconcileMs = o.reconcileMs ?? 5000;
    let lastReconcile = Date.now();
    while (outstanding.size > 0) {
      if (dirty.size === 0) {
        const left = lastReconcile + reconcileMs - Date.now();
        if (left > 0) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, left);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
        if (dirty.size === 0) {
          for (const id of outstanding.keys()) dirty.add(id);
          lastReconcile = Date.now();
        }
      }
      const batch = [...dirty];
      dirty.clear();
      for (const id of batch) await settle(id);
    }
    // Every key of the sweep's jobs expires with the sweep's own: each point's, and the parent's.
    await expireJobKeys(connection, queue, plan.points.map((p) => p.id), SWEEP_TTL_SECONDS);
    await expireJobKeys(connection, { toKey: (id) => `${queue.opts.prefix ?? "bull"}:${sweepParentQueue(queueName)}:${id}` }, [plan.id], SWEEP_TTL_SECONDS);
    return outcomes;
  } finally {
    progress.stop();
    await events.close().catch(() => {});
    await flow.close().catch(() => {});
    await queue.close().catch(() => {});
    await connection.quit().catch(() => connection.disconnect());
    await eventsConnection.quit().catch(() => eventsConnection.disconnect());
  }
}

async function partitionWorkers(connection: Redis, name: string): Promise<number> {
  const queue = new Queue(name, { connection });
  try {
    return await queue.getWorkersCount();
  } finally {
    await queue.close();
  }
}
