import { Machine } from "../shared/machine/machine.ts";
import { Partition } from "../shared/protocol/partition.ts";
import { fromCpuOwners, lookaheadPs, socketAligned, type Ownership } from "../shared/protocol/partitioning.ts";
import { planRuns, type ResolvedSpec } from "../shared/spec/resolve.ts";
import type { CheckpointStore } from "./checkpoint-store.ts";
import { CheckpointPolicy } from "./partition/checkpoint-policy.ts";
import { MemoryRefusalError, RollbackSignal, RunAbortedError } from "./partition/errors.ts";
import { memoryRefusal } from "../shared/spec/memory-estimate.ts";
import { memoryLimit } from "../coordinator/memory-limit.ts";
import { RunLink, type RunContext } from "./partition/link.ts";
import { WindowLoop } from "./partition/window-loop.ts";
import type { Transport } from "./transport/transport.ts";

export { CoordinatorAbortError, CountMismatchError, MemoryRefusalError, RunAbortedError } from "./partition/errors.ts";
export { subjects } from "./partition/subjects.ts";

/** One partition of one run: what a partition job carries. */
export interface PartitionJob {
  run: string;
  /** Subject prefix of the run (`refsim.<run>`). */
  prefix: string;
  /**
   * The run's secret (hex): every message of the run carries a MAC under it, and one that does
   * not check is dropped. It travels only in the job (Redis, or a thread's start), never on NATS.
   */
  secret: string;
  spec: ResolvedSpec;
  /** Which of the spec's runs (planRuns order). */
  runIndex: number;
  partitions: number;
  partition: number;
  /** Explicit CPU owners (tests use random partitions); default: socket-aligned ranges. */
  cpuOwners?: number[];
  /** Each partition saves a checkpoint every this many windows (0: never; needs a store). */
  checkpointEvery?: number;
  /**
   * Without checkpointEvery: a checkpoint once this many seconds of wall time passed since the
   * last (and at least 20 times the last one's cost, so big partitions do not spend their time
   * saving). The partitions agree at each barrier (every step message carries the sender's
   * clock), so all save the same window. 0 or absent: never.
   */
  checkpointSeconds?: number;
}

export function jobOwnership(job: Pick<PartitionJob, "cpuOwners" | "partitions">, machine: Machine): Ownership {
  return job.cpuOwners !== undefined ? fromCpuOwners(machine, job.cpuOwners, job.partitions) : socketAligned(machine, job.partitions);
}

export interface RunnerOptions {
  /** How long to wait for the start, or for a peer's step message, before giving up, ms. */
  timeoutMs?: number;
  log?: (line: string) => void;
  /**
   * Where checkpoints, incarnations and the report go (Redis in a cluster). Without one the
   * partition saves no checkpoint and a rollback goes back to the run's beginning.
   */
  store?: CheckpointStore;
  /** This start's incarnation, where there is no store to count them (tests). Default 1. */
  incarnation?: number;
  /**
   * The memory this partition may be projected to need (shared/spec/memory-estimate.ts) before
   * it refuses the job: default $REFSIM_MEMORY_LIMIT, else this process's V8 heap limit.
   */
  memoryLimitBytes?: number;
}

/**
 * $REFSIM_MEMORY_LIMIT, else this process's V8 heap limit: the coordinator's rule (memoryLimit),
 * so a malformed value is an error naming it here too, not a silent fall back to the heap limit.
 */
export function workerMemoryLimit(): number {
  return memoryLimit(undefined);
}

export interface RunnerStats {
  windows: number;
  rejected: number;
  /** Wall time spent simulating (the rest is waiting at barriers and messaging), ms. */
  busyMs: number;
  batchesSent: number;
  /** Events sent to other partitions. */
  eventsSent: number;
  messagesSent: number;
  bytesSent: number;
  /** Times this partition went back to a checkpoint (or the beginning) on the coordinator's word. */
  rollbacks: number;
  /** Checkpoints it saved. */
  checkpoints: number;
  /** Wall time from the go to the last window's end, ms (the run without its set-up). */
  loopMs: number;
}

/**
 * Runs one partition of a distributed run over a transport, with conservative synchronous
 * windows (partition/window-loop.ts); when no partition has anything left, it sends its report
 * to the coordinator and waits for its finish. Its parts: the messages it sends and hears
 * (partition/link.ts), the window loop, the checkpoint policy (partition/checkpoint-policy.ts)
 * and, here, epochs and rollback.
 *
 * Epochs: the coordinator's start names an epoch and the state to start from (the beginning,
 * or a checkpoint every partition saved). A later start rolls the partition back, whatever it
 * is doing: after a worker was lost (its job restarted elsewhere, as a new incarnation of the
 * partition), or after messages were lost (a connection to the server dropped: the partition
 * asks for the rollback itself). Messages of earlier epochs are ignored. With
 * `job.checkpointEvery` (or `checkpointSeconds`) and a store, the partition saves its state
 * every that many windows (or seconds, as agreed at a barrier).
 *
 * A step message that is missing (a later one from the same sender came first), duplicated, or
 * whose batch disagrees with its counts stops the run with a CountMismatchError naming the
 * window and the partitions, unless a rollback comes within a short grace (a partition whose
 * connection dropped asks for one at once). A malformed message is rejected, logged and counted.
 */
