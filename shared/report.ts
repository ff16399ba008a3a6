import { HOP1, HOP2, PACKAGE, SMT, DIE } from "./machine/distance.ts";
import { SOURCE_NAMES } from "./coherence/source.ts";
import type { Task, Violation } from "./kernel/kernel.ts";
import { OBJ_GLOBAL, OBJ_NSPROXY, OBJ_TASK, type KObject } from "./kernel/objects.ts";
import { isCountedOp, OP_EXIT, OP_FORK, OP_KINDS, OP_KIND_COUNT, type OpKindName } from "./kernel/program.ts";
import { lockResults, lockViolations } from "./locks/lock-results.ts";
import { ATTR_LOCK_WAIT, latencyBreakdown } from "./metrics/attribution.ts";
import { mergeAwaiting } from "./metrics/awaiting-free.ts";
import { checkReferences } from "./metrics/invariants.ts";
import type { KernelPathResult, LatencySummary, RunResult, SourceCounts, TransferCounts, VarAccessResult } from "./metrics/result.ts";
import { LatencyHistogram, type HistogramReport } from "./metrics/latency-histogram.ts";
import { COUNTERS, SCHEMES } from "./schemes/index.ts";
import type { RunConfig } from "./spec/resolve.ts";

/** One CPU's share of a run's outcome. */
export interface CpuReport {
  id: number;
  opsByKind: number[];
  /** Latencies of the operations completed in the measured window, by kind (metrics/latency-histogram.ts). */
  latencyPsByKind: HistogramReport[];
  accessesBySource: number[];
  /** The accesses of `access` operations (per-container variables), by source. */
  varAccessesBySource: number[];
  varLinesTouched: number;
  atomicsBySource: number[];
  sharedAtomics: number;
  stallPs: number;
  busyPs: number;
  /** Lines the CPU holds at the end, flattened: line, value, ... */
  heldLines: number[];
  /** Net changes of the count of objects awaiting free by sampling slot, flattened: slot, delta, ... (metrics/awaiting-free.ts). */
  awaitingSlots: number[];
  /** Net change by object of that count, flattened: id, generation, net, ... */
  awaitingObjects: number[];
  freed: number[];
  switched: number[];
  /** The generation of each object in `switched` (absent in older reports: 0). */
  switchedGen?: number[];
  /** The CPU's free object lists (memory reuse), flattened id, generation, ... */
  freeMemory?: number[];
  refcacheDirty: number[];
  violations: Violation[];
  /** LOCK_STAT_FIELDS numbers per lock class (locks/lock-host.ts). */
  lockStats: number[];
  /** The line a spin still waits on at the end, or -1. */
  spinningOn: number;
  /** Operations in flight at the end of the measured window, completed in the drain. */
  drainedOps: number;
  /**
   * Where the latency of the operations completed in the measured window went: per operation
   * kind, picoseconds by time class (metrics/attribution.ts; a lock wait per lock class).
   */
  timeByOp: number[];
  /** Tasks whose programs still sleep (or were woken but never ran again) at the end. */
  asleep?: number[];
}

/** One home node's share. */
export interface HomeReport {
  node: number;
  transfersByClass: number[];
  dramLocal: number;
  dramRemote: number;
  invalidations: number;
  upgrades: number;
  queueWaitPs: number;
  /** Directory entries, flattened: line, holder (-1 = memory), memory value, ... */
  lines: number[];
  /** The node's partial lists (memory reuse), flattened id, generation, ... */
  freeMemory?: number[];
}

/** What one partition knows at the end of a run (plain data: it crosses processes as JSON). */
export interface PartitionReport {
  partition: number;
  cpus: CpuReport[];
  homes: HomeReport[];
  tasks: Task[];
  objects: KObject[];
  /** References the set-up containers hold (sent by partition 0). */
  containerHolds: number[];
  /** The first set-up container's top-level references (for memory per container). */
  firstContainerRoots: number[];
  /**
   * The kernel profile's lock classes (the same in every partition); word -1: one per object;
   * waitLock: the class of a qrwlock's wait_lock, else -1.
   */
  lockClasses: Array<{ name: string; kind: number; word: number; waitLock: number; head?: number }>;
  engineEvents: number;
  endPs: number;
}

