import { Engine, type EventHandler } from "./engine/engine.ts";
import { SimulationError } from "./engine/errors.ts";
import { Machine } from "./machine/machine.ts";
import { HOP2, PACKAGE, SMT, DIE, HOP1 } from "./machine/distance.ts";
import { HomeNode } from "./coherence/home.ts";
import {
  EV_CPU_STEP,
  EV_LINE_DATA,
  EV_LINE_INVALIDATE,
  EV_LINE_RECALL,
  EV_LINE_REQUEST,
  EV_TASK_ARRIVE,
  EV_TIMER,
} from "./coherence/protocol.ts";
import { SOURCE_NAMES } from "./coherence/source.ts";
import { Cpu, type CpuHooks } from "./kernel/cpu.ts";
import { Kernel } from "./kernel/kernel.ts";
import { OBJ_NSPROXY, OBJ_TASK, OBJ_GLOBAL } from "./kernel/objects.ts";
import { isCountedOp, OP_KINDS, type OpKindName } from "./kernel/program.ts";
import { SampleBuffer } from "./metrics/samples.ts";
import { percentile } from "./metrics/stats.ts";
import { checkReferences } from "./metrics/invariants.ts";
import type { LatencySummary, RunResult, SourceCounts } from "./metrics/result.ts";
import { COUNTERS } from "./schemes/index.ts";
import type { Scheme } from "./schemes/scheme.ts";
import type { RunConfig } from "./spec/resolve.ts";
import { WorkloadDriver } from "./workloads/driver.ts";
import { setUpWorkload } from "./workloads/setup.ts";

export interface SimulationOptions {
  /** Sees every access a CPU makes (tests count accesses with it). */
  trace?: CpuHooks["trace"];
  /**
   * Runs this scheme in place of the one config.scheme names (results keep that name). Tests use
   * it to check that the invariant checks catch a deliberately broken scheme.
   */
  schemeOverride?: Scheme;
}

/**
 * One run, in one process: the engine, the CPUs and home nodes of the machine, the kernel
 * model and the workload. `run()` simulates the duration, lets in-flight work finish (no new
 * operations start), checks the invariants and returns the run's metrics.
 */
export class Simulation implements EventHandler {
  readonly config: RunConfig;
  readonly engine: Engine;
  readonly machine: Machine;
  readonly kernel: Kernel;
  readonly cpus: Cpu[];
  readonly homes: HomeNode[];

  constructor(config: RunConfig, options: SimulationOptions = {}) {
    this.config = config;
    this.machine = new Machine(config.machine, config.cpuCount);
    const n = this.machine.cpuCount;
    this.engine = new Engine(n + this.machine.nodeCount);
    this.engine.setHandler(this);
    this.kernel = new Kernel(config, this.machine, this.engine, undefined, options.schemeOverride);
    this.kernel.programmer = new WorkloadDriver(config.workload);
    const hooks: CpuHooks = options.trace === undefined ? this.kernel : Object.assign(Object.create(this.kernel) as Kernel, { trace: options.trace });
    this.cpus = [];
    for (let cpu = 0; cpu < n; cpu++) this.cpus.push(new Cpu(cpu, this.engine, this.machine, hooks, config.warmupPs));
    this.homes = [];
    for (let node = 0; node < this.machine.nodeCount; node++) {
      this.homes.push(new HomeNode(node, n + node, this.engine, this.machine, config.warmupPs));
    }
    setUpWorkload(this.kernel, config.workload);
    for (const [line, value] of this.kernel.finishSetup()) this.homes[this.kernel.lineHome(line)].presetValue(line, value);
  }

  handle(type: number, target: number, a0: number, a1: number, a2: number, a3: number): void {
    switch (type) {
      case EV_CPU_STEP:
        this.cpus[target].step();
        return;
      case EV_LINE_REQUEST:
        this.homes[target - this.cpus.length].request(a0, a1, a2);
        return;
      case EV_LINE_RECALL:
        this.cpus[target].onRecall(a0, a1, a2, a3);
        return;
      case EV_LINE_INVALIDATE:
        this.cpus[target].onInvalidate(a0);
        return;
      case EV_LINE_DATA:
        this.cpus[target].onData(a0, a1, a2, a3);
        return;
      case EV_TASK_ARRIVE:
        this.kernel.taskArrived(target, a0);
        this.cpus[target].wake();
        return;
      case EV_TIMER:
        this.kernel.timerFired(target, a0, a1);
        this.cpus[target].wake();
        return;
      default:
        throw new SimulationError(`unknown event type ${type}`, this.engine.nowPs, `entity ${target}`);
    }
  }

