import { Machine } from "../shared/machine/machine.ts";
import type { RunResult } from "../shared/metrics/result.ts";
import { decodeMessage, encodeMessage, PartReassembler, PROTOCOL_VERSION, reportOf, type BarrierMessage, type Message } from "../shared/messages.ts";
import { lookaheadPs } from "../shared/partitioning.ts";
import { mergeReports, type PartitionReport } from "../shared/report.ts";
import { planRuns } from "../shared/spec/resolve.ts";
import { CountMismatchError, jobOwnership, RunAbortedError, subjects, type PartitionJob, type RunnerStats } from "../worker/partition-runner.ts";
import type { Transport } from "../worker/transport/transport.ts";

/** How a distributed run went (not part of the result: it depends on the partition). */
export interface DistributedStats {
  partitions: number;
  windows: number;
  lookaheadPs: number;
  wallMs: number;
  /** Events that crossed partitions, and the bytes of every message the coordinator saw. */
  crossEvents: number;
  rejected: number;
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
}

/**
 * Drives one distributed run over a transport: waits until every partition is ready, then runs
 * conservative windows. Each window starts at the earliest pending event anywhere (workers'
 * next local events and the events they just sent each other) and ends one static lookahead
 * later. The barrier reports' counts are cross-checked: what each partition has received must
 * equal what the others sent it, or the run stops with an error naming the window and workers.
 */
export async function coordinateRun(
  transport: Transport,
  job: Omit<PartitionJob, "partition">,
  options: CoordinateOptions = {},
  startWorkers: () => void | Promise<void> = () => {},
): Promise<{ result: RunResult; stats: DistributedStats }> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const log = options.log ?? (() => {});
  const config = planRuns(job.spec)[job.runIndex];
  const machine = new Machine(config.machine, config.cpuCount);
  const own = jobOwnership({ ...job, partition: 0 }, machine);
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
    partitionStats: [],
    coordinatorMessages: 0,
    coordinatorBytes: 0,
  };

  const inbox: Message[] = [];
  let wake: (() => void) | null = null;
  const parts = new PartReassembler();
  const accept = (msg: { subject: string; data: Uint8Array }) => {
    const raw = decodeMessage(msg.data, job.run);
    const d = raw.ok && raw.message.kind === "part" ? parts.add(raw.message, job.run) : raw;
    if (d === null) return;
    if (!d.ok) {
      stats.rejected++;
      log(`coordinator: rejected a message on ${msg.subject}: ${d.reason}`);
      return;
    }
    inbox.push(d.message);
    const w = wake;
    wake = null;
    w?.();
  };
  const subs = [subjects.ready, subjects.barrier, subjects.report, subjects.failure].map((s) => transport.subscribe(s(job.prefix), accept));
  const send = (m: Message) => {
    const data = encodeMessage(m);
    stats.coordinatorMessages++;
    stats.coordinatorBytes += data.byteLength;
    transport.publish(subjects.control(job.prefix), data);
  };

  /** Collects one message of `kind` from every partition (for `window`, if given). */
  const collect = async <K extends Message["kind"]>(kind: K, window?: number): Promise<Array<Extract<Message, { kind: K }>>> => {
    const got = new Array<Extract<Message, { kind: K }> | undefined>(P);
    let count = 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (inbox.length > 0) {
        const m = inbox.shift() as Message;
        if (m.kind === "failure") throw new RunAbortedError(`partition ${m.from} failed: ${m.message}`);
        if (m.kind !== kind) {
          stats.rejected++;
          log(`coordinator: ignored an unexpected ${m.kind} message while waiting for ${kind}`);
          continue;
        }
        const from = (m as { from: number }).from;
        if (from >= P || (window !== undefined && (m as { window: number }).window !== window)) {
          stats.rejected++;
          log(`coordinator: ignored a ${kind} from partition ${from} for another window`);
          continue;
        }
        if (got[from] !== undefined) throw new CountMismatchError(`window ${window ?? "-"}: partition ${from} sent two ${kind} messages`, window ?? -1, from, -1);
        got[from] = m as Extract<Message, { kind: K }>;
        count++;
      }
      if (count === P) return got as Array<Extract<Message, { kind: K }>>;
      const left = deadline - Date.now();
      if (left <= 0) {
        const missing = Array.from(got, (g, i) => (g === undefined ? i : -1)).filter((i) => i >= 0);
        throw new RunAbortedError(`timed out after ${timeoutMs} ms waiting for ${kind}${window === undefined ? "" : ` of window ${window}`} from partition(s) ${missing.join(", ")}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  };

  try {
    // Listen first (and make sure the server knows), then let the workers start.
    await transport.flush();
    await startWorkers();
    await collect("ready");
    const sentTotal = new Float64Array(P * P);
    let window = 0;
    let endPs = 0;
    let expect = new Array<number>(P * P).fill(0);
    for (;;) {
      send({ v: PROTOCOL_VERSION, run: job.run, kind: "window", window, endPs, expect });
      const barriers = (await collect("barrier", window)) as BarrierMessage[];
      stats.windows++;
      // Everything sent before this window must have arrived; this window's batches are checked by their receivers.
      for (const b of barriers) {
        for (let from = 0; from < P; from++) {
          if (from === b.from) continue;
          if (b.received[from] !== sentTotal[from * P + b.from]) {
            throw new CountMismatchError(
              `window ${window}: partition ${b.from} has received ${b.received[from]} events from partition ${from}, which sent ${sentTotal[from * P + b.from]} before this window`,
              window,
              from,
              b.from,
            );
          }
        }
      }
      let next = Infinity;
      expect = new Array<number>(P * P).fill(0);
      for (const b of barriers) {
        if (b.nextPs !== null && b.nextPs < next) next = b.nextPs;
        if (b.minSentPs !== null && b.minSentPs < next) next = b.minSentPs;
        for (let to = 0; to < P; to++) {
          expect[b.from * P + to] = b.sent[to];
          sentTotal[b.from * P + to] += b.sent[to];
          stats.crossEvents += b.sent[to];
        }
      }
      window++;
      if (next === Infinity) break;
      // One partition has no lookahead: its window runs to the end.
      endPs = lookahead === Infinity ? Number.MAX_SAFE_INTEGER : next + lookahead;
    }
    // One more window with nothing to run delivers and checks the last batches.
    send({ v: PROTOCOL_VERSION, run: job.run, kind: "window", window, endPs, expect });
    await collect("barrier", window);
    send({ v: PROTOCOL_VERSION, run: job.run, kind: "finish" });
    const reports = await collect("report");
    const result = mergeReports(config, reports.map((r) => reportOf(r) as PartitionReport));
    stats.partitionStats = reports.map((r) => r.runner);
    stats.wallMs = performance.now() - started;
    return { result, stats };
  } catch (e) {
    send({ v: PROTOCOL_VERSION, run: job.run, kind: "abort", reason: (e as Error).message.slice(0, 2000) });
    throw e;
  } finally {
    for (const s of subs) s.unsubscribe();
  }
}
