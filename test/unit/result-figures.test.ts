import { beforeEach, describe, expect, it } from "vitest";
import { fillScalingEfficiency } from "../../coordinator/experiment.ts";
import { dominantOp, formatTable, formatVerdict } from "../../coordinator/table.ts";
import { verdict } from "../../coordinator/verdict.ts";
import type { Task } from "../../shared/kernel/kernel.ts";
import { COUNTER_ATOMIC, COUNTER_NONE, COUNTER_PERCPU, OBJ_GLOBAL, OBJ_NAMESPACE, OBJ_NSPROXY, OBJ_TASK, objectLine, SLOT_COUNT, type KObject } from "../../shared/kernel/objects.ts";
import { OP_ACCESS, OP_EXIT, OP_FORK, OP_KIND_COUNT, OP_KWORK, OP_WORK } from "../../shared/kernel/program.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { LatencyHistogram } from "../../shared/metrics/latency-histogram.ts";
import { mergeReports, type CpuReport, type HomeReport, type PartitionReport } from "../../shared/report.ts";
import { ATTR_LOCK_WAIT } from "../../shared/metrics/attribution.ts";
import { runOf } from "./support/spec.ts";

// The figures of a result, computed by hand from made-up partition reports and runs: each
// formula against its own arithmetic, not against another run of the same code.

const config = runOf({ machine: "small-4", cpus: [2], schemes: ["clone-flags"], workload: "migration", duration: "1ms", warmup: "200us", kernel: "refcounts-only" });
const K = config.kinds.length;

function cpuReport(id: number, fill: Partial<CpuReport> & { ops: Record<number, number[]> }): CpuReport {
  const opsByKind = new Array<number>(OP_KIND_COUNT).fill(0);
  const latencyPsByKind = Array.from({ length: OP_KIND_COUNT }, () => new LatencyHistogram().report());
  for (const [op, lat] of Object.entries(fill.ops)) {
    opsByKind[Number(op)] = lat.length;
    latencyPsByKind[Number(op)] = LatencyHistogram.of(lat).report();
  }
  const { ops: _, ...rest } = fill;
  return {
    id,
    opsByKind,
    latencyPsByKind,
    accessesBySource: [0, 0, 0, 0, 0, 0, 0, 0],
    varAccessesBySource: [0, 0, 0, 0, 0, 0, 0, 0],
    varLinesTouched: 0,
    atomicsBySource: [0, 0, 0, 0, 0, 0, 0, 0],
    sharedAtomics: 0,
    stallPs: 0,
    busyPs: 0,
    heldLines: [],
    awaitingSlots: [],
    awaitingObjects: [],
    freed: [],
    switched: [],
    refcacheDirty: [],
    violations: [],
    lockStats: [],
    spinningOn: -1,
    drainedOps: 0,
    timeByOp: new Array<number>(OP_KIND_COUNT * ATTR_LOCK_WAIT).fill(0),
    ...rest,
  };
}

function home(node: number, fill: Partial<HomeReport>): HomeReport {
  return { node, transfersByClass: [0, 0, 0, 0, 0, 0], dramLocal: 0, dramRemote: 0, invalidations: 0, upgrades: 0, queueWaitPs: 0, lines: [], ...fill };
}

function task(id: number, cpu: number, attach: number[]): Task {
  return { id, cpu, role: 0, attach, owned: false, parent: -1, pull: false, thinkNext: false, churnPhase: 0, churn: null };
}

const obj = (id: number, type: number, holds: number[]): KObject => ({ id, type, nsKind: type === OBJ_NAMESPACE ? 0 : -1, home: 0, holds, counter: COUNTER_ATOMIC, createdPs: 0, gen: 0 });
const count = (id: number) => objectLine(id, SLOT_COUNT);

/**
 * Two partitions, one CPU each. Objects: namespace 7 (freed), namespace 8, nsproxy 9 holding 8.
 * Tasks 100 and 101 hold 9; the set-up container holds 8. So 8 has 2 references (the container,
 * nsproxy 9) and 9 has 2 (the tasks). 8's count is in memory (2); 9's line is held by CPU 1
 * with value 2, while memory still says 0.
 */
function reports(extra: { violations0?: CpuReport["violations"]; violations1?: CpuReport["violations"]; count8?: number } = {}): PartitionReport[] {
  const cpu0 = cpuReport(0, {
    ops: { [OP_FORK]: [1000, 3000, 2000], [OP_EXIT]: [5000], [OP_KWORK]: [700, 700, 700, 700, 700], [OP_WORK]: [9, 9] },
    accessesBySource: [10, 1, 0, 0, 0, 0, 2, 0],
    atomicsBySource: [2, 0, 1, 0, 0, 0, 0, 1],
    sharedAtomics: 2,
    stallPs: 300,
    busyPs: 700,
    // Namespace 7 starts awaiting free in sampling slot 0 and is freed in slot 3: its changes net to 0, so no object entry.
    awaitingSlots: [0, 1, 3, -1],
    freed: [7],
    violations: extra.violations0 ?? [],
  });
  const cpu1 = cpuReport(1, {
    ops: { [OP_FORK]: [4000], [OP_ACCESS]: [1500, 500] },
    accessesBySource: [4, 0, 0, 0, 0, 0, 0, 1],
    atomicsBySource: [1, 1, 0, 0, 0, 0, 0, 0],
    sharedAtomics: 1,
    stallPs: 100,
    busyPs: 900,
    heldLines: [count(9), 2],
    // Object 5 waits from slot 1; its wait ends after the run's end (1 ms: slot 1024), which counts for neither figure.
    awaitingSlots: [1, 1, 1024, -1],
    violations: extra.violations1 ?? [],
  });
  const objects = [obj(7, OBJ_NAMESPACE, []), obj(8, OBJ_NAMESPACE, []), obj(9, OBJ_NSPROXY, [8])];
  return [
    {
      partition: 1,
      cpus: [cpu1],
      homes: [home(1, { transfersByClass: [0, 0, 1, 1, 0, 2], invalidations: 1, queueWaitPs: 50, lines: [count(9), 1, 0] })],
      tasks: [task(101, 1, [9])],
      objects: [],
      containerHolds: [],
      firstContainerRoots: [],
      lockClasses: [],
      engineEvents: 234,
      endPs: 1_000_000_500,
    },
    {
      partition: 0,
      cpus: [cpu0],
      homes: [home(0, { transfersByClass: [0, 2, 3, 0, 1, 0], dramLocal: 2, dramRemote: 1, invalidations: 4, upgrades: 1, queueWaitPs: 250, lines: [count(8), -1, extra.count8 ?? 2] })],
      tasks: [task(100, 0, [9])],
      objects,
      containerHolds: [8],
      firstContainerRoots: [9],
      lockClasses: [],
      engineEvents: 1000,
      endPs: 1_000_000_000,
    },
  ];
}

