import { decodeCheckpoint, encodeCheckpoint } from "../shared/protocol/checkpoint.ts";
import { Machine } from "../shared/machine/machine.ts";
import {
  decodeMessage,
  encodeMessageParts,
  PartReassembler,
  PROTOCOL_VERSION,
  type Decoded,
  type Message,
  type StepMessage,
  type StartMessage,
} from "../shared/protocol/messages.ts";
import { Partition } from "../shared/protocol/partition.ts";
import { fromCpuOwners, lookaheadPs, socketAligned, type Ownership } from "../shared/protocol/partitioning.ts";
import { planRuns, type ResolvedSpec } from "../shared/spec/resolve.ts";
import { minSentTo, nextWindow, type BarrierReport } from "../shared/protocol/windowed.ts";
import type { CheckpointStore } from "./checkpoint-store.ts";
import type { Transport } from "./transport/transport.ts";
import { Wakeup } from "./wakeup.ts";

const orNull = (t: number): number | null => (t === Infinity ? null : t);
const orInfinity = (t: number | null): number => (t === null ? Infinity : t);

/** How often a partition tells the coordinator it is alive, ms. */
const PROGRESS_EVERY_MS = 1000;

/** Events a partition runs before it lets its event loop breathe. */
const SLICE_EVENTS = 250_000;

/** One partition of one run: what a partition job carries. */
export interface PartitionJob {
  run: string;
  /** Subject prefix of the run (`refsim.<run>`). */
  prefix: string;
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

/** Subjects of a run. */
export const subjects = {
  /** The coordinator's start, finish and abort. */
  control: (prefix: string) => `${prefix}.ctl`,
  /** Partition `from`'s step message, every window (all partitions listen to `<prefix>.step.*`). */
  step: (prefix: string, from: number) => `${prefix}.step.${from}`,
  steps: (prefix: string) => `${prefix}.step.*`,
  ready: (prefix: string) => `${prefix}.ready`,
  progress: (prefix: string) => `${prefix}.progress`,
  report: (prefix: string) => `${prefix}.report`,
  failure: (prefix: string) => `${prefix}.failure`,
  resync: (prefix: string) => `${prefix}.resync`,
};

/** A lost, duplicated or inconsistent message between partitions: the run must stop. */
export class CountMismatchError extends Error {
  override readonly name = "CountMismatchError";
  constructor(
    message: string,
    readonly window: number,
    readonly from: number,
    readonly to: number,
  ) {
    super(message);
  }
}

/** The coordinator said to stop, or a peer went silent. */
export class RunAbortedError extends Error {
  override readonly name = "RunAbortedError";
}

/** The coordinator started a new epoch: drop the window in hand and restore. */
class RollbackSignal extends Error {}

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

/** How often a partition that lost messages asks again for a rollback, ms. */
const RESYNC_EVERY_MS = 2000;
/**
 * How long a partition that saw a message go missing (or come twice) waits for a rollback
 * before it stops the run with the counts error, ms: the sender may have seen its connection
 * drop and asked for the rollback already.
 */
const MISMATCH_GRACE_MS = 3000;
/** Step messages of later epochs kept until this partition gets there (more are dropped). */
const EARLY_STEPS_PER_PARTITION = 16;

/** A checkpoint as a partition saves it: the next window's end, then the partition's state. */
function packCheckpoint(endPs: number, state: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + state.byteLength);
  new DataView(out.buffer).setFloat64(0, endPs, true);
  out.set(state, 8);
  return out;
}