/** sv6's refcache: 4096 cache slots per CPU of (object pointer, delta). */
const REFCACHE_SLOTS = 4096;
const REFCACHE_SLOT_BYTES = 16;

/**
 * Builds the run's result from every partition's report. One process or four, any partition:
 * the same reports in any order give the same result.
 */
export function mergeReports(config: RunConfig, reports: readonly PartitionReport[]): RunResult {
  const cpuCount = config.cpuCount;
  const cpus: CpuReport[] = new Array(cpuCount);
  const homes: HomeReport[] = [];
  for (const r of reports) {
    for (const c of r.cpus) cpus[c.id] = c;
    for (const h of r.homes) homes.push(h);
  }
  for (let i = 0; i < cpuCount; i++) if (cpus[i] === undefined) throw new Error(`no report for cpu ${i}`);
  homes.sort((a, b) => a.node - b.node);
  const measuredPs = config.durationPs - config.warmupPs;

  const operations: Partial<Record<OpKindName, number>> = {};
  const latency: Partial<Record<OpKindName, LatencySummary>> = {};
  let totalOps = 0;
  const latencySumPs = new Float64Array(OP_KIND_COUNT);
  for (let op = 0; op < OP_KIND_COUNT; op++) {
    if (!isCountedOp(op)) continue;
    const name = OP_KINDS[op];
    let count = 0;
    const merged = new LatencyHistogram();
    for (const c of cpus) {
      count += c.opsByKind[op];
      merged.add(c.latencyPsByKind[op]);
    }
    if (count === 0) continue;
    operations[name] = count;
    totalOps += count;
    latencySumPs[op] = merged.sum;
    latency[name] = {
      p50Ns: round3(merged.percentile(50) / 1000),
      p99Ns: round3(merged.percentile(99) / 1000),
      maxNs: round3(merged.max / 1000),
    };
  }

  const atomicsBySource = sumSources(cpus.map((c) => c.atomicsBySource));
  const accessesBySource = sumSources(cpus.map((c) => c.accessesBySource));
  const varAccessesBySource = sumSources(cpus.map((c) => c.varAccessesBySource));
  let atomicsTotal = 0;
  for (const v of Object.values(atomicsBySource)) atomicsTotal += v;
  let shared = 0;
  let stallPs = 0;
  let busyPs = 0;
  for (const c of cpus) {
    shared += c.sharedAtomics;
    stallPs += c.stallPs;
    busyPs += c.busyPs;
  }
  const transfers = { smt: 0, die: 0, package: 0, hop1: 0, hop2: 0, total: 0 };
  let dramLocal = 0;
  let dramRemote = 0;
  let invalidations = 0;
  let queueWaitPs = 0;
  for (const h of homes) {
    const t = h.transfersByClass;
    transfers.smt += t[SMT];
    transfers.die += t[DIE];
    transfers.package += t[PACKAGE];
    transfers.hop1 += t[HOP1];
    transfers.hop2 += t[HOP2];
    dramLocal += h.dramLocal;
    dramRemote += h.dramRemote;
    invalidations += h.invalidations;
    queueWaitPs += h.queueWaitPs;
  }
  transfers.total = transfers.smt + transfers.die + transfers.package + transfers.hop1 + transfers.hop2;

  // Final line values: the holder's copy, else memory.
  const held = new Map<number, number>();
  const heldByCpu: Array<Map<number, number>> = cpus.map((c) => {
    const m = new Map<number, number>();
    for (let i = 0; i < c.heldLines.length; i += 2) m.set(c.heldLines[i], c.heldLines[i + 1]);
    return m;
  });
  const memory = new Map<number, number>();
  for (const h of homes) {
    for (let i = 0; i < h.lines.length; i += 3) {
      const line = h.lines[i];
      const holder = h.lines[i + 1];
      if (holder >= 0) {
        const v = heldByCpu[holder].get(line);
        if (v === undefined) throw new Error(`line ${line} is recorded at cpu ${holder}, which does not hold it`);
        held.set(line, v);
      } else memory.set(line, h.lines[i + 2]);
    }
  }
  const value = (line: number) => held.get(line) ?? memory.get(line) ?? 0;

  // Each memory's newest record: with memory reuse a partition may hold a stale copy of an
  // earlier object that lived in it.
  const objects = new Map<number, KObject>();
  for (const r of reports) {
    for (const o of r.objects) {
      const had = objects.get(o.id);
      if (had === undefined || (had.gen ?? 0) < (o.gen ?? 0)) objects.set(o.id, o);
    }
  }
  const genOf = (id: number) => objects.get(id)?.gen ?? 0;
  const freed = new Set<number>();
  const switched = new Set<number>();
  const violations: Violation[] = [];
  // Memory on a free list holds no object: the object that lived there last was freed.
  const freeMemory = (list: readonly number[] | undefined) => {
    if (list !== undefined) for (let i = 0; i < list.length; i += 2) if (genOf(list[i]) === list[i + 1]) freed.add(list[i]);
  };
  for (const h of homes) freeMemory(h.freeMemory);
  for (const c of cpus) {
    freeMemory(c.freeMemory);
    for (const o of c.freed) freed.add(o);
    c.switched.forEach((o, i) => {
      if ((c.switchedGen?.[i] ?? 0) === genOf(o)) switched.add(o);
    });
    for (const v of c.violations) violations.push(v);
  }
  const awaiting = mergeAwaiting(cpus, genOf);
  const awaitingSet = awaiting.objects;
  // Refcache epochs stop at the duration, so a zero reached after the last flush still sits in a
  // CPU's unflushed delta; the next epoch would find it. Such an object awaits free, it is no leak.
  for (const c of cpus) for (const o of c.refcacheDirty) awaitingSet.add(o);

  const tasks: Task[] = [];
  for (const r of reports) for (const t of r.tasks) tasks.push(t);
  const first = reports.find((r) => r.partition === 0);
  const containerHolds = first?.containerHolds ?? [];
  const endPs = Math.max(...reports.map((r) => r.endPs));
  const referenceViolations = checkReferences(
    { objects: [...objects.values()].sort((a, b) => a.id - b.id), tasks, containerHolds, cpuCount, endPs },
    value,
    { freed, switched, awaiting: awaitingSet },
  );
  violations.sort((a, b) => a.timePs - b.timePs || a.cpu - b.cpu || a.obj - b.obj);
  const lockClasses = first?.lockClasses ?? [];
  const allViolations = [...violations, ...referenceViolations, ...lockViolations(lockClasses, cpus, value, endPs)];

  let liveObjects = 0;
  for (const o of objects.values()) if (o.type !== OBJ_TASK && o.type !== OBJ_GLOBAL && !freed.has(o.id)) liveObjects++;

  const scheme = SCHEMES[config.scheme];
  const seconds = measuredPs / 1e12;
  return {
    scheme: config.scheme,
    machine: config.machine.name,
    cpus: cpuCount,
    workload: config.workload.name,
    seed: config.seed,
    measuredPs,
    operations,
    totalOps,
    throughputOpsPerSec: round3(totalOps / seconds),
    latency,
    atomics: { total: atomicsTotal, shared, bySource: atomicsBySource },
    atomicsPerOp: perOp(atomicsTotal, totalOps),
    sharedAtomicsPerOp: perOp(shared, totalOps),
    accessesBySource,
    access: varAccessResult(operations.access ?? 0, cpus.reduce((s, c) => s + c.varLinesTouched, 0), varAccessesBySource),
    lineTransfers: transfers,
    lineTransferShare: transferShare(transfers),
    transfersPerOp: perOp(transfers.total, totalOps),
    dramFetches: { local: dramLocal, remote: dramRemote },
    invalidations,
    coherenceStallPs: stallPs,
    stallShare: busyPs + stallPs > 0 ? round6(stallPs / (busyPs + stallPs)) : 0,
    lineQueueWaitPs: queueWaitPs,
    memory: {
      bytesPerTask: scheme.bytesPerTask(config.kinds.length),
      refBytesPerContainer: refBytesPerContainer(objects, first?.firstContainerRoots ?? [], config),
      fixedBytes: config.scheme === "refcache" ? cpuCount * REFCACHE_SLOTS * REFCACHE_SLOT_BYTES : 0,
      liveObjectsAtEnd: liveObjects,
      awaitingFreePeak: awaiting.peak,
      awaitingFreeAtEnd: awaiting.atEnd,
    },
    scalingEfficiency: null,
    engineEvents: reports.reduce((s, r) => s + r.engineEvents, 0),
    invariants: { ok: allViolations.length === 0, violationCount: allViolations.length, violations: allViolations.slice(0, 20) },
    ...(config.kernel === "linux-6" ? { kernelPath: kernelPathResult(config.kernel, lockClasses, cpus, latencySumPs, operations, endPs - config.durationPs) } : {}),
  };
}

