import { Machine } from "../shared/machine/machine.ts";
import {
  decodeMessage,
  encodeMessageParts,
  PartReassembler,
  PROTOCOL_VERSION,
  type Decoded,
  type Message,
  type StepMessage,
} from "../shared/messages.ts";
import { Partition } from "../shared/partition.ts";
import { fromCpuOwners, lookaheadPs, socketAligned, type Ownership } from "../shared/partitioning.ts";
import { planRuns, type ResolvedSpec } from "../shared/spec/resolve.ts";
import { minSentTo, nextWindow, type BarrierReport } from "../shared/windowed.ts";
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
}

export function jobOwnership(job: Pick<PartitionJob, "cpuOwners" | "partitions">, machine: Machine): Ownership {
  return job.cpuOwners !== undefined ? fromCpuOwners(machine, job.cpuOwners, job.partitions) : socketAligned(machine, job.partitions);
}

/** Subjects of a run. */
export const subjects = {
  /** The coordinator's start and abort. */
  control: (prefix: string) => `${prefix}.ctl`,
  /** Every partition's step message, every window (all partitions listen). */
  steps: (prefix: string) => `${prefix}.step`,
  ready: (prefix: string) => `${prefix}.ready`,
  progress: (prefix: string) => `${prefix}.progress`,
  report: (prefix: string) => `${prefix}.report`,
  failure: (prefix: string) => `${prefix}.failure`,
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

export interface RunnerOptions {
  /** How long to wait for the start, or for a peer's step message, before giving up, ms. */
  timeoutMs?: number;
  log?: (line: string) => void;
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
}

/**
 * Runs one partition of a distributed run over a transport, with conservative synchronous
 * windows. At the end of each window the partition broadcasts one step message: its next event
 * time, the earliest event it sent to another partition, its counts, and its batches. Once it
 * has every other partition's step message for the window it delivers the batches addressed to
 * it, and starts the next window at the earliest time any partition reported, for the static
 * lookahead; every partition computes the same window from the same messages. When no partition
 * has anything left, it sends its report to the coordinator.
 *
 * A step message that is missing (a later one from the same sender came first), duplicated, or
 * whose batch disagrees with its counts stops the run with a CountMismatchError naming the
 * window and the partitions. A malformed message is rejected, logged and counted.
 */
export async function runPartition(transport: Transport, job: PartitionJob, options: RunnerOptions = {}): Promise<RunnerStats> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const log = options.log ?? (() => {});
  const plan = planRuns(job.spec);
  const config = plan[job.runIndex];
  if (config === undefined) throw new Error(`run index ${job.runIndex} is outside the spec's ${plan.length} runs`);
  const machine = new Machine(config.machine, config.cpuCount);
  const own = jobOwnership(job, machine);
  const me = job.partition;
  const P = job.partitions;
  const lookahead = lookaheadPs(machine, own);
  const part = new Partition(config, own, me);
  const stats: RunnerStats = { windows: 0, rejected: 0, busyMs: 0, batchesSent: 0, eventsSent: 0, messagesSent: 0, bytesSent: 0 };

  let failure: Error | null = null;
  let started = false;
  /** Step messages by window, then by sender (a later window's may come early from a fast peer). */
  const steps = new Map<number, Map<number, StepMessage>>();
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
    log(`partition ${me}: rejected a message on ${subject}: ${reason}`);
  };

  const onStep = (m: StepMessage) => {
    if (m.from === me) return;
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

  const stepSub = transport.subscribe(subjects.steps(job.prefix), (msg) => {
    if (failure !== null) return;
    const d = decode(msg.data);
    if (d === null) return;
    if (!d.ok) return reject(msg.subject, d.reason);
    if (d.message.kind !== "step") return reject(msg.subject, `unexpected kind ${d.message.kind}`);
    try {
      onStep(d.message);
    } catch (e) {
      failure = e as Error;
    }
    wakeup.notify();
  });
  const controlSub = transport.subscribe(subjects.control(job.prefix), (msg) => {
    const d = decode(msg.data);
    if (d === null) return;
    if (!d.ok) return reject(msg.subject, d.reason);
    if (d.message.kind === "start") {
      if (d.message.partitions !== P) return reject(msg.subject, `start for ${d.message.partitions} partitions, this run has ${P}`);
      started = true;
    } else if (d.message.kind === "abort") {
      failure ??= new RunAbortedError(`partition ${me}: the coordinator aborted the run: ${d.message.reason}`);
    } else return reject(msg.subject, `unexpected kind ${d.message.kind}`);
    wakeup.notify();
  });

  let partIds = 0;
  const publish = (subject: string, m: Message) => {
    for (const data of encodeMessageParts(m, transport.maxPayloadBytes, `p${me}-${partIds++}`)) {
      stats.bytesSent += data.byteLength;
      stats.messagesSent++;
      transport.publish(subject, data);
    }
  };

  /** Waits until `ready()` holds or a failure happens, at most `timeoutMs`. */
  const until = async (ready: () => boolean, what: () => string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (failure !== null) throw failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new RunAbortedError(`partition ${me}: timed out after ${timeoutMs} ms waiting for ${what()}`);
      await wakeup.sleep(left);
    }
    if (failure !== null) throw failure;
  };

  try {
    // Subscriptions must be in effect at the server before anyone may send to them.
    await transport.flush();
    publish(subjects.ready(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "ready", from: me });
    await until(() => started, () => "the coordinator's start");
    part.start();
    let endPs = 0;
    let lastProgress = Date.now();
    for (let window = 0; ; window++) {
      if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = Date.now();
        publish(subjects.progress(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "progress", from: me, window, simulatedPs: part.engine.nowPs });
      }
      // Long windows run in slices so the process stays responsive (job locks, signals, NATS pings).
      for (;;) {
        const t0 = performance.now();
        part.runUntil(endPs, SLICE_EVENTS);
        stats.busyMs += performance.now() - t0;
        if (part.nextEventTime() >= endPs) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
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
      const mineReport: BarrierReport = { nextPs: part.nextEventTime(), earliestSendPs: part.earliestSendPs(), minSentTo: minSentTo(out, P) };
      const mine: StepMessage = {
        v: PROTOCOL_VERSION,
        run: job.run,
        kind: "step",
        window,
        from: me,
        nextPs: orNull(mineReport.nextPs),
        earliestSendPs: orNull(mineReport.earliestSendPs),
        minSentTo: mineReport.minSentTo.map(orNull),
        sent,
        batches,
      };
      publish(subjects.steps(job.prefix), mine);
      current = window;
      await until(
        () => (steps.get(window)?.size ?? 0) === P - 1,
        () => {
          const have = steps.get(window);
          const missing = [];
          for (let p = 0; p < P; p++) if (p !== me && have?.has(p) !== true) missing.push(p);
          return `window ${window}: the step messages of partition(s) ${missing.join(", ")}`;
        },
      );
      const all = steps.get(window) as Map<number, StepMessage>;
      steps.delete(window);
      const reports: BarrierReport[] = [];
      for (let from = 0; from < P; from++) {
        if (from === me) {
          reports.push(mineReport);
          continue;
        }
        const m = all.get(from) as StepMessage;
        reports.push({ nextPs: orInfinity(m.nextPs), earliestSendPs: orInfinity(m.earliestSendPs), minSentTo: m.minSentTo.map(orInfinity) });
        const batch = m.batches.find((b) => b.to === me);
        const got = batch?.count ?? 0;
        if (got !== m.sent[me]) {
          throw new CountMismatchError(`window ${window}: partition ${from} reports sending ${m.sent[me]} events to ${me}, its batch holds ${got}`, window, from, me);
        }
        part.deliver({ from, to: me, events: batch?.events ?? [], tasks: batch?.tasks ?? [], objects: batch?.objects ?? [] });
      }
      const next = nextWindow(reports, lookahead);
      if (next === null) break;
      endPs = next.endPs;
    }
    publish(subjects.report(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "report", from: me, report: part.report() as never, runner: { ...stats } });
    await transport.flush();
    return stats;
  } catch (e) {
    const message = (e as Error).message;
    try {
      publish(subjects.failure(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "failure", from: me, message });
      await transport.flush();
    } catch {
      // The transport itself failed; the coordinator will time out and report it.
    }
    throw e;
  } finally {
    stepSub.unsubscribe();
    controlSub.unsubscribe();
  }
}
