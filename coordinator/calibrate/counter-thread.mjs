// A measuring thread of `refsim calibrate` (plain JavaScript: it needs no TypeScript loader, and
// the hot loops must be nothing but the operation measured). The main thread (microbench.ts)
// posts one experiment at a time; the thread answers "ready", spins until the go word changes,
// runs until the stop word changes, and posts what it timed, batch by batch: on a busy host the
// scheduler takes threads off their CPUs, and only batch timings can tell the time a thread ran
// from the time it waited.
import { readlinkSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";

const { control, counters, progressIndex } = workerData;
const ctl = new Int32Array(control);
const ctr = new Int32Array(counters);
const GO = 0;
const STOP = 16; // the control words sit 64 bytes apart, so the stop poll does not share the go line
/** Increments per timed batch: the clock and the stop poll cost well under 1% of a batch. */
const BATCH = 1024;
/** Round trips per timed ping-pong batch. */
const ROUNDS = 16;
const MAX_BATCHES = 1 << 16;

/**
 * Atomics.add on one Int32 slot, back to back, until the stop word reads `epoch` (or `limit`
 * batches). Per batch: its duration (ms), how far the counter moved meanwhile, this thread's
 * increments included (a shared counter moves further when other threads ran during the batch),
 * and how often another thread's increment came between two of this thread's: each such time
 * the line left this CPU and came back, one transfer to it.
 */
function hammer(index, epoch, limit) {
  const ms = new Float64Array(Math.min(limit, MAX_BATCHES));
  const moved = new Float64Array(ms.length);
  const arrivals = new Float64Array(ms.length);
  let n = 0;
  while (n < ms.length && Atomics.load(ctl, STOP) !== epoch) {
    const t0 = performance.now();
    const first = Atomics.add(ctr, index, 1);
    let last = first;
    let back = 0;
    for (let i = 1; i < BATCH; i++) {
      const v = Atomics.add(ctr, index, 1);
      if (v !== ((last + 1) | 0)) back++;
      last = v;
    }
    ms[n] = performance.now() - t0;
    arrivals[n] = back;
    moved[n] = ((last - first) | 0) + 1;
    n++;
    Atomics.store(ctl, progressIndex, n);
  }
  return { batch: BATCH, ms: Array.from(ms.subarray(0, n)), moved: Array.from(moved.subarray(0, n)), arrivals: Array.from(arrivals.subarray(0, n)) };
}

/** One side of a ping-pong on one slot: CAS it from `mine` to `theirs` each time the other side has handed it back. */
function pingPong(index, mine, theirs, epoch) {
  const ms = [];
  let spins = 0;
  for (;;) {
    const t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      // Test, then test-and-set: spinning on a CAS would take the line from the other side while it waits.
      while (Atomics.load(ctr, index) !== mine) {
        if ((++spins & 4095) === 0 && Atomics.load(ctl, STOP) === epoch) return { batch: ROUNDS, ms, moved: [], arrivals: [] };
      }
      Atomics.compareExchange(ctr, index, mine, theirs);
    }
    if (ms.length < MAX_BATCHES) ms.push(performance.now() - t0);
    Atomics.store(ctl, progressIndex, ms.length);
    if (Atomics.load(ctl, STOP) === epoch) return { batch: ROUNDS, ms, moved: [], arrivals: [] };
  }
}

// Warm the loops up (the JIT optimises them) on a slot of this thread's own before any measurement.
hammer(workerData.warmIndex, -1, 500);
// The thread's Linux id ("<pid>/task/<tid>"), so the main thread can pin it to a CPU with taskset.
let tid = null;
try {
  tid = readlinkSync("/proc/thread-self").split("/").pop() ?? null;
} catch {
  // Not Linux: the thread stays unpinned.
}
parentPort.postMessage({ warm: true, tid });

parentPort.on("message", (job) => {
  parentPort.postMessage({ ready: true });
  while (Atomics.load(ctl, GO) !== job.epoch);
  const t0 = performance.now();
  const timed = job.kind === "add" ? hammer(job.index, job.epoch, Infinity) : pingPong(job.index, job.mine, job.theirs, job.epoch);
  parentPort.postMessage({ ...timed, wallMs: performance.now() - t0 });
});
