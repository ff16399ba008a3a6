import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { RunResult } from "../shared/metrics/result.ts";
import { planRuns, type ResolvedSpec, type RunConfig } from "../shared/spec/resolve.ts";
import { RedisCheckpointStore, RUN_TTL_SECONDS } from "../worker/checkpoint-store.ts";
import type { PartitionJob } from "../worker/partition-runner.ts";
import { closeRedis, DEFAULT_PARTITION_QUEUE, expireJobKeys, redactRedisUrl, redisAnswers, redisConnection, reportRedisErrors } from "../worker/queue.ts";
import { connectNats } from "../worker/transport/nats.ts";
import type { Transport } from "../worker/transport/transport.ts";
import { coordinateRun, mergeStoredReports, type DistributedStats } from "./distributed.ts";
import { fillScalingEfficiency, type ExperimentResult } from "./experiment.ts";
import { newRunId, newRunSecret, runPrefix } from "./run-id.ts";
import { REDIS_CLEANUP_MS, within } from "./bounded.ts";
import { cpusText } from "./figures.ts";

/** Wall-clock seconds between checkpoints of a cluster run, unless the user says otherwise. */
export const DEFAULT_CHECKPOINT_SECONDS = 30;

/** How long a cluster run waits for workers to take its partitions before it gives up, ms. */
export const DEFAULT_WAIT_WORKERS_MS = 60_000;

export interface ClusterOptions {
  natsUrl: string;
  redisUrl: string;
  queue?: string;
  timeoutMs?: number;
  /** How long a run waits for workers to take its partitions, ms (default 60,000). */
  waitWorkersMs?: number;
  /** Windows between checkpoints (0: none); when absent, checkpointSeconds decides. */
  checkpointEvery?: number;
  /** Wall-clock seconds between checkpoints (0: none), agreed by the partitions at a barrier. */
  checkpointSeconds?: number;
  log?: (line: string) => void;
}

/** What a command watching a cluster experiment hears of each run: its start, its windows, how it went. */
export interface ClusterWatch {
  begin?(index: number): void;
  windows?(index: number, p: { window: number; simulatedPs: number }): void;
  stats?(index: number, config: RunConfig, stats: DistributedStats, result: RunResult): void;
}

/** Told as each configuration of an experiment finishes: counts, the configuration, its index and result. */
export type RunDone = (done: number, total: number, run: RunConfig, index: number, result: RunResult) => void;

/** What `--resume` cannot pick up. */
export class ResumeError extends Error {
  override readonly name = "ResumeError";
}

/** A distributed run's record in Redis: enough for another coordinator to take it over. */
interface RunRecord {
  job: Omit<PartitionJob, "partition">;
  /** The BullMQ id of each partition's newest job. */
  jobIds: string[];
}

/** An experiment's record: its spec, and the distributed run of each configuration. */
interface ExperimentRecord {
  spec: ResolvedSpec;
  workers: number;
  out: string;
}

const experimentKey = (id: string) => `refsim:experiment:${id}`;
/** Job states in which a partition job will still run (or is running). */
const LIVE_STATES = new Set(["active", "waiting", "delayed", "prioritized", "waiting-children"]);
/** Job states in which no worker holds a partition job yet. */
const QUEUED_STATES = new Set(["waiting", "delayed", "prioritized"]);

/** A connection to the cluster: NATS for the run's messages, BullMQ for its partition jobs, Redis for checkpoints. */
export class Cluster {
  readonly store: RedisCheckpointStore;
  /** What the command running an experiment hears of its runs (progress, how each went). */
  watch: ClusterWatch = {};

  private constructor(
    readonly transport: Transport,
    readonly queue: Queue<PartitionJob>,
    private readonly redis: Redis,
    private readonly options: ClusterOptions,
  ) {
    this.store = new RedisCheckpointStore(redis);
  }

  static async connect(o: ClusterOptions): Promise<Cluster> {
    const connection = redisConnection(o.redisUrl);
    reportRedisErrors(connection, o.redisUrl, o.log, "coordinator");
    let transport: Transport;
    try {
      // Both first connections are bounded: a server that is not there is a one-line error, not a wait.
      await redisAnswers(connection, o.redisUrl);
      transport = await connectNats(o.natsUrl, { name: `refsim-coordinator-${process.pid}`, log: o.log });
    } catch (e) {
      connection.disconnect();
      throw e;
    }
    const queue = new Queue<PartitionJob>(o.queue ?? DEFAULT_PARTITION_QUEUE, { connection });
    queue.on("error", () => {}); // the connection's errors are reported above
    await queue.waitUntilReady();
    return new Cluster(transport, queue, connection, o);
  }

