import { RMW_ATOMIC_ADD, RMW_NONE } from "../../shared/coherence/protocol.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { findMachinePreset } from "../../shared/machine/presets.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import type { SchemeName } from "../../shared/schemes/scheme.ts";
import { simulate } from "../../shared/simulation.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { runLineScenario } from "./line-scenario.ts";
import { PUBLISHED, RADIXVM_CORES, type PublishedPoint, type PublishedRole, type RefcountBenchPoint } from "./published.ts";

/** One row of the validation table. */
export interface ValidationRow {
  source: string;
  machine: string;
  experiment: string;
  role: PublishedRole;
  publishedCycles: number;
  simulatedCycles: number;
  ratio: number;
}

/** One point of a contended-line curve: a hot-line run, in cycles of the machine's clock. */
export interface HotLinePoint {
  machine: string;
  writers: number;
  /** Mean cycles between two increments of the line (the machine's, 1 / throughput). */
  cyclesPerAtomic: number;
  /** Median cycles one writer waits for its increment. */
  p50LatencyCycles: number;
  /** Share of the line's transfers that left the holder's socket. */
  crossSocketShare: number;
  /** The published figure at this writer count (cycles per atomic at the machine's clock), if any. */
  published: { cycles: number; role: PublishedRole } | null;
}

/** One row of the RadixVM comparison: iterations per second, published and simulated. */
export interface RefcountBenchRow {
  source: string;
  machine: string;
  experiment: string;
  role: PublishedRole;
  publishedItersPerSec: number;
  simulatedItersPerSec: number;
  ratio: number;
}

export interface GetPutPoint {
  cpus: number;
  throughput: Partial<Record<SchemeName, number>>;
  /** refcache's throughput over the shared counter's (`container`: one refcount_t on the object). */
  refcacheOverShared: number;
}

const WAIT_PS = 10_000_000; // 10 us: the line is long settled when the requester comes

function cyclesOf(machine: string, ps: number): number {
  const m = findMachinePreset(machine);
  if (m === undefined) throw new Error(`unknown machine ${machine}`);
  return (ps * m.frequencyMHz) / 1e6;
}

/**
 * The latency of one isolated access to a line Modified in another core, as SSYNC's ccbench
 * measures it: the holder writes the line, and long afterwards the requester accesses it; the
 * line is homed on the holder's node.
 */
function transferCycles(p: Extract<PublishedPoint, { experiment: "transfer" }>): number {
  const preset = findMachinePreset(p.machine)!;
  const machine = new Machine(preset);
  const home = machine.topology.nodeOf(p.holder);
  const access = p.kind === "atomic" ? { kind: "atomic" as const, line: 0 } : { kind: "read" as const, line: 0 };
  const r = runLineScenario({
    preset,
    cpuCount: machine.cpuCount,
    home: () => home,
    programs: new Map([
      [p.holder, [{ kind: "atomic" as const, line: 0 }]],
      [p.requester, [{ kind: "compute" as const, ps: WAIT_PS }, access]],
    ]),
  });
  const done = r.accesses.find((a) => a.cpu === p.requester && a.rmw === (p.kind === "atomic" ? RMW_ATOMIC_ADD : RMW_NONE));
  if (done === undefined) throw new Error(`${p.machine} ${p.label}: the access never completed`);
  return cyclesOf(p.machine, done.timePs - WAIT_PS);
}

function runSpec(doc: Record<string, unknown>): RunResult[] {
  return planRuns(resolveSpec(parseSpec(doc))).map((c) => simulate(c));
}

function localAtomicCycles(machine: string): number {
  const [r] = runSpec({ machine, cpus: [1], schemes: ["none"], workload: "hot-line", duration: "50us", warmup: "5us" });
  return cyclesOf(machine, 1e12 / r.throughputOpsPerSec);
}

/** Every published latency comparison (isolated transfers, the local atomic), with the model's answer. */
export function publishedRows(points: readonly PublishedPoint[] = PUBLISHED): ValidationRow[] {
  return points.flatMap((p) => {
    if (p.experiment === "refcount-bench") return [];
    const simulated = p.experiment === "transfer" ? transferCycles(p) : localAtomicCycles(p.machine);
    return {
      source: p.source,
      machine: p.machine,
      experiment: p.experiment === "transfer" ? `isolated ${p.label}` : p.label,
      role: p.role,
      publishedCycles: p.cycles,
      simulatedCycles: round(simulated, 1),
      ratio: round(simulated / p.cycles, 3),
    };
  });
}

/** RMWs on the page's count per RadixVM iteration (dup_page: 2 gets and a put; munmap: a put). */
export const RMWS_PER_ITERATION = 4;

