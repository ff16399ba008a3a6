import { coordinateRun } from "../../coordinator/distributed.ts";
import { newRunId, newRunSecret, runPrefix } from "../../coordinator/run-id.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import type { ResolvedSpec } from "../../shared/spec/resolve.ts";
import { runPartition, type PartitionJob, type RunnerStats } from "../../worker/partition-runner.ts";
import { MemoryBus } from "../../worker/transport/memory.ts";
import type { Transport } from "../../worker/transport/transport.ts";
import { decodeMessage, type StepMessage } from "../../shared/protocol/messages.ts";
import { RunSeal, sealedPayload } from "../../shared/protocol/seal.ts";
import type { CheckpointStore } from "../../worker/checkpoint-store.ts";

export interface InProcessOptions {
  /** Puts a fault-injecting transport around a partition's (each incarnation's). */
  wrap?: (t: Transport, partition: number, incarnation: number, restart: (p: number) => void, job: Omit<PartitionJob, "partition">) => Transport;
  timeoutMs?: number;
  onStarted?: (job: Omit<PartitionJob, "partition">, bus: MemoryBus) => void;
  /** The run's checkpoint store (none: rollbacks go to the beginning). */
  store?: CheckpointStore;
  checkpointEvery?: number;
  checkpointSeconds?: number;
  /** The coordinator's persist (CoordinateOptions.persist). */
  persist?: (result: RunResult) => Promise<void>;
}

/**
 * A distributed run with every partition and the coordinator on this thread's event loop,
 * over an in-memory bus; `wrap` may put a fault-injecting transport around a partition's.
 * `restart(p)` starts a new incarnation of partition p, as BullMQ does when a worker dies.
 */
export async function runInProcess(spec: ResolvedSpec, runIndex: number, partitions: number, options: InProcessOptions = {}) {
  const bus = new MemoryBus();
  const run = newRunId();
  const job: Omit<PartitionJob, "partition"> = { run, prefix: runPrefix(run), secret: newRunSecret(), spec, runIndex, partitions, checkpointEvery: options.checkpointEvery, checkpointSeconds: options.checkpointSeconds };
  /** Each runner, and its transport's close (a "dead worker's" runner is not waited for). */
  const runners: Array<{ done: Promise<RunnerStats>; closed: Promise<unknown> }> = [];
  const coordinator = bus.connect();
  const logs: string[] = [];
  const incarnations = new Array<number>(partitions).fill(0);
  const start = (p: number): void => {
    const incarnation = ++incarnations[p];
    const t = options.wrap ? options.wrap(bus.connect(), p, incarnation, start, job) : bus.connect();
    const r = runPartition(t, { ...job, partition: p }, { timeoutMs: options.timeoutMs ?? 20_000, log: (l) => logs.push(l), store: options.store, incarnation });
    r.catch(() => {});
    runners.push({ done: r, closed: t.closed });
  };
  try {
    const out = await coordinateRun(coordinator, job, { timeoutMs: options.timeoutMs ?? 20_000, store: options.store, log: (l) => logs.push(l), persist: options.persist }, () => {
      for (let p = 0; p < partitions; p++) start(p);
      options.onStarted?.(job, bus);
    });
    // A partition whose "worker died" (its transport closed) would wait out its timeout: not for that.
    const runnerStats: RunnerStats[] = [];
    await Promise.allSettled(runners.map((r) => Promise.race([r.done.then((s) => runnerStats.push(s)), r.closed])));
    return { ...out, runnerStats, logs, run };
  } finally {
    await coordinator.close();
  }
}

/**
 * A partition whose worker dies without a word at its step message of window `atWindow` (its
 * transport closes: nothing more goes out or comes in); `restartAfterMs` later a new
 * incarnation of it starts, as when BullMQ hands a stalled job to another worker.
 */
export function dieAtWindow(
  partition: number,
  atWindow: number,
  restartAfterMs = 50,
): { wrap: NonNullable<InProcessOptions["wrap"]>; died: () => boolean } {
  let died = false;
  const wrap = (t: Transport, p: number, incarnation: number, restart: (p: number) => void) =>
    p !== partition || incarnation > 1
      ? t
      : interceptPublish(t, (_subject, data, send) => {
          if (died) return;
          const d = decodeMessage(sealedPayload(data));
          if (d.ok && d.message.kind === "step" && d.message.window === atWindow) {
            died = true;
            void t.close();
            setTimeout(() => restart(p), restartAfterMs);
            return;
          }
          send(data);
        });
  return { wrap, died: () => died };
}

/** A transport that passes everything through except what `intercept` changes. */
export function interceptPublish(inner: Transport, intercept: (subject: string, data: Uint8Array, send: (d: Uint8Array) => void) => void): Transport {
  return {
    name: `intercepted-${inner.name}`,
    maxPayloadBytes: inner.maxPayloadBytes,
    publish: (subject, data) => intercept(subject, data, (d) => inner.publish(subject, d)),
    subscribe: (subject, handler) => inner.subscribe(subject, handler),
    request: (subject, data, timeoutMs) => inner.request(subject, data, timeoutMs),
    flush: () => inner.flush(),
    drain: () => inner.drain(),
    close: () => inner.close(),
    closed: inner.closed,
    onReconnect: (listener) => inner.onReconnect(listener),
  };
}

/**
 * A fault on partition `partition`'s first step message that carries events: `fault` decides
 * what is sent instead (nothing, the message twice, a changed one: `seal` gives a changed one
 * the run's MAC, as a partition would). Every other message passes.
 */
export function faultOnFirstStep(
  partition: number,
  fault: (step: StepMessage, data: Uint8Array, send: (d: Uint8Array) => void, seal: (payload: Uint8Array) => Uint8Array) => void,
): { wrap: NonNullable<InProcessOptions["wrap"]>; fired: () => boolean } {
  let fired = false;
  const wrap: NonNullable<InProcessOptions["wrap"]> = (t, p, _incarnation, _restart, job) =>
    p !== partition
      ? t
      : interceptPublish(t, (subject, data, send) => {
          const d = decodeMessage(sealedPayload(data));
          if (!fired && d.ok && d.message.kind === "step" && d.message.batches.length > 0) {
            fired = true;
            fault(d.message, data, send, (payload) => new RunSeal(job.secret).seal(subject, payload));
            return;
          }
          send(data);
        });
  return { wrap, fired: () => fired };
}

/**
 * Partition `partition`'s connection "drops" at its step message of window `atWindow`: the
 * message is lost and the transport reports a reconnect, as after a NATS server restart.
 */
export function loseAndReconnect(partition: number, atWindow: number): { wrap: NonNullable<InProcessOptions["wrap"]>; fired: () => boolean } {
  let fired = false;
  const wrap = (t: Transport, p: number) => {
    if (p !== partition) return t;
    const listeners = new Set<() => void>();
    const inner = interceptPublish(t, (_subject, data, send) => {
      const d = decodeMessage(sealedPayload(data));
      if (!fired && d.ok && d.message.kind === "step" && d.message.window === atWindow) {
        fired = true;
        setTimeout(() => {
          for (const l of listeners) l();
        }, 20);
        return;
      }
      send(data);
    });
    return {
      ...inner,
      onReconnect: (l: () => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
  };
  return { wrap, fired: () => fired };
}