  /**
   * Runs a distributed run (coordinateRun) and then leaves nothing of it behind: its partition
   * jobs' keys expire RUN_TTL_SECONDS after, as the run's own keys do; if it is aborted, its
   * jobs that no worker took yet are removed before the abort goes out.
   */
  private async coordinate(
    job: Omit<PartitionJob, "partition">,
    jobIds: readonly string[],
    resume: { awaitHellos: number[] } | undefined,
    enqueue: () => Promise<void>,
    persist: ((result: RunResult) => Promise<void>) | undefined,
  ) {
    const index = job.runIndex;
    const onProgress = this.watch.windows === undefined ? undefined : (p: { window: number; simulatedPs: number }) => this.watch.windows?.(index, p);
    try {
      const beforeAbort = () => this.bounded(this.removeQueued(jobIds), "remove the aborted run's queued partition jobs");
      return await coordinateRun(this.transport, job, { timeoutMs: this.timeoutMs, waitWorkersMs: this.options.waitWorkersMs ?? DEFAULT_WAIT_WORKERS_MS, log: this.options.log, store: this.store, resume, beforeAbort, onProgress, persist }, enqueue);
    } finally {
      await this.bounded(expireJobKeys(this.redis, this.queue, jobIds, RUN_TTL_SECONDS), "give the run's partition jobs their expiry");
    }
  }

  /** Clean-up in Redis that must not hold the command when Redis is gone: at most REDIS_CLEANUP_MS, then one line saying what was left. */
  private async bounded(work: Promise<unknown>, what: string): Promise<void> {
    const outcome = await within(work, REDIS_CLEANUP_MS);
    if (outcome !== "done") this.options.log?.(`coordinator: could not ${what} (Redis ${redactRedisUrl(this.options.redisUrl)} ${outcome === "timeout" ? `did not answer within ${REDIS_CLEANUP_MS / 1000} s` : "refused"})`);
  }