/**
 * The contended line's cycles per atomic that a RadixVM shared-counter point implies: from 10
 * cores on, the cores ask for the line far faster than it moves (10 cores alone would make 10.8M
 * iterations/s, the line allows 4.3M), so the line is saturated and passes from holder to holder
 * RMWS_PER_ITERATION times per iteration: 1 / (4 x iterations/s), at the machine's clock.
 */
export function radixvmCyclesPerAtomic(machine: string, writers: number, points: readonly PublishedPoint[] = PUBLISHED): { cycles: number; role: PublishedRole } | null {
  const p = points.find((q): q is RefcountBenchPoint => q.experiment === "refcount-bench" && q.machine === machine && q.scheme === "container" && q.cores === writers);
  if (p === undefined || p.cores < 10) return null;
  return { cycles: round(cyclesOf(machine, 1e12 / (RMWS_PER_ITERATION * p.itersPerSec)), 1), role: p.role };
}

/** hot-line at each writer count: the model's contended curve, beside the figure derived from RadixVM where there is one. */
export function hotLineCurve(machine: string, writers: readonly number[], duration = "200us"): HotLinePoint[] {
  const runs = runSpec({ machine, cpus: [...writers], schemes: ["none"], workload: "hot-line", duration, warmup: "20us" });
  return runs.map((r) => {
    const s = r.lineTransferShare;
    return {
      machine,
      writers: r.cpus,
      cyclesPerAtomic: round(cyclesOf(machine, 1e12 / r.throughputOpsPerSec), 1),
      p50LatencyCycles: round(cyclesOf(machine, (r.latency["hot-inc"]?.p50Ns ?? 0) * 1000), 1),
      crossSocketShare: round(s.hop1 + s.hop2, 3),
      published: radixvmCyclesPerAtomic(machine, r.cpus),
    };
  });
}

/**
 * The work of one RadixVM iteration besides its reference counting (the system calls, the radix
 * tree, the page tracking), as think time between refsim's get-put operations: a RadixVM iteration
 * is two get-put operations (2 gets, 2 puts), and on one core, with nothing contended, the shared
 * counter's iteration took 1 / (published 1-core iterations/s). Think = half that, less the
 * model's own cost of one get-put on one CPU. Taken from the 1-core point alone (an input).
 */
export function radixvmThinkPs(points: readonly PublishedPoint[] = PUBLISHED): number {
  const one = points.find((q): q is RefcountBenchPoint => q.experiment === "refcount-bench" && q.scheme === "container" && q.cores === 1);
  if (one === undefined) throw new Error("no 1-core RadixVM shared-counter point");
  const [r] = runSpec({ machine: one.machine, cpus: [1], schemes: ["container"], workload: { preset: "get-put", think: "0ns" }, duration: "50us", warmup: "5us" });
  return Math.round(1e12 / (2 * one.itersPerSec) - 1e12 / r.throughputOpsPerSec);
}

/** RadixVM's reference-counting microbenchmark beside get-put with the think time of radixvmThinkPs. */
export function refcountBenchRows(cores: readonly number[] = RADIXVM_CORES, duration = "200us", points: readonly PublishedPoint[] = PUBLISHED): RefcountBenchRow[] {
  const bench = points.filter((q): q is RefcountBenchPoint => q.experiment === "refcount-bench" && cores.includes(q.cores));
  if (bench.length === 0) return [];
  const thinkPs = radixvmThinkPs(points);
  const machine = bench[0].machine;
  const schemes = [...new Set(bench.map((q) => q.scheme))];
  const runs = runSpec({ machine, cpus: [...new Set(bench.map((q) => q.cores))].sort((a, b) => a - b), schemes, workload: { preset: "get-put", think: `${thinkPs}ps` }, duration, warmup: "20us" });
  return bench.map((q) => {
    const r = runs.find((x) => x.scheme === q.scheme && x.cpus === q.cores)!;
    const simulated = r.throughputOpsPerSec / 2;
    return {
      source: q.source,
      machine: q.machine,
      experiment: q.label,
      role: q.role,
      publishedItersPerSec: q.itersPerSec,
      simulatedItersPerSec: round(simulated, 0),
      ratio: round(simulated / q.itersPerSec, 3),
    };
  });
}

/** get-put on one shared object, every scheme, at each CPU count. */
export function getPutTable(machine: string, cpus: readonly number[], duration = "60us"): GetPutPoint[] {
  const runs = runSpec({ machine, cpus: [...cpus], schemes: "all", workload: "get-put", duration, warmup: "10us" });
  return cpus.map((n) => {
    const at = runs.filter((r) => r.cpus === n);
    const throughput = Object.fromEntries(at.map((r) => [r.scheme, r.throughputOpsPerSec])) as Partial<Record<SchemeName, number>>;
    const shared = throughput.container ?? NaN;
    return { cpus: n, throughput, refcacheOverShared: round((throughput.refcache ?? NaN) / shared, 2) };
  });
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
