import { loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { setTimeout as sleep } from "node:timers/promises";
import { pingPongNs, paddedPoint, sharedPoint, type CounterPoint, type ThreadBatches } from "./batch-stats.ts";

/**
 * The host measurement of `refsim calibrate`: Node worker threads doing Atomics on one
 * SharedArrayBuffer. Three experiments, each run for `durationMs` of wall time:
 * - shared: k threads hammer ONE Int32 with Atomics.add (a LOCK XADD on x86, an LDADD or an
 *   LL/SC loop on ARM), so the line moves between their caches on every increment;
 * - padded: each of k threads does Atomics.add on its own counter, 128 bytes from any other
 *   (two 64-byte lines: each counter alone on its line AND on its 128-byte pair of lines, which
 *   Intel's adjacent-line prefetcher fetches together), so no line moves;
 * - ping-pong: two threads hand one Int32 back and forth with compareExchange (the method of
 *   nviennot/core-to-core-latency): half a round trip is the one-way latency of a line transfer
 *   between the two CPUs the scheduler put them on.
 * Threads are not pinned (Node has no affinity call); with as many threads as CPUs and nothing
 * else running, Linux spreads them over separate CPUs, physical cores first.
 */
export interface HostMeasurements {
  /** ISO date and time of the measurement. */
  date: string;
  method: string;
  durationMsPerPoint: number;
  /** Bytes between two padded counters. */
  paddingBytes: number;
  shared: CounterPoint[];
  padded: CounterPoint[];
  /** One-way line transfer latency from the ping-pong, ns (the median batch); null with one CPU. */
  pingPongNs: number | null;
  /** The host's 1-minute load average when the measurement ended: above the CPU count, the figures are a busy host's. */
  loadAverage: number;
  node: string;
}

export const PADDING_BYTES = 128;
const SLOT = PADDING_BYTES / 4;
const GO = 0;
const STOP = 16;
const SHARED_SLOT = 0;
const PING_SLOT = 1;
const paddedSlot = (thread: number) => 2 + thread;

type Answer = ThreadBatches & { ready?: boolean; warm?: boolean };

/** Messages of one thread, in order, awaited one at a time; an error or exit rejects the wait. */
class ThreadInbox {
  private readonly queue: Answer[] = [];
  private waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(readonly worker: Worker) {
    worker.on("message", (m: Answer) => {
      if (this.waiting !== null) {
        this.waiting.resolve(m);
        this.waiting = null;
      } else this.queue.push(m);
    });
    const fail = (e: Error) => {
      this.failure = e;
      this.waiting?.reject(e);
      this.waiting = null;
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`a measuring thread exited (code ${code})`)));
  }

  next(timeoutMs: number): Promise<Answer> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`a measuring thread did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = {
        resolve: (a) => (clearTimeout(timer), resolve(a)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }
}

/** The thread counts measured: powers of two up to `max`, and `max` itself. */
export function threadCounts(max: number): number[] {
  const out: number[] = [];
  for (let n = 1; n < max; n *= 2) out.push(n);
  out.push(max);
  return out;
}

export async function measureHost(o: { maxThreads: number; durationMs: number }): Promise<HostMeasurements> {
  const counts = threadCounts(o.maxThreads);
  const control = new SharedArrayBuffer(PADDING_BYTES);
  const counters = new SharedArrayBuffer(PADDING_BYTES * (2 + 2 * o.maxThreads));
  const ctl = new Int32Array(control);
  const ctr = new Int32Array(counters);
  const inboxes: ThreadInbox[] = [];
  for (let t = 0; t < o.maxThreads; t++) {
    const worker = new Worker(new URL("./counter-thread.mjs", import.meta.url), {
      workerData: { control, counters, warmIndex: paddedSlot(o.maxThreads + t) * SLOT },
    });
    inboxes.push(new ThreadInbox(worker));
  }
  const patienceMs = o.durationMs + 20_000;
  // Nothing is measured until every thread has warmed up (else the first point shares the CPUs with warm-ups).
  for (const inbox of inboxes) await inbox.next(patienceMs);
  let epoch = 0;
  /** Runs one experiment on the first jobs.length threads; returns their answers. */
  const run = async (jobs: Array<Record<string, number | string>>): Promise<Answer[]> => {
    epoch++;
    const mine = inboxes.slice(0, jobs.length);
    jobs.forEach((job, i) => mine[i].worker.postMessage({ ...job, epoch }));
    for (const inbox of mine) await inbox.next(patienceMs);
    Atomics.store(ctl, GO, epoch);
    await sleep(jobs[0].kind === "ping" ? 3 * o.durationMs : o.durationMs);
    Atomics.store(ctl, STOP, epoch);
    return Promise.all(mine.map((inbox) => inbox.next(patienceMs)));
  };
  try {
    const shared: CounterPoint[] = [];
    const padded: CounterPoint[] = [];
    for (const k of counts) shared.push(sharedPoint(k, await run(Array.from({ length: k }, () => ({ kind: "add", index: SHARED_SLOT * SLOT })))));
    for (const k of counts) padded.push(paddedPoint(k, await run(Array.from({ length: k }, (_, t) => ({ kind: "add", index: paddedSlot(t) * SLOT })))));
    let oneWayNs: number | null = null;
    if (o.maxThreads >= 2) {
      Atomics.store(ctr, PING_SLOT * SLOT, 0);
      const [a] = await run([
        { kind: "ping", index: PING_SLOT * SLOT, mine: 0, theirs: 1 },
        { kind: "ping", index: PING_SLOT * SLOT, mine: 1, theirs: 0 },
      ]);
      oneWayNs = pingPongNs(a);
    }
    return {
      date: new Date().toISOString(),
      method:
        `Node ${process.version} worker_threads, Atomics on one SharedArrayBuffer, ${o.durationMs} ms per point: ` +
        `batches of 1024 increments timed; shared = k threads Atomics.add on one Int32, the counter's rate = the median ` +
        `over batches during which the other threads added at least half their share; padded = each thread Atomics.add on its own Int32, ` +
        `${PADDING_BYTES} bytes apart (own 64-byte line and own adjacent-line pair), each thread's median batch rate summed; ping-pong = 2 threads ` +
        `handing one Int32 over with compareExchange, one-way latency = half the median round trip of 16-round batches; ` +
        `threads not pinned`,
      durationMsPerPoint: o.durationMs,
      paddingBytes: PADDING_BYTES,
      shared,
      padded,
      pingPongNs: oneWayNs,
      loadAverage: Math.round(loadavg()[0] * 100) / 100,
      node: process.version,
    };
  } finally {
    Atomics.store(ctl, STOP, epoch);
    await Promise.all(inboxes.map((i) => i.worker.terminate()));
  }
}
