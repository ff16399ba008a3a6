import { Machine } from "../shared/machine/machine.ts";
import { REDIS_CLEANUP_MS, within } from "./bounded.ts";
import type { RunResult } from "../shared/metrics/result.ts";
import { decodeMessage, encodeMessage, PartReassembler, PROTOCOL_VERSION, reportOf, type Message, type ReportMessage } from "../shared/protocol/messages.ts";
import { lookaheadPs, type Ownership } from "../shared/protocol/partitioning.ts";
import { printable } from "../shared/protocol/printable.ts";
import { RunSeal } from "../shared/protocol/seal.ts";
import { mergeReports, type PartitionReport } from "../shared/report.ts";
import { planRuns } from "../shared/spec/resolve.ts";
import type { CheckpointStore } from "../worker/checkpoint-store.ts";
import { jobOwnership, RunAbortedError, subjects, type PartitionJob, type RunnerStats } from "../worker/partition-runner.ts";
import { RejectionLog } from "../worker/partition/rejections.ts";
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
  /** Runs when the run is aborted, after it is marked finished and before the abort goes out (the cluster removes its queued jobs). */
  beforeAbort?: () => Promise<void>;
  /**
   * How long to wait for workers to take the run's partitions (their hellos) before giving up,
   * ms (default: timeoutMs). While it waits it says how many are taken, every few seconds.
   */
  waitWorkersMs?: number;
  /** Hears how far the windows have come (the slowest partition's window and simulated time), about once a second. */
  onProgress?: (p: { window: number; simulatedPs: number }) => void;
  /**
   * Keeps the merged result (the cluster's experiment stores it in Redis) before the store lets
   * the partitions' reports go: a coordinator stopped between the two (Ctrl-C while this run
   * finishes) leaves either the reports or the result for `--resume`, never neither.
   */
  persist?: (result: RunResult) => Promise<void>;
}

