import { Machine } from "../machine/machine.ts";
import { AWAITING_SAMPLES } from "../metrics/awaiting-free.ts";
import { RECLAIM_PERIOD_PS } from "../protocol/reclaim.ts";
import type { RunConfig } from "./resolve.ts";

/**
 * A run's projected memory, before it starts: what its state will hold at its largest. Measured
 * on Node 20 with this model (heap plus array buffers after a full GC; see the README's memory
 * model): about 16 KB per CPU (its caches' maps, kernel state, statistics and its first task)
 * and 32 KB more for its latency histograms (57 B a bucket; buckets follow the latencies'
 * spread, not their number: 270 per CPU after 93,000 container-churn operations, the most
 * measured, and still growing slowly as rarer latencies come), and about 1 KB per object set up
 * before the run (its record, its lines in a directory and a cache). Under linux-6 freed memory
 * is reused, so objects stay bounded by the live ones plus the slab lists, and nothing else
 * grows per operation. The count of namespaces awaiting their free (percpu, sloppy, refcache)
 * keeps at most one net change per CPU per sampling slot (metrics/awaiting-free.ts: 1,025 slots
 * of two numbers, 16.4 KB a CPU at most, and 16 B per change until then) and one entry per piece
 * of memory. Under `kernel: refcounts-only` every new object takes fresh memory that is never
 * reused, 1.4 KB per object created (measured: 880 B in fork-storm, 1.3-1.4 KB in
 * container-churn), and per-CPU counters (percpu, sloppy, refcache) that destroy namespaces add
 * each dead object's per-CPU lines (50 B per CPU per operation, the most measured); but an exited
 * task's or a freed object's memory is reclaimed one to two reclaim periods after its end
 * (protocol/reclaim.ts), so a run holds only what the last two periods retired: fork-storm at 512
 * CPUs of numa-4096 holds 9 MB after 10 ms and after 40 ms (162 MB after 10 ms before exited
 * tasks were reclaimed).
 */
export const BYTES_PER_CPU = 16 * 1024;
export const HISTOGRAM_BYTES_PER_CPU = 32 * 1024;
export const BYTES_PER_SETUP_OBJECT = 1024;
/** A CPU's awaiting-free slots: a slot and its delta, 8 B each, one pair per change until every slot is used. */
export const AWAITING_BYTES_PER_CHANGE = 16;
export const AWAITING_BYTES_PER_CPU = (AWAITING_SAMPLES + 1) * AWAITING_BYTES_PER_CHANGE;
export const FRESH_BYTES_PER_OBJECT = 1400;
export const DEAD_PERCPU_BYTES_PER_CPU_OP = 50;

export interface MemoryEstimate {
  bytes: number;
  /** The operations the run is projected to complete (the whole duration, every CPU). */
  operations: number;
  setupObjects: number;
}

/**
 * The projected memory of one run in one process holding `1 / partitions` of its CPUs (set-up
 * objects are held by every partition). Operations are projected from the workload's mix: the
 * CPU time of each operation's fixed cost and the think time around it, as if every CPU were
 * always busy with its tasks' operations (lock waits and line transfers only make a run slower,
 * so this errs on the large side).
 */