export async function runPartition(transport: Transport, job: PartitionJob, options: RunnerOptions = {}): Promise<RunnerStats> {
  const log = options.log ?? (() => {});
  const store = options.store;
  const plan = planRuns(job.spec);
  const config = plan[job.runIndex];
  if (config === undefined) throw new Error(`run index ${job.runIndex} is outside the spec's ${plan.length} runs`);
  const machine = new Machine(config.machine, config.cpuCount);
  const own = jobOwnership(job, machine);
  const me = job.partition;
  const stats: RunnerStats = { windows: 0, rejected: 0, busyMs: 0, batchesSent: 0, eventsSent: 0, messagesSent: 0, bytesSent: 0, rollbacks: 0, checkpoints: 0, loopMs: 0 };
  const incarnation = store === undefined ? (options.incarnation ?? 1) : await store.claimIncarnation(job.run, me);
  const who = incarnation > 1 ? `partition ${me} (incarnation ${incarnation})` : `partition ${me}`;
  const c: RunContext = { job, transport, me, partitions: job.partitions, incarnation, who, log, stats, timeoutMs: options.timeoutMs ?? 60_000 };
  const link = new RunLink(c);
  const checkpoints = new CheckpointPolicy(c, store, config, own);
  try {
    // Refused before anything is built: the coordinator hears why, in the line it would say itself.
    const refusal = memoryRefusal(config, job.partitions, options.memoryLimitBytes ?? workerMemoryLimit(), job.spec.duration);
    if (refusal !== null) throw new MemoryRefusalError(refusal);
    // Built before the hello, so the run's clock does not wait for it.
    const fresh = new Partition(config, own, me);
    // Subscriptions must be in effect at the server before anyone may send to them.
    await transport.flush();
    // Listening now, so a finish sent after this check is heard.
    if (store !== undefined && (await store.finished(job.run))) {
      log(`${who}: the run had finished before this incarnation started; leaving`);
      return stats;
    }
    link.sayReady(null);
    await runEpochs(c, link, checkpoints, store, lookaheadPs(machine, own), fresh);
    return stats;
  } catch (e) {
    try {
      link.sayFailure((e as Error).message);
      await transport.flush();
    } catch {
      // The transport itself failed; the coordinator will time out and report it.
    }
    throw e;
  } finally {
    link.close();
  }
}

/**
 * Epochs and rollback: waits for the coordinator's start, takes the state it names, answers,
 * waits for the go and runs the windows; a later start (a RollbackSignal, from wherever the
 * partition is waiting) goes round again. Returns when the run finished, or when this
 * incarnation was superseded.
 */
async function runEpochs(c: RunContext, link: RunLink, checkpoints: CheckpointPolicy, store: CheckpointStore | undefined, lookahead: number, built: Partition): Promise<void> {
  const { job, me, incarnation, who, log, stats } = c;
  let fresh: Partition | null = built;
  for (;;) {
    try {
      await link.until(
        () => link.nextStart !== null || link.finished,
        () => "the coordinator's start",
      );
    } catch (e) {
      if (!(e instanceof RollbackSignal)) throw e;
    }
    if (link.finished && link.nextStart === null) {
      log(`${who}: the run finished without this incarnation`);
      return;
    }
    const s = link.takeStart();
    if (store !== undefined && (await store.incarnation(job.run, me)) !== incarnation) {
      log(`${who}: a newer incarnation of partition ${me} took over; leaving`);
      return;
    }
    if (link.epoch >= 0) {
      stats.rollbacks++;
      log(`${who}: epoch ${s.epoch}: rolling back to ${s.window < 0 ? "the beginning" : `checkpoint ${s.window}`}`);
    }
    await checkpoints.settled();
    link.dropParts();
    const standing = await checkpoints.restore(s, fresh);
    if (s.window < 0) fresh = null;
    link.enterEpoch(s.epoch, standing.window);
    link.sayReady(link.epoch);
    try {
      // Nothing of this epoch goes out before every partition listens again (after a dropped
      // connection, one that has not resubscribed yet would miss it).
      await link.until(
        () => link.go >= link.epoch,
        () => `the coordinator's go for epoch ${link.epoch}`,
      );
      await new WindowLoop(c, link, checkpoints, store, lookahead, standing).run();
      try {
        await link.until(
          () => link.finished,
          () => "the coordinator's finish",
        );
      } catch (e) {
        if (!(e instanceof RunAbortedError) || link.failure !== null) throw e;
        log(`${who}: no finish from the coordinator; leaving (${store === undefined ? "the report was sent" : "the report is saved"})`);
      }
      return;
    } catch (e) {
      if (!(e instanceof RollbackSignal)) throw e;
    }
  }
}
