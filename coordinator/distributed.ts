import { Machine } from "../shared/machine/machine.ts";
import type { RunResult } from "../shared/metrics/result.ts";
import { decodeMessage, encodeMessage, PartReassembler, PROTOCOL_VERSION, reportOf, type Message, type ReportMessage } from "../shared/protocol/messages.ts";
import { lookaheadPs } from "../shared/protocol/partitioning.ts";
import { mergeReports, type PartitionReport } from "../shared/report.ts";
import { planRuns } from "../shared/spec/resolve.ts";
import type { CheckpointStore } from "../worker/checkpoint-store.ts";
import { jobOwnership, RunAbortedError, subjects, type PartitionJob, type RunnerStats } from "../worker/partition-runner.ts";
import type { Transport } from "../worker/transport/transport.ts";
import { Wakeup } from "../worker/wakeup.ts";

/** How a distributed run went (not part of the result: it depends on the partition). */
export interface DistributedStats {
  partitions: number;
  windows: number;
  lookaheadPs: number;
  wallMs: number;
  /** Events that crossed partitions, and the bytes of every message the coordinator saw. */
  crossEvents: number;
  rejected: number;
  /** Epochs the run took: 1 when nothing went wrong; each rollback adds one. */
  epochs: number;
  /** Why each rollback happened. */
  rollbacks: string[];
  /** Each partition's own account (compute time, messages and bytes it sent). */
  partitionStats: RunnerStats[];
  /** Messages and bytes the coordinator sent. */
  coordinatorMessages: number;
  coordinatorBytes: number;
}

export interface CoordinateOptions {
  /** How long to wait for any worker's answer before giving up, milliseconds. */
  timeoutMs?: number;
  log?: (line: string) => void;
  /** The run's checkpoints (Redis in a cluster): rollbacks go to the newest complete one. */
  store?: CheckpointStore;
  /**
   * The run was started by another coordinator (`--resume`): its partitions may be running, or
   * their jobs queued again. Start a new epoch, from the newest complete checkpoint, once the
   * partitions listed here (those whose jobs were queued again) have said hello.
   */
  resume?: { awaitHellos: number[] };
}

/** How often a start is sent again until every partition has answered it, ms. */
const START_AGAIN_MS = 2000;

/**
 * Starts one distributed run over a transport and collects its outcome. It listens first, lets
 * the workers start, waits until every partition has said hello, then starts epoch 1 and,
 * once every partition has answered the start, says go; the partitions run the windows among themselves (see runPartition) and each sends its report at
 * the end; once all are in, it tells them to finish.
 *
 * A rollback starts a new epoch from the newest complete checkpoint (or the beginning): when a
 * partition that had joined the epoch says hello again (its worker died and BullMQ gave its job
 * to another), when a partition lost messages and asks for one, or when the coordinator's own
 * connection dropped. A start is repeated until every partition has answered it. Partitions
 * send a progress message about once a second; a partition's failure, or silence from all of
 * them for longer than the timeout, stops the run.
 */
