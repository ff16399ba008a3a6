import { MessageChannel, Worker } from "node:worker_threads";
import type { RunResult } from "../shared/metrics/result.ts";
import type { ResolvedSpec } from "../shared/spec/resolve.ts";
import type { PartitionJob } from "../worker/partition-runner.ts";
import { bridgePort } from "../worker/threads/hub.ts";
import { MemoryBus } from "../worker/transport/memory.ts";
import { coordinateRun, type DistributedStats } from "./distributed.ts";
import { newRunId, newRunSecret, runPrefix } from "./run-id.ts";

const THREAD_ENTRY = new URL("../worker/threads/bootstrap.mjs", import.meta.url);

/**
 * Runs one configuration of a spec split over `workers` worker threads, with the same protocol
 * as a cluster run: the threads and this coordinator talk over an in-memory bus.
 */
export async function runInThreads(
  spec: ResolvedSpec,
  runIndex: number,
  workers: number,
  options: { timeoutMs?: number; cpuOwners?: number[]; log?: (line: string) => void; onProgress?: (p: { window: number; simulatedPs: number }) => void } = {},
): Promise<{ result: RunResult; stats: DistributedStats }> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const run = newRunId();
  const job: Omit<PartitionJob, "partition"> = { run, prefix: runPrefix(run), secret: newRunSecret(), spec, runIndex, partitions: workers, cpuOwners: options.cpuOwners };
  const bus = new MemoryBus();
  const closers: Array<() => Promise<void>> = [];
  const threads: Worker[] = [];
  const finished: Array<Promise<void>> = [];
  const startThreads = () => {
    for (let partition = 0; partition < workers; partition++) {
      const { port1, port2 } = new MessageChannel();
      const connection = bus.connect();
      closers.push(bridgePort(port1, connection));
      const thread = new Worker(THREAD_ENTRY, {
        workerData: { job: { ...job, partition }, port: port2, timeoutMs, maxPayloadBytes: connection.maxPayloadBytes },
        transferList: [port2],
      });
      threads.push(thread);
      finished.push(
        new Promise<void>((resolve, reject) => {
          thread.on("message", (m: { kind: string; line?: string; message?: string }) => {
            if (m.kind === "log") options.log?.(m.line ?? "");
            else if (m.kind === "done") resolve();
            else if (m.kind === "failed") reject(new Error(`worker thread ${partition}: ${m.message}`));
          });
          thread.on("error", (e) => reject(new Error(`worker thread ${partition} crashed: ${e.message}`)));
          thread.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker thread ${partition} exited with code ${code}`))));
        }),
      );
    }
  };
  const coordinator = bus.connect();
  closers.push(() => coordinator.close());
  try {
    // A thread that fails early must fail the run at once, not after the coordinator's timeout.
    let failFast: (e: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => (failFast = reject));
    const run = coordinateRun(coordinator, job, { timeoutMs, log: options.log, onProgress: options.onProgress }, () => {
      startThreads();
      Promise.all(finished).catch((e: Error) => failFast(e));
    });
    const out = await Promise.race([run, failed]);
    await Promise.all(finished);
    return out;
  } finally {
    for (const t of threads) await t.terminate();
    for (const close of closers) await close().catch(() => {});
  }
}
