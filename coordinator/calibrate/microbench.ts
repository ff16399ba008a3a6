import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { setTimeout as sleep } from "node:timers/promises";
import type { CpuPlace } from "./host-shape.ts";
import { classPairs, refsimOrder } from "./placement.ts";
import { combineTrials, pingPongNs, paddedPoint, sharedPoint, type CounterPoint, type ThreadBatches } from "./batch-stats.ts";

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
 * Node has no affinity call, but a worker thread knows its Linux thread id (/proc/thread-self),
 * and `taskset -p` pins a thread by its id: thread k goes to the host CPU that is refsim's CPU k
 * (when /proc/cpuinfo gives the layout), and the ping-pong runs once per distance class on a
 * pair of CPUs of that class. Without the layout or taskset, threads are not pinned.
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
  /** Threads were pinned: thread k to refsim's CPU k, the ping-pong pairs to CPUs of their class. */
  pinned: boolean;
  /** One-way line transfer latencies, ns (the median batch): per class when pinned, else one unpinned pair; none with one CPU. */
  pingPong: PingPong[];
  /** Trials per shared and padded point (each for the point's whole duration); the figure is the median trial's. */
  trials: number;
  /** The host's 1-minute load average before the first point ran. */
  loadAverageBefore: number;
  /** The host's 1-minute load average when the measurement ended: above the CPU count, the figures are a busy host's. */
  loadAverage: number;
  node: string;
}

export interface PingPong {
  cls: "smt" | "die" | "hop1" | "unpinned";
  /** The host CPUs of the pair, when pinned. */
  cpus: [number, number] | null;
  /** null when no batch completed (the two threads never ran at once). */
  oneWayNs: number | null;
}

export const PADDING_BYTES = 128;
const SLOT = PADDING_BYTES / 4;
const GO = 0;
const STOP = 16;
const SHARED_SLOT = 0;
const PING_SLOT = 1;
const paddedSlot = (thread: number) => 2 + thread;
const progressSlot = (thread: number) => 16 * (2 + thread);
/** Batches each thread should time before a point ends (else it runs longer, up to 10 times its duration). */
const MIN_BATCHES = 20;
/** Trials of each shared and padded point, run round-robin over the thread counts (a burst of load hits one trial, not all). */
export const TRIALS = 3;

type Answer = ThreadBatches & { ready?: boolean; warm?: boolean; tid?: string | null };

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

/** Pins a thread (by its Linux thread id) to one CPU, or to a list; false when taskset is missing or refuses. */
function pin(tid: string | null, cpus: string): boolean {
  if (tid === null) return false;
  const r = spawnSync("taskset", ["-pc", cpus, tid], { encoding: "utf8", timeout: 5000 });
  return r.status === 0;
}

