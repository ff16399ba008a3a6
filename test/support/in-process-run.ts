import { coordinateRun } from "../../coordinator/distributed.ts";
import { newRunId, runPrefix } from "../../coordinator/run-id.ts";
import type { ResolvedSpec } from "../../shared/spec/resolve.ts";
import { runPartition, type PartitionJob, type RunnerStats } from "../../worker/partition-runner.ts";
import { MemoryBus } from "../../worker/transport/memory.ts";
import type { Transport } from "../../worker/transport/transport.ts";
import { decodeMessage, type StepMessage } from "../../shared/messages.ts";

/**
 * A distributed run with every partition and the coordinator on this thread's event loop,
 * over an in-memory bus; `wrap` may put a fault-injecting transport around a partition's.
 */
export async function runInProcess(
  spec: ResolvedSpec,
  runIndex: number,
  partitions: number,
  options: { wrap?: (t: Transport, partition: number) => Transport; timeoutMs?: number; onStarted?: (job: Omit<PartitionJob, "partition">, bus: MemoryBus) => void } = {},
) {
  const bus = new MemoryBus();
  const run = newRunId();
  const job: Omit<PartitionJob, "partition"> = { run, prefix: runPrefix(run), spec, runIndex, partitions };
  const runners: Array<Promise<RunnerStats>> = [];
  const coordinator = bus.connect();
  const logs: string[] = [];
  try {
    const out = await coordinateRun(coordinator, job, { timeoutMs: options.timeoutMs ?? 20_000 }, () => {
      for (let p = 0; p < partitions; p++) {
        const t = options.wrap ? options.wrap(bus.connect(), p) : bus.connect();
        const r = runPartition(t, { ...job, partition: p }, { timeoutMs: options.timeoutMs ?? 20_000, log: (l) => logs.push(l) });
        r.catch(() => {});
        runners.push(r);
      }
      options.onStarted?.(job, bus);
    });
    const runnerStats = await Promise.all(runners);
    return { ...out, runnerStats, logs };
  } finally {
    await coordinator.close();
  }
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
 * what is sent instead (nothing, the message twice, a changed one). Every other message passes.
 */
export function faultOnFirstStep(
  partition: number,
  fault: (step: StepMessage, data: Uint8Array, send: (d: Uint8Array) => void) => void,
): { wrap: (t: Transport, p: number) => Transport; fired: () => boolean } {
  let fired = false;
  const wrap = (t: Transport, p: number) =>
    p !== partition
      ? t
      : interceptPublish(t, (_subject, data, send) => {
          const d = decodeMessage(data);
          if (!fired && d.ok && d.message.kind === "step" && d.message.batches.length > 0) {
            fired = true;
            fault(d.message, data, send);
            return;
          }
          send(data);
        });
  return { wrap, fired: () => fired };
}