/** How often "waiting for workers: k of P partitions taken" is said while partitions are untaken, ms. */
const WAITING_NOTE_MS = 5000;

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
  const seal = new RunSeal(job.secret);
  let transportGone = false;
  void transport.closed.then(() => (transportGone = true));
  const rejections = new RejectionLog(log, "coordinator", () => stats.rejected++);

  const ignore = (why: string) => rejections.reject("the run's subjects", why);
  const send = (m: Message) => {
    const subject = subjects.control(job.prefix);
    const data = seal.seal(subject, encodeMessage(m));
    stats.coordinatorMessages++;
    stats.coordinatorBytes += data.byteLength;
    transport.publish(subject, data);
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
      case "report": {
        // Only from the partition that owns it, for the current epoch, once.
        if (m.epoch !== epoch) return ignore(`ignored partition ${m.from}'s report of epoch ${m.epoch} (this is epoch ${epoch})`);
        if (reports.has(m.from)) return ignore(`ignored a second report of partition ${m.from} in epoch ${epoch}`);
        const wrong = notOwnReport(m, own);
        if (wrong !== null) return ignore(`ignored partition ${m.from}'s report: ${wrong}`);
        reports.set(m.from, m);
        return;
      }
      case "failure":
        if (m.incarnation < incarnations[m.from]) return ignore(`ignored a failure of partition ${m.from}'s superseded incarnation ${m.incarnation}: ${m.message}`);
        failure ??= new RunAbortedError(`partition ${m.from} failed: ${printable(m.message)}`);
        return;
      default:
        return ignore(`ignored an unexpected ${m.kind} message`);
    }
  };
  const accept = (msg: { subject: string; data: Uint8Array }) => {
    const data = seal.open(msg.subject, msg.data);
    if (data === null) return rejections.reject(msg.subject, "no valid MAC for this run");
    lastHeard = Date.now();
    const raw = decodeMessage(data, job.run);
    const d = raw.ok && raw.message.kind === "part" ? parts.add(raw.message, job.run) : raw;
    if (d === null) return;
    if (!d.ok) return rejections.reject(msg.subject, d.reason);
    onMessage(d.message);
    wakeup.notify();
  };
  /** Each partition's newest progress (null until it sent one). */
  const windowsOf: Array<{ window: number; simulatedPs: number } | null> = new Array(P).fill(null);
  const subs = [subjects.ready, subjects.report, subjects.failure, subjects.resync].map((s) => transport.subscribe(s(job.prefix), accept));
  // Partitions' progress messages only keep the run alive (and could feed a progress bar); a
  // forged one must not keep a dead run waiting.
  subs.push(
    transport.subscribe(subjects.progress(job.prefix), (msg) => {
      const data = seal.open(msg.subject, msg.data);
      if (data === null) return rejections.reject(msg.subject, "no valid MAC for this run");
      lastHeard = Date.now();
      if (options.onProgress === undefined) return;
      const d = decodeMessage(data, job.run);
      if (!d.ok || d.message.kind !== "progress" || d.message.from < 0 || d.message.from >= P) return;
      windowsOf[d.message.from] = { window: d.message.window, simulatedPs: d.message.simulatedPs };
      if (windowsOf.some((w) => w === null)) return;
      const all = windowsOf as Array<{ window: number; simulatedPs: number }>;
      options.onProgress({ window: Math.min(...all.map((w) => w.window)), simulatedPs: Math.min(...all.map((w) => w.simulatedPs)) });
    }),
  );
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
    const waitWorkersMs = options.waitWorkersMs ?? timeoutMs;
    const helloDeadline = Date.now() + waitWorkersMs;
    // The first note after a second (workers that are there take their jobs sooner), then every few.
    let noted = Date.now() - WAITING_NOTE_MS + 1000;
    while (hellos.some((p) => incarnations[p] === 0)) {
      const taken = hellos.filter((p) => incarnations[p] > 0).length;
      if (Date.now() >= helloDeadline) {
        throw new RunAbortedError(
          `gave up waiting for workers after ${waitWorkersMs / 1000} s: ${taken} of ${hellos.length} partitions taken (start workers with \`refsim worker\` on the same NATS, Redis and queue, ask for fewer --workers, or wait longer with --wait-workers)`,
        );
      }
      if (Date.now() - noted >= WAITING_NOTE_MS) {
        noted = Date.now();
        log(`waiting for workers: ${taken} of ${hellos.length} partitions taken (giving up in ${Math.ceil((helloDeadline - Date.now()) / 1000)} s)`);
      }
      if (failure !== null) throw failure;
      lastHeard = Date.now(); // the hello wait has its own bound
      await wakeup.sleep(500);
    }
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
    await options.persist?.(result);
    await store?.finish(job.run);
    return { result, stats };
  } catch (e) {
    // Without a transport (the coordinator lost it for good) the run is not aborted: it may be
    // resumed. Else it is over: marked finished first, so its partition jobs that start later
    // (retried, or queued still) leave at once, then the abort goes out.
    if (!transportGone) {
      // Bounded: with Redis gone its commands would wait for ever (the jobs then expire).
      if (store !== undefined && (await within(store.markFinished(job.run), REDIS_CLEANUP_MS)) !== "done") log(`coordinator: could not mark run ${job.run} finished in Redis`);
      await options.beforeAbort?.().catch(() => {});
      try {
        send({ v: PROTOCOL_VERSION, run: job.run, kind: "abort", reason: (e as Error).message.slice(0, 2000) });
      } catch {
        // It closed meanwhile; the partitions time out.
      }
    }
    throw e;
  } finally {
    wakeup.close();
    stopWatching();
    for (const s of subs) s.unsubscribe();
  }
}

/**
 * Why a partition's report is not its own (null when it is): it must hold exactly the CPUs and
 * home nodes the partition owns, each once.
 */
function notOwnReport(m: ReportMessage, own: Ownership): string | null {
  const r = reportOf(m);
  if (r.partition !== m.from) return `it is partition ${r.partition}'s`;
  const owned = (owners: ArrayLike<number>, ids: unknown[], what: string): string | null => {
    let expected = 0;
    for (let i = 0; i < owners.length; i++) if (owners[i] === m.from) expected++;
    const seen = new Set<number>();
    for (const x of ids) {
      const id = typeof x === "object" && x !== null ? (x as { id?: unknown; node?: unknown })[what === "CPU" ? "id" : "node"] : undefined;
      if (typeof id !== "number" || owners[id] !== m.from || seen.has(id)) return `it holds ${what} ${String(id)}, which is not partition ${m.from}'s (or comes twice)`;
      seen.add(id);
    }
    return seen.size === expected ? null : `it holds ${seen.size} of partition ${m.from}'s ${expected} ${what}s`;
  };
  return owned(own.cpuOwner, r.cpus as unknown[], "CPU") ?? owned(own.nodeOwner, r.homes as unknown[], "home node");
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
