import { Machine } from "../shared/machine/machine.ts";
import type { RunResult } from "../shared/metrics/result.ts";
import { decodeMessage, encodeMessage, PartReassembler, PROTOCOL_VERSION, reportOf, type Message } from "../shared/messages.ts";
import { lookaheadPs } from "../shared/partitioning.ts";
import { mergeReports, type PartitionReport } from "../shared/report.ts";
import { planRuns } from "../shared/spec/resolve.ts";
import { CountMismatchError, jobOwnership, RunAbortedError, subjects, type PartitionJob, type RunnerStats } from "../worker/partition-runner.ts";
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
 * Starts one distributed run over a transport and collects its outcome. It listens first, lets
 * the workers start, waits until every partition is ready, then starts the run; the partitions
 * run the windows among themselves (see runPartition) and each sends its report at the end.
 * Meanwhile partitions send a progress message about once a second; a partition's failure, or
 * silence from all of them for longer than the timeout, stops the run.
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
    partitionStats: [],
    coordinatorMessages: 0,
    coordinatorBytes: 0,
  };

  const inbox: Message[] = [];
  let lastHeard = Date.now();
  const wakeup = new Wakeup();
  const parts = new PartReassembler();
  const accept = (msg: { subject: string; data: Uint8Array }) => {
    lastHeard = Date.now();
    const raw = decodeMessage(msg.data, job.run);
    const d = raw.ok && raw.message.kind === "part" ? parts.add(raw.message, job.run) : raw;
    if (d === null) return;
    if (!d.ok) {
      stats.rejected++;
      log(`coordinator: rejected a message on ${msg.subject}: ${d.reason}`);
      return;
    }
    inbox.push(d.message);
    wakeup.notify();
  };
  const subs = [subjects.ready, subjects.report, subjects.failure].map((s) => transport.subscribe(s(job.prefix), accept));
  // Partitions' progress messages only keep the run alive (and could feed a progress bar).
  subs.push(transport.subscribe(subjects.progress(job.prefix), () => (lastHeard = Date.now())));
  const send = (m: Message) => {
    const data = encodeMessage(m);
    stats.coordinatorMessages++;
    stats.coordinatorBytes += data.byteLength;
    transport.publish(subjects.control(job.prefix), data);
  };

  /** Collects one message of `kind` from every partition; silence for timeoutMs is an error. */
  const collect = async <K extends "ready" | "report">(kind: K): Promise<Array<Extract<Message, { kind: K }>>> => {
    const got = new Array<Extract<Message, { kind: K }> | undefined>(P);
    let count = 0;
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
        if (from >= P) {
          stats.rejected++;
          log(`coordinator: ignored a ${kind} from partition ${from} of ${P}`);
          continue;
        }
        if (got[from] !== undefined) throw new CountMismatchError(`partition ${from} sent two ${kind} messages`, -1, from, -1);
        got[from] = m as Extract<Message, { kind: K }>;
        count++;
      }
      if (count === P) return got as Array<Extract<Message, { kind: K }>>;
      const left = lastHeard + timeoutMs - Date.now();
      if (left <= 0) {
        const missing = Array.from(got, (g, i) => (g === undefined ? i : -1)).filter((i) => i >= 0);
        throw new RunAbortedError(`no word from the run for ${timeoutMs} ms while waiting for ${kind} from partition(s) ${missing.join(", ")}`);
      }
      await wakeup.sleep(Math.min(left, 1000));
    }
  };

  try {
    // Listen first (and make sure the server knows), then let the workers start.
    await transport.flush();
    await startWorkers();
    await collect("ready");
    send({ v: PROTOCOL_VERSION, run: job.run, kind: "start", partitions: P });
    const reports = await collect("report");
    const result = mergeReports(config, reports.map((r) => reportOf(r) as PartitionReport));
    stats.partitionStats = reports.map((r) => r.runner);
    stats.windows = Math.max(0, ...stats.partitionStats.map((r) => r.windows));
    stats.crossEvents = stats.partitionStats.reduce((s, r) => s + r.eventsSent, 0);
    stats.wallMs = performance.now() - started;
    return { result, stats };
  } catch (e) {
    send({ v: PROTOCOL_VERSION, run: job.run, kind: "abort", reason: (e as Error).message.slice(0, 2000) });
    throw e;
  } finally {
    for (const s of subs) s.unsubscribe();
  }
}