describe("mergeReports: a run's figures from its partitions' reports", () => {
  // Computed before each test, not once while the file is collected: the mutation run
  // switches a mutant on for the tests, and attributes coverage to them, not to collection.
  let r: RunResult;
  beforeEach(() => {
    r = mergeReports(config, reports());
  });

  it("counts the measured window's operations and throughput, leaving kernel work and think time out", () => {
    // Duration 1 ms - warm-up 200 us = 800 us = 8e8 ps.
    expect(r.measuredPs).toBe(800_000_000);
    // fork 3 + 1, exit 1, access 2: 7 operations in 800 us = 8750 per second.
    expect(r.operations).toEqual({ fork: 4, exit: 1, access: 2 });
    expect(r.totalOps).toBe(7);
    expect(r.throughputOpsPerSec).toBe(8750);
  });

  it("takes nearest-rank percentiles over every CPU's samples, in ns", () => {
    // fork samples 1000, 2000, 3000, 4000 ps: p50 = rank ceil(2) = 2000, p99 = rank ceil(3.96) = 4000.
    expect(r.latency.fork).toEqual({ p50Ns: 2, p99Ns: 4, maxNs: 4 });
    expect(r.latency.exit).toEqual({ p50Ns: 5, p99Ns: 5, maxNs: 5 });
    // access 500, 1500: p50 = rank 1, p99 = rank ceil(1.98) = 2.
    expect(r.latency.access).toEqual({ p50Ns: 0.5, p99Ns: 1.5, maxNs: 1.5 });
    expect(r.latency.kwork).toBeUndefined();
  });

  it("sums atomics, accesses, transfers, DRAM fetches, invalidations, stall and queue wait", () => {
    expect(r.atomics).toEqual({ total: 6, shared: 3, bySource: { hit: 3, smt: 1, die: 1, package: 0, hop1: 0, hop2: 0, "dram-local": 0, "dram-remote": 1 } });
    // 6 / 7 and 3 / 7, rounded to 6 places.
    expect(r.atomicsPerOp).toBe(0.857143);
    expect(r.sharedAtomicsPerOp).toBe(0.428571);
    expect(r.accessesBySource).toEqual({ hit: 14, smt: 1, die: 0, package: 0, hop1: 0, hop2: 0, "dram-local": 2, "dram-remote": 1 });
    expect(r.lineTransfers).toEqual({ smt: 2, die: 4, package: 1, hop1: 1, hop2: 2, total: 10 });
    expect(r.transfersPerOp).toBe(1.428571);
    expect(r.dramFetches).toEqual({ local: 2, remote: 1 });
    expect(r.invalidations).toBe(5);
    expect(r.lineQueueWaitPs).toBe(300);
    // Stall 300 + 100 of busy 700 + 900 plus stall: 400 / 2000.
    expect(r.coherenceStallPs).toBe(400);
    expect(r.stallShare).toBe(0.2);
    expect(r.engineEvents).toBe(1234);
  });

  it("computes memory figures: per task, per container, live objects and objects awaiting free", () => {
    // clone-flags: a pointer per namespace kind in the task.
    expect(r.memory.bytesPerTask).toBe(8 * K);
    // The first container's root is nsproxy 9 (refcount_t 4 B + a pointer per kind), holding namespace 8 (4 B).
    expect(r.memory.refBytesPerContainer).toBe(4 + 8 * K + 4);
    expect(r.memory.fixedBytes).toBe(0);
    // 8 and 9 are live; 7 was freed.
    expect(r.memory.liveObjectsAtEnd).toBe(2);
    // Awaiting, at the sampling instants (slot j's changes count from instant j + 1): 1 at instant 1 (7), 2 at
    // instants 2 and 3 (5 too), 1 from instant 4 on (7 freed in slot 3): peak 2, 1 at the end.
    expect(r.memory.awaitingFreePeak).toBe(2);
    expect(r.memory.awaitingFreeAtEnd).toBe(1);
    expect(r.scalingEfficiency).toBeNull();
  });

  it("reads a line's final value from the CPU holding it, else memory, and finds every count right", () => {
    expect(r.invariants).toEqual({ ok: true, violationCount: 0, violations: [] });
  });

  it("reports a count that disagrees with the references held, and the CPUs' violations in time, CPU, object order", () => {
    const v = (cpu: number, timePs: number, o: number) => ({ kind: "use-after-free" as const, obj: o, cpu, timePs, detail: "x" });
    const bad = mergeReports(config, reports({ count8: 3, violations0: [v(0, 50, 4), v(0, 10, 9)], violations1: [v(1, 50, 2)] }));
    expect(bad.invariants.ok).toBe(false);
    expect(bad.invariants.violationCount).toBe(4);
    expect(bad.invariants.violations.map((x) => [x.kind, x.timePs, x.cpu, x.obj])).toEqual([
      ["use-after-free", 10, 0, 9],
      ["use-after-free", 50, 0, 4],
      ["use-after-free", 50, 1, 2],
      ["leak", 1_000_000_500, -1, 8],
    ]);
    expect(bad.invariants.violations[3].detail).toBe("count 3 but 2 references held");
    const lost = mergeReports(config, reports({ count8: 1 }));
    expect(lost.invariants.violations.map((x) => x.kind)).toEqual(["lost-reference"]);
  });

  it("gives each distance's share of the line transfers: 2, 4, 1, 1, 2 of 10", () => {
    expect(r.lineTransferShare).toEqual({ smt: 0.2, die: 0.4, package: 0.1, hop1: 0.1, hop2: 0.2 });
  });

  // CPU 0's variable accesses: 3 hits, 1 SMT, 1 hop2, 1 DRAM-local, over 3 lines; CPU 1's: 1 hit,
  // 1 die, 1 DRAM-remote, over 1 line. 2 access operations (CPU 1's): 4 lines / 2 = 2, 9 line
  // accesses / 2 = 4.5, transfers (SMT + die + hop2 = 3) / 2 = 1.5, DRAM 2 / 2 = 1.
  it("gives per access operation the lines touched, line accesses, transfers and DRAM fetches", () => {
    const rs = reports();
    Object.assign(rs[1].cpus[0], { varAccessesBySource: [3, 1, 0, 0, 0, 1, 1, 0], varLinesTouched: 3 });
    Object.assign(rs[0].cpus[0], { varAccessesBySource: [1, 0, 1, 0, 0, 0, 0, 1], varLinesTouched: 1 });
    const a = mergeReports(config, rs).access;
    expect(a).toEqual({
      operations: 2,
      linesPerAccess: 2,
      lineAccessesPerAccess: 4.5,
      transfersPerAccess: 1.5,
      dramPerAccess: 1,
      bySource: { hit: 4, smt: 1, die: 1, package: 0, hop1: 0, hop2: 1, "dram-local": 1, "dram-remote": 1 },
    });
  });

  it("gives zeros, not NaN, for a run that completed nothing, moved no line and neither ran nor stalled", () => {
    const rs = reports();
    for (const p of rs) {
      for (const c of p.cpus) {
        c.opsByKind.fill(0);
        c.latencyPsByKind = c.latencyPsByKind.map(() => new LatencyHistogram().report());
        c.stallPs = 0;
        c.busyPs = 0;
      }
      for (const h of p.homes) h.transfersByClass = [0, 0, 0, 0, 0, 0];
    }
    const z = mergeReports(config, rs);
    expect([z.totalOps, z.throughputOpsPerSec, z.atomicsPerOp, z.sharedAtomicsPerOp, z.transfersPerOp, z.stallShare]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(z.operations).toEqual({});
    expect(z.lineTransferShare).toEqual({ smt: 0, die: 0, package: 0, hop1: 0, hop2: 0 });
    expect(z.access.linesPerAccess).toBe(0);
  });

  it("charges refcache its per-CPU cache: 4096 slots of 16 bytes per CPU, 131072 bytes on 2 CPUs", () => {
    const refcache = runOf({ machine: "small-4", cpus: [2], schemes: ["refcache"], workload: "migration", duration: "1ms", warmup: "200us", kernel: "refcounts-only" });
    expect(mergeReports(refcache, reports()).memory.fixedBytes).toBe(2 * 4096 * 16);
  });

  // Under linux-6, two lock classes: rwlock "rw" whose wait_lock is class 1 (its wait counts in
  // rw's total, not under a name of its own). CPU 0's fork time by class (timeByOp, 5 fixed classes
  // + 2 lock waits): namespace refs 1000, locked 2000, kernel memory 3000, compute 1000, waits
  // 2000 (rw) and 1000 (wait_lock) = 10000, the forks' summed latency (1000 + 3000 + 2000 + 4000).
  // Its exit (5000 ps) was all interrupted. rw: 4 acquisitions, 1 contended, 2000 ps waiting and
  // 8000 held, of 17000 ps of measured latency (fork 10000, exit 5000, access 2000).
  it("gives a kernel path's fork and exit breakdown and its locks' figures", () => {
    const linux = runOf({ machine: "small-4", cpus: [2], schemes: ["clone-flags"], workload: "migration", duration: "1ms", warmup: "200us", kernel: "linux-6" });
    const rs = reports();
    const classes = [
      { name: "rw", kind: 1, word: -1, waitLock: 1 },
      { name: "rw wait_lock", kind: 0, word: -1, waitLock: -1 },
    ];
    for (const p of rs) p.lockClasses = classes;
    const T = ATTR_LOCK_WAIT + 2;
    for (const p of rs) for (const c of p.cpus) {
      c.timeByOp = new Array<number>(OP_KIND_COUNT * T).fill(0);
      c.lockStats = new Array<number>(2 * 4).fill(0);
    }
    const cpu0 = rs[1].cpus[0];
    cpu0.timeByOp.splice(OP_FORK * T, T, 1000, 2000, 3000, 1000, 0, 2000, 1000);
    cpu0.timeByOp[OP_EXIT * T + 4] = 5000;
    rs[0].cpus[0].lockStats = [4, 1, 2000, 8000, 0, 0, 0, 0];
    const k = mergeReports(linux, rs).kernelPath;
    expect(k?.profile).toBe("linux-6");
    expect(k?.latencyBreakdown.fork).toEqual({
      operations: 4,
      meanNs: 2.5,
      namespaceRefs: 0.1,
      lockWait: 0.3,
      lockWaitByLock: { rw: 0.2 },
      lockedSections: 0.2,
      kernelMemory: 0.3,
      parallelCompute: 0.1,
      interrupted: 0,
    });
    expect(k?.latencyBreakdown.exit).toMatchObject({ operations: 1, meanNs: 5, interrupted: 1, namespaceRefs: 0, lockWait: 0 });
    expect([k?.namespaceRefShare, k?.lockWaitShare]).toEqual([
      { fork: 0.1, exit: 0 },
      { fork: 0.3, exit: 0 },
    ]);
    expect(k?.locks[0]).toEqual({ name: "rw", kind: "rwlock", acquisitions: 4, contended: 1, contendedShare: 0.25, waitNsPerAcquisition: 0.5, holdNsPerAcquisition: 2, waitShareOfLatency: 0.117647 });
    expect(mergeReports(config, reports()).kernelPath).toBeUndefined();
  });

  it("reads a line held by CPU 0 from CPU 0, and orders violations of one time by CPU, then object", () => {
    const rs = reports();
    rs[0].cpus[0].heldLines = [];
    rs[1].cpus[0].heldLines = [count(9), 2];
    rs[0].homes[0].lines = [count(9), 0, 0];
    expect(mergeReports(config, rs).invariants.ok).toBe(true);
    const v = (cpu: number, timePs: number, o: number) => ({ kind: "use-after-free" as const, obj: o, cpu, timePs, detail: "x" });
    // CPU 1's two violations at 50 ps come objects 7, 2: in object order, 2 then 7 (CPU 1's ids are not 0, so a CPU
    // key that is not a difference cannot stand in for the object key).
    const bad = mergeReports(config, reports({ violations0: [v(0, 50, 9), v(0, 50, 4)], violations1: [v(1, 50, 7), v(1, 50, 2), v(1, 10, 1)] }));
    expect(bad.invariants.violations.map((x) => [x.timePs, x.cpu, x.obj])).toEqual([
      [10, 1, 1],
      [50, 0, 4],
      [50, 0, 9],
      [50, 1, 2],
      [50, 1, 7],
    ]);
  });

  it("gives the same result whatever the order of the reports", () => {
    expect(JSON.stringify(mergeReports(config, reports().reverse()))).toBe(JSON.stringify(r));
  });

  it("rejects a set of reports missing a CPU, or a line recorded at a CPU that does not hold it", () => {
    expect(() => mergeReports(config, reports().slice(0, 1))).toThrow("no report for cpu 0");
    const rs = reports();
    rs[0].cpus[0].heldLines = [];
    expect(() => mergeReports(config, rs)).toThrow(`line ${count(9)} is recorded at cpu 1, which does not hold it`);
  });
});

/** A run result with only the fields a test sets (the rest zero). */
function run(fill: Partial<RunResult>): RunResult {
  return {
    scheme: "none",
    machine: "m",
    cpus: 1,
    workload: "w",
    seed: 1,
    operations: {},
    totalOps: 0,
    throughputOpsPerSec: 0,
    latency: {},
    atomicsPerOp: 0,
    transfersPerOp: 0,
    access: { operations: 0, linesPerAccess: 0, lineAccessesPerAccess: 0, transfersPerAccess: 0, dramPerAccess: 0, bySource: {} },
    memory: { bytesPerTask: 0, refBytesPerContainer: 0, fixedBytes: 0, liveObjectsAtEnd: 0, awaitingFreePeak: 0, awaitingFreeAtEnd: 0 },
    scalingEfficiency: null,
    invariants: { ok: true, violationCount: 0, violations: [] },
    ...fill,
  } as RunResult;
}

describe("mergeReports at the edges: memory reuse, awaiting free, partitions, bounds", () => {
  const kinds = (r: RunResult) => r.invariants.violations.map((v) => [v.kind, v.obj]);

  it("keeps each object's newest record, whichever partition reports it first", () => {
    // nsproxy 9's stale record (generation 0) holds 8 twice: read, 8 would have 3 references for its count of 2.
    const stale = obj(9, OBJ_NSPROXY, [8, 8]);
    const newest = { ...obj(9, OBJ_NSPROXY, [8]), gen: 2 };
    const first = reports();
    first[0].objects = [newest];
    first[1].objects = [obj(7, OBJ_NAMESPACE, []), obj(8, OBJ_NAMESPACE, []), { ...stale, gen: 1 }];
    expect(mergeReports(config, first).invariants.ok).toBe(true);
    const last = reports();
    last[0].objects = [stale];
    last[1].objects = [obj(7, OBJ_NAMESPACE, []), obj(8, OBJ_NAMESPACE, []), { ...obj(9, OBJ_NSPROXY, [8]), gen: 1 }];
    expect(mergeReports(config, last).invariants.ok).toBe(true);
  });

  it("takes memory on a free list as freed when its generation is the object's, not an earlier life's", () => {
    // Namespaces 10 and 11 are held by nobody and do not await free: a leak each, unless freed.
    const rs = reports();
    rs[1].objects.push({ ...obj(10, OBJ_NAMESPACE, []), gen: 1 }, { ...obj(11, OBJ_NAMESPACE, []), gen: 2 });
    expect(kinds(mergeReports(config, rs))).toEqual([
      ["leak", 10],
      ["leak", 11],
    ]);
    // 10's memory is on home 0's free list at its own generation; 11's on CPU 1's list at generation 1, an earlier life.
    rs[1].homes[0].freeMemory = [10, 1];
    rs[0].cpus[0].freeMemory = [11, 1];
    const r = mergeReports(config, rs);
    expect(kinds(r)).toEqual([["leak", 11]]);
    // Live: 8, 9 and 11 (7 and 10 freed).
    expect(r.memory.liveObjectsAtEnd).toBe(3);
  });

  it("an object awaits free when its current generation's changes net above zero over every CPU; the count is read at the sampling instants, the drain's changes left out", () => {
    const rs = reports();
    // Namespace 10 starts awaiting on CPU 1 and stays; 11 starts on CPU 1 and stops on CPU 0 (net 0: a leak);
    // 12's entry is of generation 0, but its memory holds generation 1 now: the entry says nothing of it (a leak).
    rs[1].objects.push(obj(10, OBJ_NAMESPACE, []), obj(11, OBJ_NAMESPACE, []), { ...obj(12, OBJ_NAMESPACE, []), gen: 1 });
    rs[1].cpus[0].awaitingObjects.push(10, 0, 1, 11, 0, 1);
    rs[0].cpus[0].awaitingObjects.push(11, 0, -1, 12, 0, 1);
    // Slots: CPU 1 adds +2 in slot 5 (10 and 11) and +1 at the drain; CPU 0 adds -1 in slot 7 (11) and +3 in the last slot.
    rs[1].cpus[0].awaitingSlots.push(5, 2, 1024, 1);
    rs[0].cpus[0].awaitingSlots.push(7, -1, 1023, 3);
    const r = mergeReports(config, rs);
    expect(kinds(r)).toEqual([
      ["leak", 11],
      ["leak", 12],
    ]);
    // With the base reports' 1, 2, 2, 1 at instants 1-4: 1 at instants 4-5, 3 at 6-7, 2 at 8-1023, 5 at 1024 (the
    // end); the drain's +1 and -1 count for neither figure. Peak 5, 5 at the end.
    expect(r.memory.awaitingFreePeak).toBe(5);
    expect(r.memory.awaitingFreeAtEnd).toBe(5);
  });
  it("counts a per-CPU counter as switched to its central count only when it switched in the object's own generation", () => {
    // Three percpu namespaces, each held by task 102 once, each with 1 in its count line and 0 in
    // every per-CPU line. Switched, the count is the central value: 1, as held. Not switched, it is
    // central - PERCPU_BIAS + the per-CPU sum: 1 - 2^31 + 0 = -2147483647, a lost reference.
    // 10 (generation 1) switched on CPU 0 at generation 1: switched. 11 (generation 2) switched on
    // CPU 0 at generation 1, an earlier life: not switched. 12 (generation 0) switched on CPU 1,
    // whose report has no generations (an older report): generation 0, switched.
    const rs = reports();
    const percpu = (id: number, gen: number): KObject => ({ ...obj(id, OBJ_NAMESPACE, []), counter: COUNTER_PERCPU, gen });
    rs[1].objects.push(percpu(10, 1), percpu(11, 2), percpu(12, 0));
    rs[1].tasks.push(task(102, 1, [10, 11, 12]));
    rs[1].homes[0].lines.push(count(10), -1, 1, count(11), -1, 1, count(12), -1, 1);
    rs[1].cpus[0].switched = [10, 11];
    rs[1].cpus[0].switchedGen = [1, 1];
    rs[0].cpus[0].switched = [12];
    const r = mergeReports(config, rs);
    expect(r.invariants.violations.map((v) => [v.kind, v.obj, v.detail])).toEqual([["lost-reference", 11, "count -2147483647 but 1 references held"]]);
  });

  it("without partition 0's report there are no set-up container holds, lock classes or container roots", () => {
    const rs = reports();
    rs[1].partition = 2;
    const r = mergeReports(config, rs);
    // Namespace 8 loses the container's reference: its count of 2 is one more than the 1 held (by nsproxy 9).
    expect(r.invariants.violations.map((v) => v.detail)).toEqual(["count 2 but 1 references held"]);
    expect(r.memory.refBytesPerContainer).toBe(0);
    // Under linux-6 the kernel path lists the lock classes of partition 0's report: none here, though partition 2's
    // report names one (only partition 0's list is read).
    const linux = runOf({ machine: "small-4", cpus: [2], schemes: ["clone-flags"], workload: "migration", duration: "1ms", warmup: "200us", kernel: "linux-6" });
    rs[1].lockClasses = [{ name: "tasklist_lock", kind: 0, word: -1, waitLock: -1 }];
    expect(mergeReports(linux, rs).kernelPath!.locks).toEqual([]);
  });

  it("checks objects in id order, counts live objects other than tasks and the global one, and lists 20 violations of more", () => {
    const rs = reports({ count8: 3 });
    // Reported in reverse: 9 (lost: its count in CPU 1's line is set to 1, 2 tasks hold it) then 8 (leak).
    rs[0].cpus[0].heldLines = [count(9), 1];
    rs[1].objects.reverse();
    rs[1].objects.push({ ...obj(20, OBJ_TASK, []), counter: COUNTER_NONE }, { ...obj(21, OBJ_GLOBAL, []), counter: COUNTER_NONE });
    const many = Array.from({ length: 23 }, (_, i) => ({ kind: "use-after-free" as const, obj: 1, cpu: 0, timePs: i, detail: "x" }));
    rs[1].cpus[0].violations = many;
    const r = mergeReports(config, rs);
    expect(r.invariants.violationCount).toBe(25);
    expect(r.invariants.violations).toHaveLength(20);
    expect(mergeReports(config, reports({ count8: 3 })).invariants.violations.map((v) => v.obj)).toEqual([8]);
    const both = reports({ count8: 3 });
    both[0].cpus[0].heldLines = [count(9), 1];
    both[1].objects.reverse();
    expect(mergeReports(config, both).invariants.violations.map((v) => [v.kind, v.obj])).toEqual([
      ["leak", 8],
      ["lost-reference", 9],
    ]);
    // 8 and 9 live (7 freed); the task and the global object are not counted.
    expect(r.memory.liveObjectsAtEnd).toBe(2);
  });

  it("gives the stall share of stall plus busy time when CPUs stalled longer than they ran", () => {
    const rs = reports();
    rs[1].cpus[0].busyPs = 100;
    rs[0].cpus[0].busyPs = 50;
    // Stall 300 + 100 = 400 of 400 + 150: 0.727273.
    expect(mergeReports(config, rs).stallShare).toBe(0.727273);
  });

  it("counts each object of a container once, skips an object no report has and one without a counter, and charges nsproxy its pointers", () => {
    const rs = reports();
    // Roots: nsproxy 9 (holding 8), 8 again, 30 (no record), global object 21 (no counter), nsproxy 22 holding nothing.
    // nsproxies 22 and 23 holding nothing.
    rs[1].objects.push({ ...obj(21, OBJ_GLOBAL, []), counter: COUNTER_NONE }, obj(22, OBJ_NSPROXY, []), obj(23, OBJ_NSPROXY, []));
    rs[1].firstContainerRoots = [9, 8, 30, 21, 22, 23];
    // 9: 4 + 8K; 8: 4; 22 and 23: 4 + 8K each. (Three nsproxies against two other objects with a record, 8 and 21: the
    // pointers charged to the others instead would give 4 x 4 + 2 x 8K.)
    expect(mergeReports(config, rs).memory.refBytesPerContainer).toBe(3 * (4 + 8 * K) + 4);
  });

  it("counts every distance's accesses as transfers per access", () => {
    const rs = reports();
    // hit 5, smt 1, die 2, package 4, hop1 8, hop2 16, DRAM 32 + 64 over 2 accesses: 31 / 2 transfers, 96 / 2 from DRAM.
    rs[1].cpus[0].varAccessesBySource = [5, 1, 2, 4, 8, 16, 32, 64];
    const a = mergeReports(config, rs).access;
    expect(a.transfersPerAccess).toBe(15.5);
    expect(a.dramPerAccess).toBe(48);
    expect(a.lineAccessesPerAccess).toBe(66);
  });

  it("gives the kernel path's drain: operations in flight at the window's end and how long after it the last one ended", () => {
    const linux = runOf({ machine: "small-4", cpus: [2], schemes: ["clone-flags"], workload: "migration", duration: "1ms", warmup: "200us", kernel: "linux-6" });
    const rs = reports();
    rs[0].cpus[0].drainedOps = 2;
    rs[1].cpus[0].drainedOps = 3;
    // Partition 1 ended 500 ps after the 1 ms duration, partition 0 at it: 0.5 ns.
    expect(mergeReports(linux, rs).kernelPath!.drain).toEqual({ operations: 5, afterWindowNs: 0.5 });
    rs[0].endPs = 999_000_000;
    rs[1].endPs = 999_500_000;
    expect(mergeReports(linux, rs).kernelPath!.drain.afterWindowNs).toBe(0);
  });
});

describe("fillScalingEfficiency", () => {
  it("divides throughput per CPU by the same scheme's, machine's, workload's and seed's one-CPU throughput", () => {
    const runs = [
      run({ scheme: "none", cpus: 1, throughputOpsPerSec: 100 }),
      run({ scheme: "none", cpus: 4, throughputOpsPerSec: 300 }),
      run({ scheme: "percpu", cpus: 1, throughputOpsPerSec: 50 }),
      run({ scheme: "percpu", cpus: 4, throughputOpsPerSec: 180 }),
      run({ scheme: "percpu", cpus: 3, throughputOpsPerSec: 50 }),
      run({ scheme: "none", cpus: 4, seed: 2, throughputOpsPerSec: 300 }),
      run({ scheme: "none", cpus: 4, machine: "other", throughputOpsPerSec: 300 }),
      run({ scheme: "none", cpus: 4, workload: "other", throughputOpsPerSec: 300 }),
      run({ scheme: "sloppy", cpus: 1, throughputOpsPerSec: 0 }),
      run({ scheme: "sloppy", cpus: 2, throughputOpsPerSec: 10 }),
    ];
    fillScalingEfficiency(runs);
    // 300 / (4 x 100); 180 / (4 x 50); 50 / (3 x 50) rounded to 6 places; no one-CPU run of that
    // seed, machine or workload; a zero baseline gives none.
    expect(runs.map((r) => r.scalingEfficiency)).toEqual([1, 0.75, 1, 0.9, 0.333333, null, null, null, null, null]);
  });
});

describe("verdict and table", () => {
  const runs = [
    run({ scheme: "clone-flags", cpus: 1, throughputOpsPerSec: 5000 }),
    run({ scheme: "clone-flags", cpus: 8, seed: 1, throughputOpsPerSec: 900, atomicsPerOp: 6, transfersPerOp: 3 }),
    run({ scheme: "clone-flags", cpus: 8, seed: 2, throughputOpsPerSec: 1100, atomicsPerOp: 8, transfersPerOp: 5 }),
    run({ scheme: "container", cpus: 8, throughputOpsPerSec: 1500, atomicsPerOp: 1, transfersPerOp: 0.5 }),
    run({ scheme: "nsproxy", cpus: 8, throughputOpsPerSec: 990, atomicsPerOp: 1.23456, transfersPerOp: 2 }),
    run({ scheme: "percpu", cpus: 8, throughputOpsPerSec: 12000, atomicsPerOp: 0.1, transfersPerOp: 0.1, invariants: { ok: false, violationCount: 3, violations: [] } }),
  ];

  it("compares every scheme with clone-flags' mean at the largest CPU count", () => {
    const v = verdict(runs);
    expect(v.cpus).toBe(8);
    // clone-flags: mean throughput (900 + 1100) / 2 = 1000, atomics (6 + 8) / 2 = 7, transfers 4.
    expect(v.comparisons).toEqual([
      { scheme: "clone-flags", throughputRatio: 1, atomicsPerOp: 7, transfersPerOp: 4 },
      { scheme: "container", throughputRatio: 1.5, atomicsPerOp: 1, transfersPerOp: 0.5 },
      { scheme: "nsproxy", throughputRatio: 0.99, atomicsPerOp: 1.2346, transfersPerOp: 2 },
      { scheme: "percpu", throughputRatio: 12, atomicsPerOp: 0.1, transfersPerOp: 0.1 },
    ]);
    expect(v.failedRuns).toEqual([{ scheme: "percpu", cpus: 8, violations: 3 }]);
    expect(v.summary).toEqual([
      "container beats clone-flags by 1.50x in throughput at 8 CPUs (1.00 vs 7.00 atomics/op, 0.500 vs 4.00 line transfers/op).",
      "nsproxy and clone-flags are within 2% in throughput at 8 CPUs (1.23 vs 7.00 atomics/op, 2.00 vs 4.00 line transfers/op); the difference is in coherence traffic, not speed.",
      "Highest throughput at 8 CPUs: percpu, 12.0x clone-flags.",
      "1 run(s) broke an invariant: see invariants in results.json.",
    ]);
    expect(formatVerdict(v).split("\n")[0]).toBe("Verdict:");
    expect(formatVerdict(v).split("\n")[1]).toBe(`  ${v.summary[0]}`);
  });

  it("says a scheme is slower below 98% and that there is no comparison without clone-flags", () => {
    const slow = verdict([run({ scheme: "clone-flags", cpus: 2, throughputOpsPerSec: 1000 }), run({ scheme: "container", cpus: 2, throughputOpsPerSec: 970 })]);
    expect(slow.summary[0]).toBe("container is slower than clone-flags at 2 CPUs: 0.970x its throughput (0 vs 0 atomics/op, 0 vs 0 line transfers/op).");
    const within = verdict([run({ scheme: "clone-flags", cpus: 2, throughputOpsPerSec: 1000 }), run({ scheme: "container", cpus: 2, throughputOpsPerSec: 1020 })]);
    expect(within.summary[0]).toContain("within 2%");
    const none = verdict([run({ scheme: "container", cpus: 2, throughputOpsPerSec: 970 })]);
    expect(none.summary).toEqual(["clone-flags was not run: no comparison with the 2006 baseline."]);
  });

  it("counts exactly 2% either way as within 2%, and says when clone-flags completed nothing", () => {
    const at = (t: number) => verdict([run({ scheme: "clone-flags", cpus: 2, throughputOpsPerSec: 1000 }), run({ scheme: "container", cpus: 2, throughputOpsPerSec: t })]).summary[0];
    expect(at(1020)).toContain("within 2%");
    expect(at(980)).toContain("within 2%");
    expect(at(1021)).toMatch(/^container beats clone-flags by 1\.02x/);
    expect(at(979)).toMatch(/^container is slower than clone-flags at 2 CPUs: 0\.979x/);
    const idle = verdict([run({ scheme: "clone-flags", cpus: 2, throughputOpsPerSec: 0 }), run({ scheme: "container", cpus: 2, throughputOpsPerSec: 5 })]);
    expect(idle.summary).toEqual(["clone-flags completed no operation at 2 CPUs in the measured window: no comparison (simulate longer)."]);
  });

  it("writes bytes and times at their unit boundaries: 1023 B, 1.0 KiB, 1.0 MiB; 999 ns, 1.00 us, 1.00 ms", () => {
    const row = (cpus: number, bytesPerTask: number, p99Ns: number) =>
      run({ cpus, operations: { fork: 200 }, totalOps: 200, throughputOpsPerSec: 1, latency: { fork: { p50Ns: 1, p99Ns, maxNs: p99Ns } }, memory: { bytesPerTask, refBytesPerContainer: 0, fixedBytes: 0, liveObjectsAtEnd: 0, awaitingFreePeak: 0, awaitingFreeAtEnd: 0 } });
    // 999.6 ns and 999,600 ns round to 1000 in three figures: "1.00us" and "1.00ms", not "1.00e+3ns" and "1.00e+3us";
    // so do 999.5 ns and 999,500 ns exactly (toPrecision(3) rounds the half up), the boundaries themselves.
    const cells = formatTable([row(1, 1023, 999), row(2, 1024, 1000), row(4, 1 << 20, 1e6), row(8, 0, 999.6), row(16, 0, 999_600), row(32, 0, 999.4), row(64, 0, 999.5), row(128, 0, 999_500)])
      .split("\n")
      .map((l) => l.trim().split(/\s{2,}/));
    const [p99, perTask] = [cells[0].indexOf("p99 fork"), cells[0].indexOf("B/task")];
    expect(cells.slice(2).map((c) => [c[p99], c[perTask]])).toEqual([
      ["999ns", "1023B"],
      ["1.00us", "1.0KiB"],
      ["1.00ms", "1.0MiB"],
      ["1.00us", "0B"],
      ["1.00ms", "0B"],
      ["999ns", "0B"],
      ["1.00us", "0B"],
      ["1.00ms", "0B"],
    ]);
  });

  // Two seeds of percpu at 4 CPUs: throughput 100 and 110, mean 105, 95% half-width t(1) x s /
  // sqrt(2) = 12.706 x 7.071 / 1.414 = 63.5; against none's 200: 0.525x; the other columns are
  // means: efficiency 55%, p99 2.50 us, 1.50 atomics, 2.50 transfers, 100.5 -> 101 B; fork shares
  // (0.05 + 0.15) / 2 = 10% in namespace references, (0.5 + 0.3) / 2 = 40% waiting for locks; one
  // seed of the two broke 3 invariants. none has one seed and no kernel path breakdown.
  it("gives runs repeated over seeds one row: their means, the throughput's interval, and the seeds that failed", () => {
    const fork = (namespaceRefs: number, lockWait: number) =>
      ({ latencyBreakdown: { fork: { operations: 10, meanNs: 1, namespaceRefs, lockWait, lockWaitByLock: {}, lockedSections: 0, kernelMemory: 0, parallelCompute: 0, interrupted: 0 } } }) as unknown as RunResult["kernelPath"];
    const seeded = (seed: number, t: number, eff: number | null, p99Ns: number, atomics: number, refBytes: number, kernelPath: RunResult["kernelPath"], violations: number) =>
      run({
        scheme: seed === 0 ? "none" : "percpu",
        cpus: 4,
        seed,
        operations: { fork: 200 },
        totalOps: 200,
        throughputOpsPerSec: t,
        scalingEfficiency: eff,
        latency: { fork: { p50Ns: 1, p99Ns, maxNs: p99Ns } },
        atomicsPerOp: atomics,
        transfersPerOp: atomics + 1,
        memory: { bytesPerTask: 8, refBytesPerContainer: refBytes, fixedBytes: 0, liveObjectsAtEnd: 0, awaitingFreePeak: 0, awaitingFreeAtEnd: 0 },
        kernelPath,
        invariants: { ok: violations === 0, violationCount: violations, violations: [] },
      });
    const lines = formatTable([
      seeded(1, 100, 0.5, 2000, 1, 100, fork(0.05, 0.5), 0),
      seeded(2, 110, 0.6, 3000, 2, 101, fork(0.15, 0.3), 3),
      { ...seeded(0, 200, null, 1000, 0, 0, undefined, 0), atomicsPerOp: 0, transfersPerOp: 0, memory: { bytesPerTask: 0, refBytesPerContainer: 0, fixedBytes: 0, liveObjectsAtEnd: 0, awaitingFreePeak: 0, awaitingFreeAtEnd: 0 } },
    ]).split("\n");
    const cells = lines.map((l) => l.trim().split(/\s{2,}/));
    expect(cells[0]).toEqual(["scheme", "cpus", "seeds", "ops/s (mean ±95%)", "vs none", "eff", "p99 fork", "atomics/op", "xfers/op", "B/task", "refB/ctr", "fork ns-refs", "fork lock-wait", "invariants"]);
    expect(cells[2]).toEqual(["percpu", "4", "2", "105 ±63.5", "0.525x", "55%", "2.50us", "1.50", "2.50", "8B", "101B", "10%", "40%", "FAIL (1 seeds, 3)"]);
    expect(cells[3]).toEqual(["none", "4", "1", "200", "1.00x", "-", "1.00us", "0", "0", "0B", "0B", "-", "-", "ok"]);
    expect(lines.at(-1)).toBe("mean of 1 to 2 seeds per row; ±: half-width of the throughput's 95% confidence interval (Student t); the other columns are means");
    expect(lines).toHaveLength(5);
  });

  // Per machine and workload, never blended: on m, none leads (400 / 100 = 4.00x clone-flags) and the
  // best counting scheme is percpu, 3.00x clone-flags and 300 / 400 = 0.750x none's; on m2 without
  // none, percpu leads alone. With no run at all: no CPUs, no comparison.
  it("names the leader of each machine and workload, none apart from the best scheme that counts", () => {
    const v = verdict([
      run({ scheme: "clone-flags", cpus: 2, throughputOpsPerSec: 100 }),
      run({ scheme: "percpu", cpus: 2, throughputOpsPerSec: 300 }),
      run({ scheme: "none", cpus: 2, throughputOpsPerSec: 400 }),
      run({ machine: "m2", scheme: "clone-flags", cpus: 2, throughputOpsPerSec: 100 }),
      run({ machine: "m2", scheme: "percpu", cpus: 2, throughputOpsPerSec: 150 }),
    ]);
    expect(v.summary).toEqual([
      "m, w: Highest throughput at 2 CPUs: the baseline without namespaces (none: no reference counting), 4.00x clone-flags; the best scheme that counts is percpu, 3.00x clone-flags, 0.750x the no-namespace baseline's.",
      "m2, w: Highest throughput at 2 CPUs: percpu, 1.50x clone-flags.",
    ]);
    expect(v.groups.map((g) => [g.machine, g.cpus])).toEqual([
      ["m", 2],
      ["m2", 2],
    ]);
    const empty = verdict([]);
    expect([empty.cpus, empty.comparisons, empty.summary]).toEqual([0, [], []]);
  });

  it("compares a seeded row with clone-flags' mean over its seeds, aligns the scheme and CPU columns left and the rest right, and marks a row by any seed", () => {
    const at = (scheme: "clone-flags" | "nsproxy" | "percpu", seed: number, throughputOpsPerSec: number, fill: Partial<RunResult> = {}) =>
      run({ scheme, cpus: 2, seed, operations: { fork: 200 }, totalOps: 200, throughputOpsPerSec, ...fill });
    const short = { drain: { operations: 500, afterWindowNs: 100 } } as unknown as RunResult["kernelPath"];
    const lines = formatTable([
      at("clone-flags", 1, 100),
      at("clone-flags", 2, 200),
      at("nsproxy", 1, 300, { totalOps: 50 }),
      at("nsproxy", 2, 300),
      at("percpu", 1, 400, { kernelPath: short }),
      at("percpu", 2, 400),
    ]).split("\n");
    const cells = lines.map((l) => l.trim().split(/\s{2,}/));
    // clone-flags: mean 150, s = 50 sqrt(2), half-width 12.706 x 50 = 635; nsproxy 300 / 150, percpu 400 / 150.
    // One low-sample seed marks nsproxy's row (!), one seed with a window too short percpu's (~).
    expect(cells.slice(2, 5).map((c) => c.slice(0, 5))).toEqual([
      ["clone-flags", "2", "2", "150 ±635", "1.00x"],
      ["nsproxy", "2", "2", "300 ±0!", "2.00x"],
      ["percpu", "2", "2", "400 ±0~", "2.67x"],
    ]);
    // Widths: scheme 11 ("clone-flags"), cpus 4, seeds 5: "nsproxy" and "2" padded on the right, the seeds' "2" on the left.
    expect(lines[3].startsWith(`${"nsproxy".padEnd(11)}  ${"2".padEnd(4)}  ${"2".padStart(5)}  `)).toBe(true);
  });

  it("takes the first of two equally frequent operations for p99, 'p99' alone without any, and per-access columns when any run made accesses", () => {
    expect(dominantOp([run({ operations: { exit: 100, access: 100 } })])).toBe("exit");
    expect(formatTable([run({ operations: {} })]).split("\n")[0]).toContain("eff  p99  atomics/op");
    const accessed = run({ cpus: 2, operations: { access: 10 }, access: { operations: 10, linesPerAccess: 2, lineAccessesPerAccess: 3, transfersPerAccess: 0.5, dramPerAccess: 0, bySource: {} } as unknown as RunResult["access"] });
    expect(formatTable([run({ operations: { access: 10 } }), accessed]).split("\n")[0]).toContain("lines/acc  xfers/acc");
  });

  it("leaves out the no-namespace comparison when none completed nothing, and takes none's mean over its seeds at the largest CPU count only", () => {
    const zero = verdict([run({ scheme: "clone-flags", cpus: 2, throughputOpsPerSec: 100 }), run({ scheme: "percpu", cpus: 2, throughputOpsPerSec: 300 }), run({ scheme: "none", cpus: 2, throughputOpsPerSec: 0 })]);
    expect(zero.summary).toEqual(["Highest throughput at 2 CPUs: percpu, 3.00x clone-flags."]);
    expect(zero.baseline).toBe("clone-flags");
    // none at 2 CPUs: seeds 100 and 300, mean 200 (its 1-CPU run of 1000 does not count): percpu 400 / 200.
    const seeded = verdict([
      run({ scheme: "none", cpus: 1, throughputOpsPerSec: 1000 }),
      run({ scheme: "none", cpus: 2, seed: 1, throughputOpsPerSec: 100 }),
      run({ scheme: "none", cpus: 2, seed: 2, throughputOpsPerSec: 300 }),
      run({ scheme: "clone-flags", cpus: 2, throughputOpsPerSec: 100 }),
      run({ scheme: "percpu", cpus: 2, throughputOpsPerSec: 400 }),
    ]);
    expect(seeded.summary).toEqual(["Highest throughput at 2 CPUs: percpu, 4.00x clone-flags, 2.00x the no-namespace baseline's."]);
  });

  it("says how many of the 2006 split's counterfactual runs broke an invariant", () => {
    const runs = [run({ scheme: "clone-flags", cpus: 4, throughputOpsPerSec: 100 }), run({ scheme: "container", cpus: 4, throughputOpsPerSec: 150 })];
    const evidence = (["layout", "chase"] as const).map((step, i) => ({ machine: "m", workload: "w", cpus: 4, seed: 1, versus: "clone-flags" as const, step, throughputOpsPerSec: 120, invariantsOk: i === 0 }));
    expect(verdict(runs, evidence).summary).toContain("1 counterfactual run(s) of the 2006 split broke an invariant: their parts are suspect.");
    expect(verdict(runs, evidence.slice(0, 1)).summary.some((l) => l.includes("counterfactual run(s)"))).toBe(false);
  });

  it("shows fork's p99 when forks are within 10% of the most frequent operation, else the most frequent one", () => {
    expect(dominantOp([run({ operations: { fork: 90, exit: 100 } })])).toBe("fork");
    expect(dominantOp([run({ operations: { fork: 89, exit: 100 } })])).toBe("exit");
    expect(dominantOp([run({ operations: { access: 5 } }), run({ operations: { access: 5, migrate: 9 } })])).toBe("access");
    expect(dominantOp([])).toBeNull();
  });

  it("adds lines and transfers per access when a run made accesses to per-container variables", () => {
    const access = { operations: 50, linesPerAccess: 4, lineAccessesPerAccess: 5, transfersPerAccess: 1.5, dramPerAccess: 0, bySource: {} } as RunResult["access"];
    const cells = formatTable([run({ scheme: "container", cpus: 4, operations: { access: 50 }, totalOps: 200, access })])
      .split("\n")
      .map((l) => l.trim().split(/\s{2,}/));
    expect(cells[0]).toEqual(["scheme", "cpus", "ops/s", "eff", "p99 access", "atomics/op", "xfers/op", "lines/acc", "xfers/acc", "B/task", "refB/ctr", "invariants"]);
    expect(cells[2].slice(7, 9)).toEqual(["4.00", "1.50"]);
  });

  it("formats each row's figures with their units", () => {
    const rows = [
      run({
        scheme: "percpu",
        cpus: 4,
        operations: { fork: 10 },
        throughputOpsPerSec: 8750,
        totalOps: 500,
        scalingEfficiency: 0.756,
        latency: { fork: { p50Ns: 1, p99Ns: 1234.5, maxNs: 2000 } },
        atomicsPerOp: 1.005,
        transfersPerOp: 2,
        memory: { bytesPerTask: 8, refBytesPerContainer: 1536, fixedBytes: 0, liveObjectsAtEnd: 0, awaitingFreePeak: 0, awaitingFreeAtEnd: 0 },
      }),
      run({
        scheme: "none",
        cpus: 16,
        throughputOpsPerSec: 2.5e9,
        totalOps: 40,
        latency: { fork: { p50Ns: 1, p99Ns: 3.2e6, maxNs: 4e6 } },
        memory: { bytesPerTask: 3 << 20, refBytesPerContainer: 0, fixedBytes: 0, liveObjectsAtEnd: 0, awaitingFreePeak: 0, awaitingFreeAtEnd: 0 },
        invariants: { ok: false, violationCount: 2, violations: [] },
      }),
      run({ scheme: "sloppy", cpus: 2, throughputOpsPerSec: 3.4e6, totalOps: 100, latency: {} }),
      run({ scheme: "none", cpus: 4, throughputOpsPerSec: 17500, totalOps: 1000, latency: {} }),
    ];
    const lines = formatTable(rows).split("\n");
    const cells = lines.map((l) => l.trim().split(/\s{2,}/));
    // Throughput against none's at the same CPU count (clone-flags was not run: no column for it);
    // three significant figures; "!" on a run of fewer than 100 operations, explained below.
    expect(cells[0]).toEqual(["scheme", "cpus", "ops/s", "vs none", "eff", "p99 fork", "atomics/op", "xfers/op", "B/task", "refB/ctr", "invariants"]);
    expect(cells[2]).toEqual(["percpu", "4", "8.75k", "0.500x", "76%", "1.23us", "1.00", "2.00", "8B", "1.5KiB", "ok"]);
    expect(cells[3]).toEqual(["none", "16", "2.50G!", "1.00x", "-", "3.20ms", "0", "0", "3.0MiB", "0B", "FAIL (2)"]);
    expect(cells[4]).toEqual(["sloppy", "2", "3.40M", "-", "-", "-", "0", "0", "0B", "0B", "ok"]);
    expect(lines.at(-1)).toBe("! 1 run(s) completed fewer than 100 operations after the warm-up: their figures are noise (give a longer --duration)");
    // Scheme and CPUs are left-aligned, the figures right-aligned, under a rule as wide as each column.
    expect(lines[1].split("  ").map((s) => s.length)).toEqual(cells[0].map((h, i) => Math.max(h.length, ...cells.slice(2, -1).map((c) => c[i].length))));
    expect(lines[2].startsWith("percpu  4 ")).toBe(true);
    expect(lines[2].endsWith("        ok")).toBe(true);
  });
});