export async function coordinateRun(
  transport: Transport,
  job: Omit<PartitionJob, "partition">,
  options: CoordinateOptions = {},
  startWorkers: () => void | Promise<void> = () => {},
): Promise<{ result: RunResult; stats: DistributedStats }> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const log = options.log ?? (() => {});
  const store = options.store;
  const config = planRuns(job.spec)[job.runIndex];
  const machine = new Machine(config.machine, config.cpuCount);
  const own = jobOwnership(job, machine);
  const P = job.partitions;
  const lookahead = lookaheadPs(machine, own);
  const started = performance.now();
  const stats: DistributedStats = {
    partitions: P,
    windows: 0,
    lookaheadPs: lookahead,
    wallMs: 0,
    crossEvents: 0,
    rejected: 0,
    epochs: 0,
    rollbacks: [],
    partitionStats: [],
    coordinatorMessages: 0,
    coordinatorBytes: 0,
  };

  /** Each partition's newest incarnation (0: no hello yet). */
  const incarnations = new Array<number>(P).fill(0);
  let epoch = -1;
  let startWindow = -1;
  let startSentAt = 0;
  /** Partitions that answered this epoch's start, and the reports of this epoch. */
  const ready = new Set<number>();
  const reports = new Map<number, ReportMessage>();
  let rollbackWhy: string | null = null;
  /** Whether this epoch's go went out (once every partition answered its start). */
  let goSent = false;
  let failure: Error | null = null;
  let lastHeard = Date.now();
  const wakeup = new Wakeup();
  const parts = new PartReassembler();

  const ignore = (why: string) => {
    stats.rejected++;
    log(`coordinator: ${why}`);
  };
  const send = (m: Message) => {
    const data = encodeMessage(m);
    stats.coordinatorMessages++;
    stats.coordinatorBytes += data.byteLength;
    transport.publish(subjects.control(job.prefix), data);
  };
  const sendStart = () => {
    startSentAt = Date.now();
    send({ v: PROTOCOL_VERSION, run: job.run, kind: "start", partitions: P, epoch, window: startWindow });
  };
  const rollback = (why: string) => {
    if (epoch >= 0) rollbackWhy ??= why;
  };

  const onMessage = (m: Message) => {
    if ("from" in m && m.from >= P) return ignore(`ignored a ${m.kind} from partition ${m.from} of ${P}`);
    switch (m.kind) {
      case "ready": {
        if (m.incarnation < incarnations[m.from]) return ignore(`ignored partition ${m.from}'s superseded incarnation ${m.incarnation}`);
        if (m.epoch === null) {
          const again = m.incarnation > incarnations[m.from];
          incarnations[m.from] = m.incarnation;
          // A partition's job started (again) while an epoch runs: an older incarnation of it may
          // be running the epoch too, or have left it; everyone goes back, and at the next start
          // older incarnations see they are superseded and leave.
          if (epoch >= 0 && again) rollback(`partition ${m.from} restarted (incarnation ${m.incarnation})`);
          return;
        }
        // (After --resume, a partition that was running says its incarnation first here.)
        if (m.epoch === epoch) {
          incarnations[m.from] = m.incarnation;
          ready.add(m.from);
        }
        return;
      }
      case "resync":
        if (m.epoch === epoch) rollback(`partition ${m.from}: ${m.reason}`);
        return;
      case "report":
        if (m.epoch === epoch) reports.set(m.from, m);
        return;
      case "failure":
        if (m.incarnation < incarnations[m.from]) return ignore(`ignored a failure of partition ${m.from}'s superseded incarnation ${m.incarnation}: ${m.message}`);
        failure ??= new RunAbortedError(`partition ${m.from} failed: ${m.message}`);
        return;
      default:
        return ignore(`ignored an unexpected ${m.kind} message`);
    }
  };
  const accept = (msg: { subject: string; data: Uint8Array }) => {
    lastHeard = Date.now();
    const raw = decodeMessage(msg.data, job.run);
    const d = raw.ok && raw.message.kind === "part" ? parts.add(raw.message, job.run) : raw;
    if (d === null) return;
    if (!d.ok) return ignore(`rejected a message on ${msg.subject}: ${d.reason}`);
    onMessage(d.message);
    wakeup.notify();
  };
  const subs = [subjects.ready, subjects.report, subjects.failure, subjects.resync].map((s) => transport.subscribe(s(job.prefix), accept));
  // Partitions' progress messages only keep the run alive (and could feed a progress bar).
  subs.push(transport.subscribe(subjects.progress(job.prefix), () => (lastHeard = Date.now())));
  const stopWatching = transport.onReconnect(() => {
    rollback("the coordinator's connection to the server dropped");
    wakeup.notify();
  });

  /** Starts the next epoch: from the newest complete checkpoint, or the beginning. */
  const beginEpoch = async () => {
    const next = store === undefined ? { epoch: epoch + 1, window: -1 } : await store.beginEpoch(job.run);
    epoch = next.epoch;
    startWindow = next.window;
    stats.epochs++;
    ready.clear();
    reports.clear();
    goSent = false;
    rollbackWhy = null;
    log(`coordinator: epoch ${epoch} starts from ${startWindow < 0 ? "the beginning" : `checkpoint ${startWindow}`}`);
    sendStart();
  };

  /** Waits for something to change; silence from every partition for timeoutMs is an error. */
  const waitForWord = async (what: () => string) => {
    if (failure !== null) throw failure;
    const left = lastHeard + timeoutMs - Date.now();
    if (left <= 0) throw new RunAbortedError(`no word from the run for ${timeoutMs} ms while waiting for ${what()}`);
    await wakeup.sleep(Math.min(left, START_AGAIN_MS));
  };
  const missing = (have: (p: number) => boolean) => Array.from({ length: P }, (_, p) => p).filter((p) => !have(p)).join(", ");

  try {
    // Listen first (and make sure the server knows), then let the workers start.
    await transport.flush();
    await startWorkers();
    const hellos = options.resume?.awaitHellos ?? Array.from({ length: P }, (_, p) => p);
    while (hellos.some((p) => incarnations[p] === 0)) await waitForWord(() => `the hello of partition(s) ${missing((p) => !hellos.includes(p) || incarnations[p] > 0)}`);
    await beginEpoch();
    for (;;) {
      if (failure !== null) throw failure;
      if (rollbackWhy !== null) {
        stats.rollbacks.push(rollbackWhy);
        log(`coordinator: rolling back: ${rollbackWhy}`);
        await beginEpoch();
        continue;
      }
      if (reports.size === P) break;
      if (ready.size === P && !goSent) {
        goSent = true;
        send({ v: PROTOCOL_VERSION, run: job.run, kind: "go", epoch });
      }
      if (ready.size < P && Date.now() - startSentAt >= START_AGAIN_MS) sendStart();
      await waitForWord(() => `the reports of partition(s) ${missing((p) => reports.has(p))}`);
    }
    // Recorded before the finish goes out: a partition job that starts after it (a stalled job
    // BullMQ ran again) either hears the finish or finds this mark, and leaves at once.
    await store?.markFinished(job.run);
    send({ v: PROTOCOL_VERSION, run: job.run, kind: "finish", epoch });
    const all = Array.from({ length: P }, (_, p) => reports.get(p) as ReportMessage);
    const result = mergeReports(config, all.map((r) => reportOf(r) as PartitionReport));
    stats.partitionStats = all.map((r) => r.runner);
    stats.windows = Math.max(0, ...stats.partitionStats.map((r) => r.windows));
    stats.crossEvents = stats.partitionStats.reduce((s, r) => s + r.eventsSent, 0);
    stats.wallMs = performance.now() - started;
    await store?.finish(job.run);
    return { result, stats };
  } catch (e) {
    send({ v: PROTOCOL_VERSION, run: job.run, kind: "abort", reason: (e as Error).message.slice(0, 2000) });
    throw e;
  } finally {
    wakeup.close();
    stopWatching();
    for (const s of subs) s.unsubscribe();
  }
}

/** Merges the reports a run's partitions saved in the store (for a coordinator that took over). */
export function mergeStoredReports(job: Omit<PartitionJob, "partition">, texts: ReadonlyMap<number, string>): RunResult {
  const config = planRuns(job.spec)[job.runIndex];
  const reports: PartitionReport[] = [];
  const encoder = new TextEncoder();
  for (let p = 0; p < job.partitions; p++) {
    const text = texts.get(p);
    if (text === undefined) throw new RunAbortedError(`run ${job.run}: partition ${p}'s report is not in the store`);
    const d = decodeMessage(encoder.encode(text), job.run);
    if (!d.ok) throw new RunAbortedError(`run ${job.run}: partition ${p}'s stored report is unreadable: ${d.reason}`);
    if (d.message.kind !== "report" || d.message.from !== p) throw new RunAbortedError(`run ${job.run}: the store holds a ${d.message.kind} message as partition ${p}'s report`);
    reports.push(reportOf(d.message) as PartitionReport);
  }
  return mergeReports(config, reports);
}