  run(): RunResult {
    this.kernel.startTimers();
    for (const cpu of this.cpus) cpu.wake();
    this.engine.runUntil(this.config.durationPs);
    // Drain: nothing new starts after the duration, but work in flight completes.
    this.engine.runUntil(Infinity);
    return this.collect();
  }

  /** The final value of a line: in the cache that holds it, else in memory. */
  lineValue(line: number): number {
    const held = this.holderValues ??= this.gatherHeld();
    const v = held.get(line);
    if (v !== undefined) return v;
    return this.memoryValues.get(line) ?? 0;
  }
  private holderValues: Map<number, number> | null = null;
  private memoryValues = new Map<number, number>();

  private gatherHeld(): Map<number, number> {
    const out = new Map<number, number>();
    for (const home of this.homes) {
      for (const [line, e] of home.entries()) {
        if (e.holder >= 0) {
          const v = this.cpus[e.holder].heldValue(line);
          if (v === undefined) throw new SimulationError(`line ${line} is recorded at cpu ${e.holder}, which does not hold it`, this.engine.nowPs, `home ${home.node}`);
          out.set(line, v);
        } else this.memoryValues.set(line, e.value);
      }
    }
    return out;
  }

  private collect(): RunResult {
    const cfg = this.config;
    const k = this.kernel;
    const measuredPs = cfg.durationPs - cfg.warmupPs;
    const operations: Partial<Record<OpKindName, number>> = {};
    const latency: Partial<Record<OpKindName, LatencySummary>> = {};
    let totalOps = 0;
    OP_KINDS.forEach((name, op) => {
      if (!isCountedOp(op)) return;
      let count = 0;
      for (const cpu of this.cpus) count += cpu.stats.opsByKind[op];
      if (count === 0) return;
      operations[name] = count;
      totalOps += count;
      const sorted = SampleBuffer.mergeSorted(this.cpus.map((c) => c.stats.latencyPsByKind[op]));
      latency[name] = { p50Ns: round3(percentile(sorted, 50) / 1000), p99Ns: round3(percentile(sorted, 99) / 1000), maxNs: round3(sorted[sorted.length - 1] / 1000) };
    });
    const atomicsBySource = sumSources(this.cpus.map((c) => c.stats.atomicsBySource));
    const accessesBySource = sumSources(this.cpus.map((c) => c.stats.accessesBySource));
    let atomicsTotal = 0;
    for (const v of Object.values(atomicsBySource)) atomicsTotal += v;
    let shared = 0;
    let stallPs = 0;
    let busyPs = 0;
    for (const cpu of this.cpus) {
      shared += cpu.stats.sharedAtomics;
      stallPs += cpu.stats.stallPs;
      busyPs += cpu.stats.busyPs;
    }
    const transfers = { smt: 0, die: 0, package: 0, hop1: 0, hop2: 0, total: 0 };
    let dramLocal = 0;
    let dramRemote = 0;
    let invalidations = 0;
    let queueWaitPs = 0;
    for (const h of this.homes) {
      const t = h.stats.transfersByClass;
      transfers.smt += t[SMT];
      transfers.die += t[DIE];
      transfers.package += t[PACKAGE];
      transfers.hop1 += t[HOP1];
      transfers.hop2 += t[HOP2];
      dramLocal += h.stats.dramLocal;
      dramRemote += h.stats.dramRemote;
      invalidations += h.stats.invalidations;
      queueWaitPs += h.stats.queueWaitPs;
    }
    transfers.total = transfers.smt + transfers.die + transfers.package + transfers.hop1 + transfers.hop2;

    const freed = new Set<number>();
    const switched = new Set<number>();
    const events: Array<[number, number, number]> = [];
    const violations = [];
    for (const st of k.perCpu) {
      for (const o of st.freed) freed.add(o);
      for (const o of st.switched) switched.add(o);
      for (let i = 0; i < st.awaiting.length; i += 3) events.push([st.awaiting[i], st.awaiting[i + 1], st.awaiting[i + 2]]);
      violations.push(...st.violations);
    }
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    let awaitingNow = 0;
    let awaitingPeak = 0;
    let awaitingAtEnd = 0;
    const awaitingSet = new Set<number>();
    for (const [t, obj, delta] of events) {
      awaitingNow += delta;
      if (delta > 0) awaitingSet.add(obj);
      else awaitingSet.delete(obj);
      if (t < cfg.durationPs) {
        if (awaitingNow > awaitingPeak) awaitingPeak = awaitingNow;
        awaitingAtEnd = awaitingNow;
      }
    }
    violations.push(...checkReferences(k, (line) => this.lineValue(line), { freed, switched, awaiting: awaitingSet }));

    let liveObjects = 0;
    for (const o of k.objects.all()) if (o.type !== OBJ_TASK && o.type !== OBJ_GLOBAL && !freed.has(o.id)) liveObjects++;

    const seconds = measuredPs / 1e12;
    return {
      scheme: cfg.scheme,
      machine: cfg.machine.name,
      cpus: cfg.cpuCount,
      workload: cfg.workload.name,
      seed: cfg.seed,
      measuredPs,
      operations,
      totalOps,
      throughputOpsPerSec: round3(totalOps / seconds),
      latency,
      atomics: { total: atomicsTotal, shared, bySource: atomicsBySource },
      atomicsPerOp: perOp(atomicsTotal, totalOps),
      sharedAtomicsPerOp: perOp(shared, totalOps),
      accessesBySource,
      lineTransfers: transfers,
      transfersPerOp: perOp(transfers.total, totalOps),
      dramFetches: { local: dramLocal, remote: dramRemote },
      invalidations,
      coherenceStallPs: stallPs,
      stallShare: busyPs + stallPs > 0 ? round6(stallPs / (busyPs + stallPs)) : 0,
      lineQueueWaitPs: queueWaitPs,
      memory: {
        bytesPerTask: k.scheme.bytesPerTask(k.kindCount),
        refBytesPerContainer: this.refBytesPerContainer(),
        fixedBytes: cfg.scheme === "refcache" ? k.cpuCount * REFCACHE_SLOTS * REFCACHE_SLOT_BYTES : 0,
        liveObjectsAtEnd: liveObjects,
        awaitingFreePeak: awaitingPeak,
        awaitingFreeAtEnd: awaitingAtEnd,
      },
      scalingEfficiency: null,
      engineEvents: this.engine.eventsProcessed,
      invariants: { ok: violations.length === 0, violationCount: violations.length, violations: violations.slice(0, 20) },
    };
  }

  /** Reference-count (and nsproxy bundle) bytes of the objects of the first set-up container. */
  private refBytesPerContainer(): number {
    const k = this.kernel;
    const first = k.containers[0];
    if (first === undefined) return 0;
    const seen = new Set<number>();
    const stack = [...first.chain[0].creatorHolds];
    let bytes = 0;
    while (stack.length > 0) {
      const id = stack.pop() as number;
      if (seen.has(id)) continue;
      seen.add(id);
      const o = k.object(id);
      const counter = COUNTERS[o.counter];
      if (counter !== null) bytes += counter.bytesPerObject(k.cpuCount);
      if (o.type === OBJ_NSPROXY) bytes += 8 * k.kindCount;
      stack.push(...o.holds);
    }
    return bytes;
  }
}

/** sv6's refcache: 4096 cache slots per CPU of (object pointer, delta). */
const REFCACHE_SLOTS = 4096;
const REFCACHE_SLOT_BYTES = 16;

function sumSources(arrays: Float64Array[]): SourceCounts {
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

/** Runs one configuration. */
export function simulate(config: RunConfig, options: SimulationOptions = {}): RunResult {
  return new Simulation(config, options).run();
}