function kernelPathResult(
  profile: string,
  classes: PartitionReport["lockClasses"],
  cpus: readonly CpuReport[],
  latencySumPs: Float64Array,
  operations: Partial<Record<OpKindName, number>>,
  drainPs: number,
): KernelPathResult {
  let total = 0;
  for (let op = 0; op < OP_KIND_COUNT; op++) if (isCountedOp(op)) total += latencySumPs[op];
  // A wait_lock's wait is inside its rwlock's acquisition, and counted there.
  const lockNames = classes.map((c, i) => (classes.some((o) => o.waitLock === i) ? null : c.name));
  const timeClasses = ATTR_LOCK_WAIT + classes.length;
  const breakdown = (op: number) => {
    const classPs = new Float64Array(timeClasses);
    for (const c of cpus) for (let k = 0; k < timeClasses; k++) classPs[k] += c.timeByOp[op * timeClasses + k];
    return latencyBreakdown(classPs, lockNames, operations[OP_KINDS[op]] ?? 0, latencySumPs[op]);
  };
  const fork = breakdown(OP_FORK);
  const exit = breakdown(OP_EXIT);
  return {
    profile,
    locks: lockResults(classes, cpus, total),
    namespaceRefShare: { fork: fork.namespaceRefs, exit: exit.namespaceRefs },
    lockWaitShare: { fork: fork.lockWait, exit: exit.lockWait },
    latencyBreakdown: { fork, exit },
    drain: { operations: cpus.reduce((s, c) => s + c.drainedOps, 0), afterWindowNs: round3(Math.max(0, drainPs) / 1000) },
  };
}

