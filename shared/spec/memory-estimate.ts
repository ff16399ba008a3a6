import { Machine } from "../machine/machine.ts";
import type { RunConfig } from "./resolve.ts";

/**
 * A run's projected memory, before it starts: what its state will hold at its largest. Measured
 * on Node 20 with this model (heap plus array buffers after a full GC; see the README's memory
 * model): about 16 KB per CPU (its caches' maps, kernel state, statistics and its first task),
 * about 1 KB per object set up before the run (its record, its lines in a directory and a cache),
 * and per operation of the run 16 B (its latency sample; the sample buffer grows by doubling).
 * Under `kernel: refcounts-only` every new object takes fresh memory that is never reused, so a
 * run grows by about 600 B per operation more (measured: fork-storm, 13,454 objects in 8.2 MB),
 * and per-CPU counters (percpu, sloppy, refcache) that destroy namespaces leave each dead
 * object's per-CPU lines behind (assumed 200 B per CPU per operation). Under linux-6 freed
 * memory is reused, so objects stay bounded by the live ones plus the slab lists.
 */
export const BYTES_PER_CPU = 16 * 1024;
export const BYTES_PER_SETUP_OBJECT = 1024;
export const BYTES_PER_OP = 16;
export const FRESH_BYTES_PER_OP = 600;
export const DEAD_PERCPU_BYTES_PER_CPU_OP = 200;

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
  // [weight, CPU time of one pick, operations it completes]
  const picks: Array<[number, number, number]> = [
    [m.fork, forkCycle + w.thinkPs, 2],
    [m.access, c.accessPs + w.thinkPs, 1],
    [m.unshare, c.unsharePs + w.thinkPs, 1],
    [m.setns, c.setnsPs + w.thinkPs, 1],
    [m.migrate, c.migratePs + w.thinkPs, 1],
    [m.churn, c.containerCreatePs + nsCreatePs + w.churnTasks * forkCycle + c.containerDestroyPs + w.thinkPs, 2 + 2 * w.churnTasks],
    [m.hotInc, localAtomicPs + w.thinkPs, 1],
    [m.localInc ?? 0, localAtomicPs + w.thinkPs, 1],
    [m.getPut ?? 0, 2 * localAtomicPs + w.thinkPs, 1],
  ];
  let timePs = 0;
  let ops = 0;
  for (const [weight, ps, n] of picks) {
    timePs += weight * Math.max(ps, 1);
    ops += weight * n;
  }
  const operations = timePs > 0 ? Math.ceil((ops / timePs) * config.durationPs * config.cpuCount) : 0;
  const levels = w.containers.nesting + 1;
  const setupObjects = w.containers.count * levels * (config.kinds.length + 2) + config.cpuCount * w.tasksPerCpu;
  let perOp = BYTES_PER_OP;
  if (config.kernel === "refcounts-only") {
    perOp += FRESH_BYTES_PER_OP;
    const destroys = m.churn > 0 || m.unshare > 0 || w.forkNewKinds !== 0;
    if (destroys && (config.scheme === "percpu" || config.scheme === "sloppy" || config.scheme === "refcache")) perOp += DEAD_PERCPU_BYTES_PER_CPU_OP * config.cpuCount;
  }
  const share = 1 / Math.max(1, partitions);
  const bytes = BYTES_PER_CPU * config.cpuCount * share + BYTES_PER_SETUP_OBJECT * setupObjects + perOp * operations * share;
  return { bytes, operations, setupObjects };
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
  return `projected memory ${formatBytes(e.bytes)} for ${what} (${duration} simulated, about ${e.operations.toExponential(1)} operations) exceeds the limit of ${formatBytes(limitBytes)}: shorten the duration, use fewer CPUs, split each run with --workers, or raise --memory-limit`;
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
