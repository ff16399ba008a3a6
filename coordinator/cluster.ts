import { Queue } from "bullmq";
import type { RunResult } from "../shared/metrics/result.ts";
import type { ResolvedSpec } from "../shared/spec/resolve.ts";
import type { PartitionJob } from "../worker/partition-runner.ts";
import { DEFAULT_PARTITION_QUEUE, redactRedisUrl, redisConnection } from "../worker/queue.ts";
import { connectNats } from "../worker/transport/nats.ts";
import type { Transport } from "../worker/transport/transport.ts";
import { coordinateRun, type DistributedStats } from "./distributed.ts";
import { newRunId, runPrefix } from "./run-id.ts";

export interface ClusterOptions {
  natsUrl: string;
  redisUrl: string;
  queue?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** A connection to the cluster: NATS for the run's messages, BullMQ for its partition jobs. */
export class Cluster {
  private constructor(
    readonly transport: Transport,
    readonly queue: Queue<PartitionJob>,
    private readonly redis: ReturnType<typeof redisConnection>,
    private readonly options: ClusterOptions,
  ) {}

  static async connect(o: ClusterOptions): Promise<Cluster> {
    const transport = await connectNats(o.natsUrl, { name: `refsim-coordinator-${process.pid}`, log: o.log });
    const connection = redisConnection(o.redisUrl);
    connection.on("error", (e) => o.log?.(`coordinator: Redis ${redactRedisUrl(o.redisUrl)}: ${e.message}`));
    const queue = new Queue<PartitionJob>(o.queue ?? DEFAULT_PARTITION_QUEUE, { connection });
    await queue.waitUntilReady();
    return new Cluster(transport, queue, connection, o);
  }

  /**
   * Runs one configuration of a spec over `workers` worker processes: one partition job each
   * (job ids derive from the run id and the partition), coordinated over NATS.
   */
  async run(spec: ResolvedSpec, runIndex: number, workers: number): Promise<{ result: RunResult; stats: DistributedStats }> {
    const run = newRunId();
    const job: Omit<PartitionJob, "partition"> = { run, prefix: runPrefix(run), spec, runIndex, partitions: workers };
    const timeoutMs = this.options.timeoutMs ?? 120_000;
    return coordinateRun(this.transport, job, { timeoutMs, log: this.options.log }, async () => {
      await this.queue.addBulk(
        Array.from({ length: workers }, (_, partition) => ({
          name: "partition",
          data: { ...job, partition },
          opts: { jobId: `${run}-p${partition}`, attempts: 3, backoff: { type: "fixed", delay: 1000 }, removeOnComplete: 1000, removeOnFail: 1000 },
        })),
      );
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
    await this.transport.drain().catch(() => this.transport.close());
  }
}