/** Reference-count (and nsproxy bundle) bytes of one container's objects and what they hold. */
function refBytesPerContainer(objects: Map<number, KObject>, roots: readonly number[], config: RunConfig): number {
  const seen = new Set<number>();
  const stack = [...roots];
  let bytes = 0;
  while (stack.length > 0) {
    const id = stack.pop() as number;
    if (seen.has(id)) continue;
    seen.add(id);
    const o = objects.get(id);
    if (o === undefined) continue;
    const counter = COUNTERS[o.counter];
    if (counter !== null) bytes += counter.bytesPerObject(config.cpuCount);
    if (o.type === OBJ_NSPROXY) bytes += 8 * config.kinds.length;
    for (const h of o.holds) stack.push(h);
  }
  return bytes;
}

/**
 * Per `access` operation: distinct lines touched (counted when the operation completes), line
 * accesses, the accesses whose line came from another CPU's cache (a transfer) and those
 * fetched from memory. The accesses are counted as they happen in the window, the operations as
 * they complete in it: an operation straddling an edge of the window is a small edge effect.
 */
function varAccessResult(operations: number, lines: number, bySource: SourceCounts): VarAccessResult {
  let accesses = 0;
  for (const v of Object.values(bySource)) accesses += v;
  const transfers = bySource.smt + bySource.die + bySource.package + bySource.hop1 + bySource.hop2;
  const dram = bySource["dram-local"] + bySource["dram-remote"];
  return {
    operations,
    linesPerAccess: perOp(lines, operations),
    lineAccessesPerAccess: perOp(accesses, operations),
    transfersPerAccess: perOp(transfers, operations),
    dramPerAccess: perOp(dram, operations),
    bySource,
  };
}

function sumSources(arrays: ReadonlyArray<ArrayLike<number>>): SourceCounts {
  const out = Object.fromEntries(SOURCE_NAMES.map((n) => [n, 0])) as unknown as SourceCounts;
  for (const a of arrays) SOURCE_NAMES.forEach((n, i) => (out[n] += a[i]));
  return out;
}

function perOp(v: number, ops: number): number {
  return ops > 0 ? round6(v / ops) : 0;
}
function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

function transferShare(t: TransferCounts): Omit<TransferCounts, "total"> {
  const share = (n: number) => (t.total > 0 ? round6(n / t.total) : 0);
  return { smt: share(t.smt), die: share(t.die), package: share(t.package), hop1: share(t.hop1), hop2: share(t.hop2) };
}