  /** Removes the jobs among `ids` that wait for a worker. */
  private async removeQueued(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const existing = await this.queue.getJob(id);
      if (existing === undefined || !QUEUED_STATES.has(await existing.getState())) continue;
      // A worker may take it meanwhile (then it finds the run finished, and leaves).
      const removed = await existing.remove().then(
        () => true,
        () => false,
      );
      if (removed) this.options.log?.(`coordinator: removed the queued partition job ${id} of the aborted run`);
    }
  }


  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 120_000;
  }

  private async enqueue(job: Omit<PartitionJob, "partition">, partition: number, jobId: string): Promise<void> {
    const kept = { age: RUN_TTL_SECONDS, count: 1000 };
    await this.queue.add("partition", { ...job, partition }, { jobId, attempts: 3, backoff: { type: "fixed", delay: 1000 }, removeOnComplete: kept, removeOnFail: kept });
  }

  /**
   * Runs one configuration of a spec over `workers` worker processes: one partition job each
   * (job ids derive from the run id and the partition), coordinated over NATS, with
   * checkpoints in Redis. The run's record lets `resume(run)` take it over. `persist` keeps the
   * result before the run's reports leave Redis (CoordinateOptions.persist).
   */
  async run(spec: ResolvedSpec, runIndex: number, workers: number, run = newRunId(), persist?: (result: RunResult) => Promise<void>): Promise<{ result: RunResult; stats: DistributedStats }> {
    const job: Omit<PartitionJob, "partition"> = {
      run,
      prefix: runPrefix(run),
      secret: newRunSecret(),
      spec,
      runIndex,
      partitions: workers,
      checkpointEvery: this.options.checkpointEvery,
      checkpointSeconds: this.options.checkpointSeconds ?? DEFAULT_CHECKPOINT_SECONDS,
    };
    const record: RunRecord = { job, jobIds: Array.from({ length: workers }, (_, p) => `${run}-p${p}`) };
    await this.store.saveRecord(run, JSON.stringify(record));
    return this.coordinate(
      job,
      record.jobIds,
      undefined,
      async () => {
        for (let p = 0; p < workers; p++) await this.enqueue(job, p, record.jobIds[p]);
      },
      persist,
    );
  }

  /**
   * Takes over a distributed run whose coordinator is gone: merges its reports if every
   * partition sent one; else queues again the partition jobs no worker holds any more, and
   * starts a new epoch from the newest complete checkpoint.
   */
  async resume(run: string, persist?: (result: RunResult) => Promise<void>): Promise<{ result: RunResult; stats: DistributedStats | null }> {
    const text = await this.store.record(run);
    if (text === null) throw new ResumeError(`Redis at ${redactRedisUrl(this.options.redisUrl)} holds no distributed run ${run} (it finished, expired, or never started)`);
    const record = JSON.parse(text) as RunRecord;
    const job = record.job;
    if ((await this.store.finished(run)) && (await this.store.reports(run)).size < job.partitions) {
      throw new ResumeError(`run ${run} is over (it finished, or its coordinator aborted it): there is nothing to resume`);
    }
    const reports = await this.store.reports(run);
    if (reports.size === job.partitions) {
      this.options.log?.(`coordinator: run ${run}: every partition's report is in Redis`);
      const result = mergeStoredReports(job, reports);
      await persist?.(result);
      await this.store.finish(run);
      return { result, stats: null };
    }
    const requeued: number[] = [];
    for (let p = 0; p < job.partitions; p++) {
      const existing = await this.queue.getJob(record.jobIds[p]);
      const state = existing === undefined ? "gone" : await existing.getState();
      if (LIVE_STATES.has(state)) continue;
      requeued.push(p);
      record.jobIds[p] = `${run}-p${p}-${Date.now().toString(36)}`;
      this.options.log?.(`coordinator: run ${run}: partition ${p}'s job is ${state}; queued again as ${record.jobIds[p]}`);
    }
    await this.store.saveRecord(run, JSON.stringify(record));
    // Listen before the queued jobs can say hello.
    return this.coordinate(
      job,
      record.jobIds,
      { awaitHellos: requeued },
      async () => {
        for (const p of requeued) await this.enqueue(job, p, record.jobIds[p]);
      },
      persist,
    );
  }

  /**
   * Runs every configuration of an experiment, one distributed run after another, keeping in
   * Redis which run each configuration is and each finished result: `resumeExperiment(id)`
   * picks up where a lost coordinator stopped.
   */
  async runExperiment(
    id: string,
    spec: ResolvedSpec,
    workers: number,
    out: string,
    onRun?: RunDone,
  ): Promise<ExperimentResult> {
    const record: ExperimentRecord = { spec, workers, out };
    await this.redis.set(experimentKey(id), JSON.stringify(record), "EX", RUN_TTL_SECONDS);
    return this.continueExperiment(id, record, onRun);
  }

  /** The record of experiment `id` (its spec, workers and output folder). */
  async experiment(id: string): Promise<ExperimentRecord> {
    const text = await this.redis.get(experimentKey(id));
    if (text === null) throw new ResumeError(`Redis at ${redactRedisUrl(this.options.redisUrl)} holds no cluster run ${id} (it expired, or never started)`);
    return JSON.parse(text) as ExperimentRecord;
  }

  /**
   * The runs of experiment `id` that Redis holds, by index (a run is stored there once it has
   * finished, before the coordinator moves on), or an empty map if Redis does not answer within
   * REDIS_CLEANUP_MS: an interrupt keeps what finished, even a run stored just before the signal.
   */
  async storedRuns(id: string): Promise<Map<number, RunResult>> {
    const out = new Map<number, RunResult>();
    let stored: Record<string, string> = {};
    const read = this.redis.hgetall(`${experimentKey(id)}:results`).then((all) => (stored = all));
    if ((await within(read, REDIS_CLEANUP_MS)) !== "done") return out;
    for (const [index, text] of Object.entries(stored)) out.set(Number(index), JSON.parse(text) as RunResult);
    return out;
  }

  async resumeExperiment(id: string, onRun?: RunDone): Promise<ExperimentResult> {
    return this.continueExperiment(id, await this.experiment(id), onRun);
  }

  private async continueExperiment(id: string, record: ExperimentRecord, onRun?: RunDone): Promise<ExperimentResult> {
    const key = experimentKey(id);
    const plan = planRuns(record.spec);
    const runs: RunResult[] = [];
    for (let i = 0; i < plan.length; i++) {
      const done = await this.redis.hget(`${key}:results`, String(i));
      let result: RunResult;
      if (done !== null) result = JSON.parse(done) as RunResult;
      else {
        // A run with fewer CPUs than workers uses one worker per CPU; the results are the same either way.
        const partitions = Math.min(record.workers, plan[i].cpuCount);
        // Stored before the run's reports leave Redis (CoordinateOptions.persist).
        const save = async (r: RunResult) => {
          await this.redis.multi().hset(`${key}:results`, String(i), JSON.stringify(r)).expire(`${key}:results`, RUN_TTL_SECONDS).exec();
        };
        const started = await this.redis.hget(`${key}:runs`, String(i));
        if (started !== null && (await this.store.record(started)) !== null) {
          this.options.log?.(`coordinator: resuming run ${started} (${plan[i].scheme} @ ${cpusText(plan[i].cpuCount)})`);
          this.watch.begin?.(i);
          const out = await this.resume(started, save);
          result = out.result;
          if (out.stats !== null) this.watch.stats?.(i, plan[i], out.stats, result);
        } else {
          const run = `${id}-${i}`;
          await this.redis.multi().hset(`${key}:runs`, String(i), run).expire(`${key}:runs`, RUN_TTL_SECONDS).exec();
          this.watch.begin?.(i);
          const out = await this.run(record.spec, i, partitions, run, save);
          result = out.result;
          this.watch.stats?.(i, plan[i], out.stats, result);
        }
      }
      runs.push(result);
      onRun?.(i + 1, plan.length, plan[i], i, result);
    }
    fillScalingEfficiency(runs);
    return { spec: record.spec, runs };
  }

  async close(): Promise<void> {
    // With Redis gone, QUIT and BullMQ's close would wait for a reconnection for ever.
    const up = this.redis.status === "ready";
    await within(this.queue.close(), up ? REDIS_CLEANUP_MS * 6 : 0);
    if (up) await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
    await this.transport.drain().catch(() => this.transport.close());
  }
}
