import { Machine } from "../shared/machine/machine.ts";
import {
  barrierSchema,
  batchMessage,
  batchOf,
  decodeMessage,
  encodeMessageParts,
  PartReassembler,
  PROTOCOL_VERSION,
  type Decoded,
  type BatchMessage,
  type Message,
  type WindowMessage,
} from "../shared/messages.ts";
import { Partition } from "../shared/partition.ts";
import { fromCpuOwners, socketAligned, type Ownership } from "../shared/partitioning.ts";
import { planRuns, type ResolvedSpec } from "../shared/spec/resolve.ts";
import type { z } from "zod";
import type { Transport } from "./transport/transport.ts";

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

export function jobOwnership(job: PartitionJob, machine: Machine): Ownership {
  return job.cpuOwners !== undefined ? fromCpuOwners(machine, job.cpuOwners, job.partitions) : socketAligned(machine, job.partitions);
}

/** Subjects of a run. */
export const subjects = {
  control: (prefix: string) => `${prefix}.ctl`,
  inbox: (prefix: string, partition: number) => `${prefix}.p${partition}`,
  ready: (prefix: string) => `${prefix}.ready`,
  barrier: (prefix: string) => `${prefix}.barrier`,
  report: (prefix: string) => `${prefix}.report`,
  failure: (prefix: string) => `${prefix}.failure`,
};

/** A lost or duplicated batch, or one out of order: the run must stop. */
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

/** The coordinator said to stop, or went silent. */
export class RunAbortedError extends Error {
  override readonly name = "RunAbortedError";
}

export interface RunnerOptions {
  /** How long to wait for the coordinator's next command before giving up, ms. */
  timeoutMs?: number;
  /** How long a batch may lag behind the command that says it was sent before it counts as lost, ms. */
  missingBatchGraceMs?: number;
  log?: (line: string) => void;
}

export interface RunnerStats {
  windows: number;
  rejected: number;
  /** Wall time spent simulating (the rest is waiting at barriers and messaging), ms. */
  busyMs: number;
  batchesSent: number;
  messagesSent: number;
  bytesSent: number;
}

/**
 * Runs one partition of a distributed run over a transport: waits for window commands, runs
 * each window, sends its batches and its barrier report, and at the end its partition report.
 * Malformed messages are rejected and logged; a lost or duplicated batch stops the run.
 */
