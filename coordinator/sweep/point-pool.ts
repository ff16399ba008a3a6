import { Worker } from "node:worker_threads";
import { SpecError } from "../../shared/engine/errors.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import type { ResolvedSpec } from "../../shared/spec/resolve.ts";
import type { PointDocument } from "./point-run.ts";
import type { PointReply, PointRequest } from "./point-thread.ts";

const THREAD_ENTRY = new URL("./point-thread.mjs", import.meta.url);

/** A point's thread died (crashed, ran out of memory, was terminated) before it answered: worth a retry. */
export class PointThreadDiedError extends Error {
  override readonly name = "PointThreadDiedError";
}

/** A simulation that threw in a point thread: deterministic, so a retry would fail the same way. */
export class PointRunError extends Error {
  override readonly name = "PointRunError";
}

type Work = { doc: PointDocument } | { spec: ResolvedSpec; runIndex: number };

interface Task {
  work: Work;
  /** Hears the simulated time of a configuration as it runs (runConfig only). */
  onProgress?: (simulatedPs: number) => void;
  resolve(r: RunResult): void;
  reject(e: Error): void;
}

interface Thread {
  worker: Worker;
  task: (Task & { id: number }) | null;
}

/**
 * Runs points in up to `size` worker threads, one point per thread at a time, so the event
 * loop of the process that asked stays free (progress, BullMQ locks, NATS). Threads are started
 * on demand and kept for the next point. Results cross as JSON, as they do through Redis, so an
 * embedded sweep and a cluster sweep hold the same values.
 */
export class PointPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a point pool needs at least one thread, not ${size}`);
  }

  run(doc: PointDocument): Promise<RunResult> {
    return this.submit({ doc });
  }

  /** Runs configuration `runIndex` of a resolved spec (what `refsim run` runs in process); `onProgress` hears its simulated time. */
  runConfig(spec: ResolvedSpec, runIndex: number, onProgress?: (simulatedPs: number) => void): Promise<RunResult> {
    return this.submit({ spec, runIndex }, onProgress);
  }

  private submit(work: Work, onProgress?: (simulatedPs: number) => void): Promise<RunResult> {
    if (this.closed) return Promise.reject(new Error("the point pool is closed"));
    return new Promise<RunResult>((resolve, reject) => {
      this.queue.push({ work, onProgress, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let thread = this.threads.find((t) => t.task === null);
      if (thread === undefined) {
        if (this.threads.length >= this.size) return;
        thread = this.startThread();
      }
      const task = this.queue.shift() as Task;
      const id = this.nextId++;
      thread.task = { ...task, id };
      // A thread takes messages once its module has loaded; posting earlier queues them.
      thread.worker.postMessage({ id, ...task.work } satisfies PointRequest);
    }
  }

  private startThread(): Thread {
    const worker = new Worker(THREAD_ENTRY);
    const thread: Thread = { worker, task: null };
    worker.on("message", (m: PointReply) => {
      const task = thread.task;
      if (task === null || task.id !== m.id) return;
      if ("progress" in m) {
        task.onProgress?.(m.progress);
        return;
      }
      thread.task = null;
      if (m.ok) task.resolve(JSON.parse(m.json) as RunResult);
      else if (m.name === "SpecError") task.reject(new SpecError("", m.message));
      else task.reject(new PointRunError(m.name === "Error" ? m.message : `${m.name}: ${m.message}`));
      this.dispatch();
    });
    const died = (why: string) => {
      const i = this.threads.indexOf(thread);
      if (i >= 0) this.threads.splice(i, 1);
      const task = thread.task;
      thread.task = null;
      task?.reject(new PointThreadDiedError(`the point's thread ${why}`));
      if (!this.closed) this.dispatch();
    };
    worker.on("error", (e) => died(`crashed: ${e.message}`));
    worker.on("exit", (code) => died(`exited with code ${code}`));
    this.threads.push(thread);
    return thread;
  }

  /** Stops every thread; points still queued or running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new Error("the point pool was closed"));
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
    this.threads.length = 0;
  }
}
