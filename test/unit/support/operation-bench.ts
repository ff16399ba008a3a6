import { isAtomic, RMW_NONE } from "../../../shared/coherence/protocol.ts";
import { applyRmw } from "../../../shared/coherence/rmw.ts";
import type { Kernel, Task } from "../../../shared/kernel/kernel.ts";
import { ROLE_WORKER } from "../../../shared/kernel/kernel.ts";
import { isPerCpuLine, objectOfLine, type KObject } from "../../../shared/kernel/objects.ts";
import { STEP_ACCESS, STEP_ACTION, StepWriter, OP_KWORK, type Program } from "../../../shared/kernel/program.ts";
import type { Scheme, SchemeName } from "../../../shared/schemes/scheme.ts";
import { ALL_NAMESPACE_KINDS } from "../../../shared/spec/spec.ts";
import { Simulation } from "../../../shared/simulation.ts";
import { runOf } from "./spec.ts";

/** One access an operation executed, with the value the program saw. */
export interface ExecutedAccess {
  line: number;
  rmw: number;
  arg: number;
  result: number;
}

export interface Executed<T> {
  /** What the scheme method returned (the new attachment). */
  value: T;
  accesses: ExecutedAccess[];
  /** Objects the operation allocated. */
  created: KObject[];
}

/**
 * Executes single operations of a scheme outside time: a Simulation is built (set-up done, run not
 * started), then each operation's steps are applied one by one to a memory image taken from the
 * home nodes, and every access's result goes back to the kernel exactly as a CPU would hand it
 * over (Kernel.onResult / onAction), so steps a result inserts (a per-CPU add after reading the
 * mode word, a batch taken when the spares run out, a free at zero) are executed and counted too.
 * No caches and no timing: this counts what one operation does, not what it costs.
 */
export class OperationBench {
  readonly sim: Simulation;
  readonly kernel: Kernel;
  readonly scheme: Scheme;
  readonly memory = new Map<number, number>();

  constructor(doc: Record<string, unknown>) {
    this.sim = new Simulation(runOf(doc));
    this.kernel = this.sim.kernel;
    this.scheme = this.kernel.scheme;
    for (const home of this.sim.homes) for (const [line, entry] of home.entries()) this.memory.set(line, entry.value);
  }

  /** The long-lived task set up on `cpu` (its first one). */
  worker(cpu: number): Task {
    for (const t of this.kernel.tasks.values()) if (t.cpu === cpu && t.role === ROLE_WORKER) return t;
    throw new Error(`no worker on cpu ${cpu}`);
  }

  value(line: number): number {
    return this.memory.get(line) ?? 0;
  }

  /** Runs `build` on `cpu` and executes the steps it writes, and the steps their results add. */
  run<T>(cpu: number, build: (k: Kernel, w: StepWriter) => T): Executed<T> {
    const k = this.kernel;
    const before = new Set<number>();
    for (const o of k.objects.all()) before.add(o.id);
    k.currentCpu = cpu;
    const w = new StepWriter([]);
    const value = build(k, w);
    const program: Program = { op: OP_KWORK, taskId: -1, startPs: 0, steps: w.steps, pc: 0, scratch: 0 };
    const hooksCpu = this.sim.cpus[cpu];
    const out = new Float64Array(2);
    const accesses: ExecutedAccess[] = [];
    while (program.pc < program.steps.length) {
      const s = program.steps[program.pc++];
      const more = new StepWriter([]);
      if (s.kind === STEP_ACCESS) {
        applyRmw(s.rmw, this.value(s.line), s.arg, out);
        this.memory.set(s.line, out[0]);
        accesses.push({ line: s.line, rmw: s.rmw, arg: s.arg, result: out[1] });
        if (s.tag !== 0) k.onResult(hooksCpu, program, s, out[1], more);
      } else if (s.kind === STEP_ACTION) {
        k.onAction(hooksCpu, program, s, more);
      }
      if (more.steps.length > 0) program.steps.splice(program.pc, 0, ...more.steps);
    }
    const created = [...k.objects.all()].filter((o) => !before.has(o.id));
    return { value, accesses, created };
  }

  /** Violations the kernel recorded so far, on every CPU. */
  violations(): string[] {
    return this.kernel.perCpu.flatMap((st) => st.violations.map((v) => `${v.kind}: ${v.detail}`));
  }

  objectOf(line: number): number {
    return objectOfLine(line, this.kernel.cpuCount);
  }
}

export function atomics(accesses: readonly ExecutedAccess[]): ExecutedAccess[] {
  return accesses.filter((a) => isAtomic(a.rmw));
}

/** Atomic RMWs on shared lines (not per-CPU data), the ones that bounce between caches. */
export function sharedAtomics(accesses: readonly ExecutedAccess[]): ExecutedAccess[] {
  return accesses.filter((a) => isAtomic(a.rmw) && !isPerCpuLine(a.line));
}

export function reads(accesses: readonly ExecutedAccess[]): ExecutedAccess[] {
  return accesses.filter((a) => a.rmw === RMW_NONE);
}

export function distinctLines(accesses: readonly ExecutedAccess[]): number {
  return new Set(accesses.map((a) => a.line)).size;
}

/** The namespace kinds of a spec that names none, in their order (a kind's index, a mask's bit). */
export const KINDS: readonly string[] = ALL_NAMESPACE_KINDS;
export const kindIndex = (name: string): number => KINDS.indexOf(name);
/** The mask of the kinds named. */
export const kindBits = (...names: string[]): number => names.reduce((m, n) => m | (1 << kindIndex(n)), 0);

/** A bench for `scheme` on small-4 x 4 under fork-storm, with two containers of `nesting` levels below the root. */
export function containersBench(scheme: SchemeName, nesting = 0): OperationBench {
  return new OperationBench({
    machine: "small-4",
    cpus: [4],
    schemes: [scheme],
    workload: { preset: "fork-storm", containers: { count: 2, nesting, pinToSockets: false } },
  });
}