export async function measureHost(o: { maxThreads: number; durationMs: number; places: CpuPlace[] | null }): Promise<HostMeasurements> {
  const counts = threadCounts(o.maxThreads);
  const loadAverageBefore = Math.round(loadavg()[0] * 100) / 100;
  // The go and stop words, then each thread's count of finished batches, 64 bytes apart.
  const control = new SharedArrayBuffer(64 * (2 + o.maxThreads));
  const counters = new SharedArrayBuffer(PADDING_BYTES * (2 + 2 * o.maxThreads));
  const ctl = new Int32Array(control);
  const ctr = new Int32Array(counters);
  const inboxes: ThreadInbox[] = [];
  for (let t = 0; t < o.maxThreads; t++) {
    const worker = new Worker(new URL("./counter-thread.mjs", import.meta.url), {
      workerData: { control, counters, warmIndex: paddedSlot(o.maxThreads + t) * SLOT, progressIndex: progressSlot(t) },
    });
    inboxes.push(new ThreadInbox(worker));
  }
  const patienceMs = o.durationMs + 20_000;
  // Nothing is measured until every thread has warmed up (else the first point shares the CPUs with warm-ups).
  const tids: Array<string | null> = [];
  for (const inbox of inboxes) tids.push((await inbox.next(patienceMs)).tid ?? null);
  // Thread k on the host CPU that is refsim's CPU k, when the host's layout is known and taskset works.
  const order = o.places !== null ? refsimOrder(o.places) : [];
  const pinAll = () => order.length >= o.maxThreads && tids.every((tid, t) => pin(tid, String(order[t])));
  let pinned = pinAll();
  if (!pinned && order.length > 0) tids.forEach((tid) => pin(tid, order.join(",")));
  let epoch = 0;
  /** Runs one experiment on the first jobs.length threads; returns their answers. */
  const run = async (jobs: Array<Record<string, number | string>>): Promise<Answer[]> => {
    epoch++;
    const mine = inboxes.slice(0, jobs.length);
    jobs.forEach((job, i) => mine[i].worker.postMessage({ ...job, epoch }));
    for (const inbox of mine) await inbox.next(patienceMs);
    mine.forEach((_, t) => Atomics.store(ctl, progressSlot(t), 0));
    Atomics.store(ctl, GO, epoch);
    // At least the duration; longer (up to 10 times) until every thread has timed MIN_BATCHES
    // batches: on a busy host a pinned thread may wait a while for its CPU.
    const wanted = jobs[0].kind === "ping" ? 3 * o.durationMs : o.durationMs;
    await sleep(wanted);
    for (let waited = wanted; waited < 10 * wanted && mine.some((_, t) => Atomics.load(ctl, progressSlot(t)) < MIN_BATCHES); waited += wanted / 4) {
      await sleep(wanted / 4);
    }
    Atomics.store(ctl, STOP, epoch);
    return Promise.all(mine.map((inbox) => inbox.next(patienceMs)));
  };
  try {
    const sharedTrials: CounterPoint[][] = counts.map(() => []);
    const paddedTrials: CounterPoint[][] = counts.map(() => []);
    for (let trial = 0; trial < TRIALS; trial++) {
      for (const [i, k] of counts.entries()) sharedTrials[i].push(sharedPoint(k, await run(Array.from({ length: k }, () => ({ kind: "add", index: SHARED_SLOT * SLOT })))));
      for (const [i, k] of counts.entries()) paddedTrials[i].push(paddedPoint(k, await run(Array.from({ length: k }, (_, t) => ({ kind: "add", index: paddedSlot(t) * SLOT })))));
    }
    const shared = sharedTrials.map(combineTrials);
    const padded = paddedTrials.map(combineTrials);
    const pingPong: PingPong[] = [];
    const ping = async () => {
      Atomics.store(ctr, PING_SLOT * SLOT, 0);
      const [a] = await run([
        { kind: "ping", index: PING_SLOT * SLOT, mine: 0, theirs: 1 },
        { kind: "ping", index: PING_SLOT * SLOT, mine: 1, theirs: 0 },
      ]);
      return pingPongNs(a);
    };
    if (o.maxThreads >= 2 && pinned && o.places !== null) {
      // One pair of CPUs per distance class the host has; then the threads go back to their own CPUs.
      for (const [cls, pair] of Object.entries(classPairs(o.places)) as Array<[PingPong["cls"], [number, number] | null]>) {
        if (pair !== null && pin(tids[0], String(pair[0])) && pin(tids[1], String(pair[1]))) pingPong.push({ cls, cpus: pair, oneWayNs: await ping() });
      }
      pinned = pinAll();
    } else if (o.maxThreads >= 2) {
      pingPong.push({ cls: "unpinned", cpus: null, oneWayNs: await ping() });
    }
    return {
      date: new Date().toISOString(),
      method:
        `Node ${process.version} worker_threads, Atomics on one SharedArrayBuffer, ${o.durationMs} ms per point and trial, ` +
        `${TRIALS} trials per shared and padded point (round-robin over the thread counts; the figure is the median trial's, the spread (max - min) / median beside it): ` +
        `batches of 1024 increments timed; shared = k threads Atomics.add on one Int32, the counter's rate = the median ` +
        `over batches during which the other threads added at least half their share, interleaved at least 4 times with the thread's own; padded = each thread Atomics.add on its own Int32, ` +
        `${PADDING_BYTES} bytes apart (own 64-byte line and own adjacent-line pair), each thread's median batch rate summed; ping-pong = 2 threads ` +
        `handing one Int32 over with compareExchange, one-way latency = half the median round trip of 16-round batches; ` +
        (pinned ? "thread k pinned (taskset) to the host CPU that is refsim's CPU k, each ping-pong to a pair of CPUs of its class" : "threads not pinned"),
      durationMsPerPoint: o.durationMs,
      paddingBytes: PADDING_BYTES,
      shared,
      padded,
      pinned,
      pingPong,
      trials: TRIALS,
      loadAverageBefore,
      loadAverage: Math.round(loadavg()[0] * 100) / 100,
      node: process.version,
    };
  } finally {
    Atomics.store(ctl, STOP, epoch);
    await Promise.all(inboxes.map((i) => i.worker.terminate()));
  }
}