/**
 * Runs one partition of a distributed run over a transport, with conservative synchronous
 * windows. At the end of each window the partition broadcasts one step message: its next event
 * time, the earliest event it sent to another partition, its counts, and its batches. Once it
 * has every other partition's step message for the window it delivers the batches addressed to
 * it, and starts the next window at the earliest time any partition reported, for the static
 * lookahead; every partition computes the same window from the same messages. When no partition
 * has anything left, it sends its report to the coordinator and waits for its finish.
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
  const timeoutMs = options.timeoutMs ?? 60_000;
  const log = options.log ?? (() => {});
  const store = options.store;
  const plan = planRuns(job.spec);
  const config = plan[job.runIndex];
  if (config === undefined) throw new Error(`run index ${job.runIndex} is outside the spec's ${plan.length} runs`);
  const machine = new Machine(config.machine, config.cpuCount);
  const own = jobOwnership(job, machine);
  const me = job.partition;
  const P = job.partitions;
  const lookahead = lookaheadPs(machine, own);
  const every = store === undefined ? 0 : (job.checkpointEvery ?? 0);
  const everyMs = store === undefined || every > 0 ? 0 : (job.checkpointSeconds ?? 0) * 1000;
  /** When this partition last saved (or took) a state, and what its last save cost, ms. */
  let checkpointAt = Date.now();
  let checkpointCostMs = 0;
  const stats: RunnerStats = { windows: 0, rejected: 0, busyMs: 0, batchesSent: 0, eventsSent: 0, messagesSent: 0, bytesSent: 0, rollbacks: 0, checkpoints: 0, loopMs: 0 };
  const incarnation = store === undefined ? (options.incarnation ?? 1) : await store.claimIncarnation(job.run, me);
  const who = incarnation > 1 ? `partition ${me} (incarnation ${incarnation})` : `partition ${me}`;
  // Built before the hello, so the run's clock does not wait for it.
  let fresh: Partition | null = new Partition(config, own, me);

  let failure: Error | null = null;
  /** The newest start this partition has not taken yet. */
  let nextStart: StartMessage | null = null;
  /** The epoch it runs (-1: not started yet). */
  let epoch = -1;
  let finished = false;
  /** The newest epoch the coordinator said to run (every partition had answered its start). */
  let go = -1;
  /** The connection dropped in this epoch: messages may be lost. */
  let reconnected = false;
  /** Messages were lost in this epoch: only a rollback helps. */
  let broken = false;
  let lastResync = 0;
  /** A missing or duplicated message this partition saw, and when it becomes fatal. */
  let mismatched: { error: Error; fatalAt: number } | null = null;
  /** Step messages by window, then by sender (a later window's may come early from a fast peer). */
  const steps = new Map<number, Map<number, StepMessage>>();
  /** Step messages of later epochs, from peers that took a start first. */
  let early: StepMessage[] = [];
  /** The window this partition is collecting step messages for. */
  let current = 0;
  /** The last window each sender's message arrived for (-1: none yet). */
  const lastFrom = new Float64Array(P).fill(-1);
  const wakeup = new Wakeup();

  const parts = new PartReassembler();
  /** Decodes a message, reassembling parts; null while a message is still incomplete. */
  const decode = (data: Uint8Array): Decoded | null => {
    const d = decodeMessage(data, job.run);
    return d.ok && d.message.kind === "part" ? parts.add(d.message, job.run) : d;
  };
  const reject = (subject: string, reason: string) => {
    stats.rejected++;
    log(`${who}: rejected a message on ${subject}: ${reason}`);
  };

  let partIds = 0;
  const publish = (subject: string, m: Message) => {
    for (const data of encodeMessageParts(m, transport.maxPayloadBytes, `p${me}.${incarnation}-${partIds++}`)) {
      stats.bytesSent += data.byteLength;
      stats.messagesSent++;
      transport.publish(subject, data);
    }
  };
  const sayReady = (e: number | null) => publish(subjects.ready(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "ready", from: me, incarnation, epoch: e });
  const askResync = (reason: string) => {
    lastResync = Date.now();
    log(`${who}: asking for a rollback in epoch ${epoch}: ${reason}`);
    publish(subjects.resync(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "resync", from: me, epoch, reason: reason.slice(0, 2000) });
  };

  const onStep = (m: StepMessage) => {
    if (m.from === me || m.epoch < epoch) return;
    if (m.epoch > epoch) {
      if (early.length >= EARLY_STEPS_PER_PARTITION * P) return reject(subjects.steps(job.prefix), `too many step messages ahead of epoch ${epoch}`);
      early.push(m);
      return;
    }
    if (m.from >= P || m.sent.length !== P || m.minSentTo.length !== P) throw new CountMismatchError(`window ${m.window}: a step message claims to come from partition ${m.from} of ${P}`, m.window, m.from, me);
    if (m.window <= lastFrom[m.from]) throw new CountMismatchError(`window ${m.window}: duplicate step message from partition ${m.from} (at partition ${me})`, m.window, m.from, me);
    if (m.window > lastFrom[m.from] + 1) {
      const lost = lastFrom[m.from] + 1;
      throw new CountMismatchError(`window ${lost}: the step message of partition ${m.from} never reached partition ${me} (window ${m.window}'s came first)`, lost, m.from, me);
    }
    if (m.window < current) throw new CountMismatchError(`window ${m.window}: step message from partition ${m.from} arrived after the window closed`, m.window, m.from, me);
    lastFrom[m.from] = m.window;
    let byFrom = steps.get(m.window);
    if (byFrom === undefined) steps.set(m.window, (byFrom = new Map()));
    byFrom.set(m.from, m);
  };
  /**
   * A lost or duplicated message: a rollback mends it. If this partition's connection dropped
   * it asks for one; else it waits a little for one (the sender's connection may have dropped)
   * and then stops the run with the counts error.
   */
  const mismatch = (e: Error) => {
    if (reconnected) {
      if (!broken) askResync(e.message);
    } else mismatched ??= { error: e, fatalAt: Date.now() + MISMATCH_GRACE_MS };
    broken = true;
  };

  // Its own step messages come back too: recognised by subject, never decoded.
  const stepSubjects = Array.from({ length: P }, (_, p) => subjects.step(job.prefix, p));
  const ownSubject = stepSubjects[me];
  const stepSub = transport.subscribe(subjects.steps(job.prefix), (msg) => {
    if (failure !== null || msg.subject === ownSubject) return;
    const d = decode(msg.data);
    if (d === null) return;
    if (!d.ok) return reject(msg.subject, d.reason);
    if (d.message.kind !== "step") return reject(msg.subject, `unexpected kind ${d.message.kind}`);
    if (msg.subject !== stepSubjects[d.message.from]) return reject(msg.subject, `a step message from partition ${d.message.from} on another partition's subject`);
    try {
      onStep(d.message);
    } catch (e) {
      mismatch(e as Error);
    }
    wakeup.notify();
  });
  const controlSub = transport.subscribe(subjects.control(job.prefix), (msg) => {
    const d = decode(msg.data);
    if (d === null) return;
    if (!d.ok) return reject(msg.subject, d.reason);
    const m = d.message;
    if (m.kind === "start") {
      if (m.partitions !== P) return reject(msg.subject, `start for ${m.partitions} partitions, this run has ${P}`);
      if (m.epoch > epoch && (nextStart === null || m.epoch > nextStart.epoch)) nextStart = m;
      // The coordinator repeats a start until every partition answers: answer again.
      else if (m.epoch === epoch) sayReady(epoch);
    } else if (m.kind === "go") {
      go = Math.max(go, m.epoch);
    } else if (m.kind === "finish") {
      if (m.epoch === epoch || epoch < 0) finished = true;
    } else if (m.kind === "abort") {
      failure ??= new RunAbortedError(`${who}: the coordinator aborted the run: ${m.reason}`);
    } else return reject(msg.subject, `unexpected kind ${m.kind}`);
    wakeup.notify();
  });
  const stopWatching = transport.onReconnect(() => {
    reconnected = true;
    // Whatever was sent meanwhile may be lost: say hello again, or ask for a rollback.
    if (epoch < 0) sayReady(null);
    else askResync("the connection to the server dropped");
    wakeup.notify();
  });

  /**
   * Waits until `ready()` holds, at most `timeoutMs`. A failure throws it; a new start throws
   * a RollbackSignal (unless `ready` is waiting for it); lost messages wait for the rollback.
   */
  const until = async (ready: () => boolean, what: () => string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (failure !== null) throw failure;
      if (!broken && ready()) return;
      if (nextStart !== null) throw new RollbackSignal();
      if (mismatched !== null && Date.now() >= mismatched.fatalAt) throw mismatched.error;
      if (broken && mismatched === null && Date.now() - lastResync >= RESYNC_EVERY_MS) askResync("messages were lost");
      const left = deadline - Date.now();
      if (left <= 0) throw new RunAbortedError(`${who}: timed out after ${timeoutMs} ms waiting for ${what()}`);
      await wakeup.sleep(Math.min(left, RESYNC_EVERY_MS, mismatched === null ? Infinity : mismatched.fatalAt - Date.now()));
    }
  };

  /** The start to act on (the caller has seen that there is one). */
  const takeStart = (): StartMessage => {
    const s = nextStart as StartMessage;
    nextStart = null;
    return s;
  };
  let part: Partition = fresh;
  let window = 0;
  let endPs = 0;
  let saving: Promise<unknown> = Promise.resolve();

  /** Takes the state the start names: the beginning, or a checkpoint. */
  const restore = async (s: StartMessage): Promise<void> => {
    if (s.window < 0) {
      part = fresh ?? new Partition(config, own, me);
      fresh = null;
      part.start();
      window = 0;
      endPs = 0;
      return;
    }
    if (store === undefined) throw new RunAbortedError(`${who}: the coordinator asked for checkpoint ${s.window}, but this partition keeps no checkpoints`);
    const bytes = await store.load(job.run, s.window, me);
    if (bytes === null) throw new RunAbortedError(`${who}: checkpoint ${s.window} is missing from the store`);
    endPs = new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
    part = decodeCheckpoint(bytes.subarray(8), config, own, me, fresh ?? undefined);
    window = s.window + 1;
  };

  // The window loop is split into small functions: V8 compiles each on its own, so new feedback
  // in one (a rare branch taken) no longer recompiles the whole loop, which cost a quarter
  // second of compiler time each time on the first runs of a fresh worker.
  let lastProgress = 0;
  /** This partition's own report at the current window's barrier, and its clock then. */
  let mine: BarrierReport = { nextPs: Infinity, earliestSendPs: Infinity, minSentTo: [] };
  let clock = { sinceCheckpointMs: 0, checkpointCostMs: 0 };

  /** Runs the current window's events, at most SLICE_EVENTS at a time; true when it is done. */
  const runSlice = (): boolean => {
    const t0 = performance.now();
    part.runUntil(endPs, SLICE_EVENTS);
    stats.busyMs += performance.now() - t0;
    if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) sayProgress();
    return part.nextEventTime() >= endPs;
  };
  const sayProgress = () => {
    lastProgress = Date.now();
    publish(subjects.progress(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "progress", from: me, window, simulatedPs: part.engine.nowPs });
  };

  /** Ends the current window here: its batches and barrier report go out in one step message. */
  const sendStep = (): void => {
    stats.windows++;
    const sent = new Array<number>(P).fill(0);
    const batches: StepMessage["batches"] = [];
    const out = part.takeBatches();
    for (const b of out) {
      const n = b.events.length / 8;
      sent[b.to] = n;
      if (n === 0) continue;
      batches.push({ to: b.to, count: n, events: b.events, tasks: b.tasks, objects: b.objects });
      stats.batchesSent++;
      stats.eventsSent += n;
    }
    mine = { nextPs: part.nextEventTime(), earliestSendPs: part.earliestSendPs(), minSentTo: minSentTo(out, P) };
    clock = { sinceCheckpointMs: Date.now() - checkpointAt, checkpointCostMs };
    publish(ownSubject, {
      v: PROTOCOL_VERSION,
      run: job.run,
      kind: "step",
      epoch,
      window,
      from: me,
      nextPs: orNull(mine.nextPs),
      earliestSendPs: orNull(mine.earliestSendPs),
      minSentTo: mine.minSentTo.map(orNull),
      sent,
      batches,
      sinceCheckpointMs: clock.sinceCheckpointMs,
      checkpointCostMs: clock.checkpointCostMs,
    });
    current = window;
  };
  const haveAllSteps = () => (steps.get(window)?.size ?? 0) === P - 1;
  const missingSteps = () => {
    const have = steps.get(window);
    const missing = [];
    for (let p = 0; p < P; p++) if (p !== me && have?.has(p) !== true) missing.push(p);
    return `window ${window}: the step messages of partition(s) ${missing.join(", ")}`;
  };

  /**
   * Closes the current window with every partition's step message: delivers the batches for
   * this partition (checking each against its sender's count), sets the next window's end and
   * saves a checkpoint if one is due. False when the run is over.
   */
  const closeWindow = (): boolean => {
    const all = steps.get(window) as Map<number, StepMessage>;
    steps.delete(window);
    const reports: BarrierReport[] = [];
    let since = clock.sinceCheckpointMs;
    let cost = clock.checkpointCostMs;
    for (let from = 0; from < P; from++) {
      if (from === me) {
        reports.push(mine);
        continue;
      }
      const m = all.get(from) as StepMessage;
      since = Math.max(since, m.sinceCheckpointMs);
      cost = Math.max(cost, m.checkpointCostMs);
      reports.push({ nextPs: orInfinity(m.nextPs), earliestSendPs: orInfinity(m.earliestSendPs), minSentTo: m.minSentTo.map(orInfinity) });
      deliverFrom(m);
    }
    const next = nextWindow(reports, lookahead);
    if (next === null) return false;
    endPs = next.endPs;
    if (every > 0 ? (window + 1) % every === 0 : everyMs > 0 && since >= Math.max(everyMs, 20 * cost)) saveCheckpoint(window);
    return true;
  };
  const deliverFrom = (m: StepMessage) => {
    // At most one batch per destination (decodeMessage checks).
    let batch: StepMessage["batches"][number] | undefined;
    for (const b of m.batches) if (b.to === me) batch = b;
    const got = batch?.count ?? 0;
    if (got !== m.sent[me]) {
      throw new CountMismatchError(`window ${window}: partition ${m.from} reports sending ${m.sent[me]} events to ${me}, its batch holds ${got}`, window, m.from, me);
    }
    if (batch !== undefined) part.deliver({ from: m.from, to: me, events: batch.events, tasks: batch.tasks, objects: batch.objects });
  };

  /** Runs windows from `window` to the end of the run, then sends the report. */
  const runWindows = async (): Promise<void> => {
    lastProgress = Date.now();
    const loopStart = performance.now();
    for (; ; window++) {
      // Long windows run in slices so the process stays responsive (job locks, signals, NATS pings).
      while (!runSlice()) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (nextStart !== null) throw new RollbackSignal();
      }
      sendStep();
      await until(haveAllSteps, missingSteps);
      if (!closeWindow()) break;
    }
    stats.loopMs += performance.now() - loopStart;
    await sendReport();
  };
  const sendReport = async () => {
    const report: Message = { v: PROTOCOL_VERSION, run: job.run, kind: "report", epoch, from: me, report: part.report() as never, runner: { ...stats } };
    await saving;
    if (store !== undefined) await store.saveReport(job.run, me, JSON.stringify(report));
    publish(subjects.report(job.prefix), report);
    await transport.flush();
  };

  /** Saves the state after window `w`'s barrier; the store's write goes on while the run does. */
  const saveCheckpoint = (w: number) => {
    const t0 = Date.now();
    const bytes = packCheckpoint(endPs, encodeCheckpoint(part));
    checkpointAt = Date.now();
    checkpointCostMs = checkpointAt - t0;
    const e = epoch;
    stats.checkpoints++;
    saving = saving.then(() =>
      (store as CheckpointStore).save(job.run, e, w, me, P, bytes).then(
        (r) => {
          if (r === "complete") log(`${who}: checkpoint of window ${w} complete (${bytes.byteLength} bytes here)`);
        },
        (err: Error) => log(`${who}: could not save the checkpoint of window ${w}: ${err.message}`),
      ),
    );
  };

  try {
    // Subscriptions must be in effect at the server before anyone may send to them.
    await transport.flush();
    // Listening now, so a finish sent after this check is heard.
    if (store !== undefined && (await store.finished(job.run))) {
      log(`${who}: the run had finished before this incarnation started; leaving`);
      return stats;
    }
    sayReady(null);
    for (;;) {
      try {
        await until(
          () => nextStart !== null || finished,
          () => "the coordinator's start",
        );
      } catch (e) {
        if (!(e instanceof RollbackSignal)) throw e;
      }
      if (finished && nextStart === null) {
        log(`${who}: the run finished without this incarnation`);
        return stats;
      }
      const s = takeStart();
      if (store !== undefined && (await store.incarnation(job.run, me)) !== incarnation) {
        log(`${who}: a newer incarnation of partition ${me} took over; leaving`);
        return stats;
      }
      if (epoch >= 0) {
        stats.rollbacks++;
        log(`${who}: epoch ${s.epoch}: rolling back to ${s.window < 0 ? "the beginning" : `checkpoint ${s.window}`}`);
      }
      await saving;
      parts.clear();
      await restore(s);
      checkpointAt = Date.now();
      epoch = s.epoch;
      finished = false;
      reconnected = false;
      broken = false;
      mismatched = null;
      steps.clear();
      current = window;
      lastFrom.fill(window - 1);
      const held = early;
      early = [];
      for (const m of held) {
        try {
          onStep(m);
        } catch (e) {
          mismatch(e as Error);
        }
      }
      sayReady(epoch);
      try {
        // Nothing of this epoch goes out before every partition listens again (after a dropped
        // connection, one that has not resubscribed yet would miss it).
        await until(
          () => go >= epoch,
          () => `the coordinator's go for epoch ${epoch}`,
        );
        await runWindows();
        try {
          await until(
            () => finished,
            () => "the coordinator's finish",
          );
        } catch (e) {
          if (!(e instanceof RunAbortedError) || failure !== null) throw e;
          log(`${who}: no finish from the coordinator; leaving (${store === undefined ? "the report was sent" : "the report is saved"})`);
        }
        return stats;
      } catch (e) {
        if (!(e instanceof RollbackSignal)) throw e;
      }
    }
  } catch (e) {
    const message = (e as Error).message;
    try {
      publish(subjects.failure(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "failure", from: me, incarnation, message: message.slice(0, 4000) });
      await transport.flush();
    } catch {
      // The transport itself failed; the coordinator will time out and report it.
    }
    throw e;
  } finally {
    wakeup.close();
    stepSub.unsubscribe();
    controlSub.unsubscribe();
    stopWatching();
  }
}