export function estimateMemory(config: RunConfig, partitions = 1): MemoryEstimate {
  const w = config.workload;
  const c = config.costs;
  const m = w.mix;
  const localAtomicPs = new Machine(config.machine, config.cpuCount).costs.localAtomicPs;
  const nsCreatePs = c.nsCreatePs.reduce((a, b) => a + b, 0);
  const forkCycle = c.forkPs + w.childWorkPs + c.exitPs;
  const newKinds = popCount(w.forkNewKinds);
  // [weight, CPU time of one pick, operations it completes, objects it creates (at most, tasks too)]
  const picks: Array<[number, number, number, number]> = [
    [m.fork, forkCycle + w.thinkPs, 2, 1 + newKinds + (newKinds > 0 ? 1 : 0)],
    [m.access, c.accessPs + w.thinkPs, 1, 0],
    [m.unshare, c.unsharePs + w.thinkPs, 1, 2],
    [m.setns, c.setnsPs + w.thinkPs, 1, 1],
    [m.migrate, c.migratePs + w.thinkPs, 1, 0],
    // The container, its bundle, a namespace of each kind and its tasks.
    [m.churn, c.containerCreatePs + nsCreatePs + w.churnTasks * forkCycle + c.containerDestroyPs + w.thinkPs, 2 + 2 * w.churnTasks, 2 + config.kinds.length + w.churnTasks],
    [m.hotInc, localAtomicPs + w.thinkPs, 1, 0],
    [m.localInc ?? 0, localAtomicPs + w.thinkPs, 1, 0],
    [m.getPut ?? 0, 2 * localAtomicPs + w.thinkPs, 1, 0],
  ];
  let timePs = 0;
  let ops = 0;
  let objects = 0;
  for (const [weight, ps, n, created] of picks) {
    timePs += weight * Math.max(ps, 1);
    ops += weight * n;
    objects += weight * created;
  }
  const perOpTime = timePs > 0 ? (config.durationPs * config.cpuCount) / timePs : 0;
  const operations = Math.ceil(ops * perOpTime);
  const levels = w.containers.nesting + 1;
  const setupObjects = w.containers.count * levels * (config.kinds.length + 2) + config.cpuCount * w.tasksPerCpu;
  const destroys = m.churn > 0 || m.unshare > 0 || w.forkNewKinds !== 0;
  const s = config.scheme;
  const perCpuCounter = s === "percpu" || s === "sloppy" || s === "refcache";
  // Each operation makes at most one change of the awaiting-free count (a destroyed namespace's
  // kill or free): bounded by the slots per CPU.
  let grows = destroys && perCpuCounter ? config.cpuCount * Math.min(AWAITING_BYTES_PER_CPU, (AWAITING_BYTES_PER_CHANGE * operations) / config.cpuCount) : 0;
  if (config.kernel === "refcounts-only") {
    // What the last two reclaim periods retired is still held (the most at any time).
    const heldPs = Math.min(config.durationPs, 2 * RECLAIM_PERIOD_PS);
    const perHeld = timePs > 0 ? (heldPs * config.cpuCount) / timePs : 0;
    grows += FRESH_BYTES_PER_OBJECT * Math.ceil(objects * perHeld);
    if (destroys && perCpuCounter) grows += DEAD_PERCPU_BYTES_PER_CPU_OP * config.cpuCount * Math.ceil(ops * perHeld);
  }
  const share = 1 / Math.max(1, partitions);
  const bytes = (BYTES_PER_CPU + HISTOGRAM_BYTES_PER_CPU) * config.cpuCount * share + BYTES_PER_SETUP_OBJECT * setupObjects + grows * share;
  return { bytes, operations, setupObjects };
}

function popCount(mask: number): number {
  let n = 0;
  for (let v = mask; v > 0; v = Math.floor(v / 2)) n += v % 2;
  return n;
}

/**
 * The one line that refuses a run projected to need more than `limitBytes` in one process, or
 * null when it fits (the coordinator says it before a run starts, a worker before it takes a
 * partition).
 */
export function memoryRefusal(config: RunConfig, partitions: number, limitBytes: number, duration: string): string | null {
  const e = estimateMemory(config, partitions);
  if (e.bytes <= limitBytes) return null;
  const what = `${config.scheme} at ${config.cpuCount} CPU${config.cpuCount === 1 ? "" : "s"}`;
  return `projected memory ${formatBytes(e.bytes)} for ${what} (${duration} simulated, about ${e.operations.toExponential(1)} operations) exceeds the limit of ${formatBytes(limitBytes)}: use fewer CPUs, split each run with --workers, or raise --memory-limit`;
}

/** A byte count as people read it: 1.5 GiB, 300 MiB. */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `${Math.ceil(n / 1024)} KiB`;
}

/** Parses a size such as "4GiB", "512MiB", "2GB" or a byte count; NaN when it is not one. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?\s*$/i.exec(text);
  if (m === null) return NaN;
  const unit = (m[2] ?? "b").toLowerCase();
  const scale: Record<string, number> = { b: 1, kb: 1e3, kib: 2 ** 10, mb: 1e6, mib: 2 ** 20, gb: 1e9, gib: 2 ** 30, tb: 1e12, tib: 2 ** 40 };
  return Math.round(Number(m[1]) * scale[unit]);
}