export async function runPartition(transport: Transport, job: PartitionJob, options: RunnerOptions = {}): Promise<RunnerStats> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const missingBatchGraceMs = options.missingBatchGraceMs ?? 5_000;
  const log = options.log ?? (() => {});
  const config = planRuns(job.spec)[job.runIndex];
  if (config === undefined) throw new Error(`run index ${job.runIndex} is outside the spec's ${planRuns(job.spec).length} runs`);
  const machine = new Machine(config.machine, config.cpuCount);
  const own = jobOwnership(job, machine);
  const me = job.partition;
  const P = job.partitions;
  const part = new Partition(config, own, me);
  const stats: RunnerStats = { windows: 0, rejected: 0, busyMs: 0, batchesSent: 0, messagesSent: 0, bytesSent: 0 };

  // Every partition sends every other one exactly one batch per window (seq = the window), so
  // a receiver knows what to wait for; the coordinator's counts then check what each carried.
  const received = new Map<number, Float64Array>();
  /** Events received from each partition in windows already checked (what barriers report). */
  const receivedChecked = new Float64Array(P);
  const nextWindowFrom = new Float64Array(P);
  let failure: Error | null = null;
  const controls: Message[] = [];
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  const onBatch = (m: BatchMessage) => {
    if (m.to !== me) throw new CountMismatchError(`window ${m.window}: batch from ${m.from} for partition ${m.to} arrived at ${me}`, m.window, m.from, m.to);
    if (m.from === me || m.from >= P) throw new CountMismatchError(`window ${m.window}: batch claims to come from partition ${m.from}`, m.window, m.from, me);
    if (m.seq !== m.window) throw new CountMismatchError(`window ${m.window}: batch from ${m.from} numbered ${m.seq}`, m.window, m.from, me);
    if (m.window < nextWindowFrom[m.from]) throw new CountMismatchError(`window ${m.window}: duplicate batch from partition ${m.from} to ${me}`, m.window, m.from, me);
    if (m.window > nextWindowFrom[m.from]) {
      throw new CountMismatchError(`window ${nextWindowFrom[m.from]}: the batch from partition ${m.from} to ${me} is missing (window ${m.window}'s came first)`, nextWindowFrom[m.from], m.from, me);
    }
    nextWindowFrom[m.from]++;
    part.deliver(batchOf(m));
    let perWindow = received.get(m.window);
    if (perWindow === undefined) received.set(m.window, (perWindow = new Float64Array(P)));
    perWindow[m.from] += m.count;
  };

  const parts = new PartReassembler();
  /** Decodes a message, reassembling parts; null while a message is still incomplete. */
  const decode = (data: Uint8Array): Decoded | null => {
    const d = decodeMessage(data, job.run);
    return d.ok && d.message.kind === "part" ? parts.add(d.message, job.run) : d;
  };

  const inbox = transport.subscribe(subjects.inbox(job.prefix, me), (msg) => {
    if (failure !== null) return;
    const d = decode(msg.data);
    if (d === null) return;
    if (!d.ok || d.message.kind !== "batch") {
      stats.rejected++;
      log(`partition ${me}: rejected a message on ${msg.subject}: ${d.ok ? `unexpected kind ${d.message.kind}` : d.reason}`);
      return;
    }
    try {
      onBatch(d.message);
    } catch (e) {
      failure = e as Error;
    }
    poke();
  });
  const control = transport.subscribe(subjects.control(job.prefix), (msg) => {
    const d = decode(msg.data);
    if (d === null) return;
    if (!d.ok || !["window", "finish", "abort"].includes(d.message.kind)) {
      stats.rejected++;
      log(`partition ${me}: rejected a message on ${msg.subject}: ${d.ok ? `unexpected kind ${d.message.kind}` : d.reason}`);
      return;
    }
    controls.push(d.message);
    poke();
  });

  let partIds = 0;
  const publish = (subject: string, m: Message) => {
    for (const data of encodeMessageParts(m, transport.maxPayloadBytes, `p${me}-${partIds++}`)) {
      stats.bytesSent += data.byteLength;
      stats.messagesSent++;
      transport.publish(subject, data);
    }
  };

  /** Waits until `ready()` holds, a failure happens, or `limitMs` passes (then `onTimeout` decides the error). */
  const until = async (ready: () => boolean, what: () => string, limitMs = timeoutMs, onTimeout?: () => Error): Promise<void> => {
    const deadline = Date.now() + limitMs;
    while (!ready()) {
      if (failure !== null) throw failure;
      const left = deadline - Date.now();
      if (left <= 0) throw onTimeout?.() ?? new RunAbortedError(`partition ${me}: timed out after ${limitMs} ms waiting for ${what()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    if (failure !== null) throw failure;
  };

  /**
   * Waits for every sender's batch of `window`, then checks its count against what the sender
   * reported. Each sender published its batch before its barrier report, and the coordinator
   * sent this window's command only after every report, so a batch still missing after a short
   * grace period was lost: a counts error, not a slow peer.
   */
  const awaitWindow = async (window: number, expect: readonly number[]) => {
    const missing = () => {
      const out = [];
      for (let from = 0; from < P; from++) if (from !== me && nextWindowFrom[from] <= window) out.push(from);
      return out;
    };
    await until(
      () => missing().length === 0,
      () => `window ${window}: the batches from partition(s) ${missing().join(", ")}`,
      missingBatchGraceMs,
      () => {
        const from = missing()[0];
        return new CountMismatchError(
          `window ${window}: the batch from partition ${from} to ${me} never arrived (it reported sending ${expect[from * P + me]} events)`,
          window,
          from,
          me,
        );
      },
    );
    const got = received.get(window) ?? new Float64Array(P);
    for (let from = 0; from < P; from++) {
      if (from === me) continue;
      const want = expect[from * P + me];
      if (got[from] !== want) {
        throw new CountMismatchError(`window ${window}: partition ${me} received ${got[from]} events from ${from}, which reports sending ${want}`, window, from, me);
      }
      receivedChecked[from] += got[from];
    }
    received.delete(window);
  };

  try {
    // Subscriptions must be in effect at the server before anyone may send to them.
    await transport.flush();
    publish(subjects.ready(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "ready", from: me });
    let started = false;
    for (;;) {
      await until(() => controls.length > 0, () => "the coordinator's next command");
      const cmd = controls.shift() as Message;
      if (cmd.kind === "abort") throw new RunAbortedError(`partition ${me}: the coordinator aborted the run: ${cmd.reason}`);
      if (cmd.kind === "finish") {
        publish(subjects.report(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "report", from: me, report: part.report() as never, runner: { ...stats } });
        await transport.flush();
        return stats;
      }
      const w = cmd as WindowMessage;
      if (w.window > 0) await awaitWindow(w.window - 1, w.expect);
      if (!started) {
        part.start();
        started = true;
      }
      // Long windows run in slices so the process stays responsive (job locks, signals, NATS pings).
      for (;;) {
        const t0 = performance.now();
        part.runUntil(w.endPs, SLICE_EVENTS);
        stats.busyMs += performance.now() - t0;
        if (part.nextEventTime() >= w.endPs) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      stats.windows++;
      const sent = new Array<number>(P).fill(0);
      let minSent = Infinity;
      for (const b of part.takeBatches()) {
        sent[b.to] = b.events.length / 8;
        for (let i = 0; i < b.events.length; i += 8) if (b.events[i] < minSent) minSent = b.events[i];
        publish(subjects.inbox(job.prefix, b.to), batchMessage(job.run, w.window, w.window, b));
        stats.batchesSent++;
      }
      const next = part.nextEventTime();
      const barrier: z.infer<typeof barrierSchema> = {
        v: PROTOCOL_VERSION,
        run: job.run,
        kind: "barrier",
        window: w.window,
        from: me,
        nextPs: next === Infinity ? null : next,
        minSentPs: minSent === Infinity ? null : minSent,
        sent,
        received: Array.from(receivedChecked),
      };
      publish(subjects.barrier(job.prefix), barrier);
    }
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
    inbox.unsubscribe();
    control.unsubscribe();
  }
}
