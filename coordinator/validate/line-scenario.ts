import { HomeNode } from "../../shared/coherence/home.ts";
import {
  EV_CPU_STEP,
  EV_LINE_DATA,
  EV_LINE_FREE,
  EV_LINE_INVALIDATE,
  EV_LINE_RECALL,
  EV_LINE_REQUEST,
  RMW_ATOMIC_ADD,
  RMW_NONE,
  RMW_PLAIN_ADD,
} from "../../shared/coherence/protocol.ts";
import { Engine } from "../../shared/engine/engine.ts";
import { Cpu, type CpuHooks } from "../../shared/kernel/cpu.ts";
import { OP_WORK, StepWriter, type Program } from "../../shared/kernel/program.ts";
import { Machine } from "../../shared/machine/machine.ts";
import type { MachinePreset } from "../../shared/machine/presets.ts";

// The coherence protocol on its own: CPUs run hand-written access sequences on a few shared
// lines, with no kernel around them. `refsim validate` times isolated transfers with it, as
// SSYNC's ccbench does on the real machines; the coherence property test and the hand-computed
// MESI tests use it too.

export type LineOp = { kind: "read" | "atomic" | "plain"; line: number } | { kind: "compute"; ps: number };

export interface LineScenario {
  preset: MachinePreset;
  cpuCount: number;
  programs: Map<number, LineOp[]>;
  /** The home node of a line; line % nodes if not given. */
  home?: (line: number) => number;
  /** The seed of the homes' arbitration (1 if not given). */
  seed?: number;
  /** The measured window the homes' and CPUs' counters keep to (all time if not given). */
  window?: { warmupPs: number; durationPs: number };
  /** Lines' values in memory before the run (0 if not given). */
  initial?: Map<number, number>;
}

/** One completed access: when its effect happened, and where its data came from (SOURCE_* code). */
export interface Access {
  cpu: number;
  line: number;
  rmw: number;
  source: number;
  timePs: number;
}

const TAG_INCREMENT = 1;

export function runLineScenario(s: LineScenario) {
  const machine = new Machine(s.preset, s.cpuCount);
  const n = machine.cpuCount;
  const engine = new Engine(n + machine.nodeCount);
  const results = new Map<number, number[]>();
  const accesses: Access[] = [];
  const pending = new Map<number, Program | null>();
  for (const [cpu, ops] of s.programs) {
    const w = new StepWriter();
    for (const op of ops) {
      if (op.kind === "compute") w.compute(op.ps);
      else if (op.kind === "read") w.access(op.line, RMW_NONE);
      else w.access(op.line, op.kind === "atomic" ? RMW_ATOMIC_ADD : RMW_PLAIN_ADD, 1, TAG_INCREMENT);
    }
    pending.set(cpu, { op: OP_WORK, taskId: -1, startPs: 0, steps: w.steps, pc: 0, scratch: 0 });
  }
  const home = s.home ?? ((line: number) => line % machine.nodeCount);
  const hooks: CpuHooks = {
    lineHome: home,
    nextProgram(cpu) {
      const p = pending.get(cpu.id) ?? null;
      pending.set(cpu.id, null);
      return p;
    },
    onResult(_cpu, _p, step, result) {
      results.set(step.line, [...(results.get(step.line) ?? []), result]);
    },
    onAction() {},
    onProgramDone() {},
    trace(cpu, line, rmw, _arg, source, timePs) {
      accesses.push({ cpu, line, rmw, source, timePs });
    },
  };
  const window = s.window ?? { warmupPs: 0, durationPs: Infinity };
  const cpus = Array.from({ length: n }, (_, id) => new Cpu(id, engine, machine, hooks, window));
  const homes = Array.from({ length: machine.nodeCount }, (_, node) => new HomeNode(node, n + node, engine, machine, window, s.seed ?? 1));
  for (const [line, value] of s.initial ?? []) homes[home(line)].presetValue(line, value);
  engine.setHandler({
    handle(type, target, a0, a1, a2, a3) {
      if (type === EV_CPU_STEP) cpus[target].step(a0);
      else if (type === EV_LINE_REQUEST) homes[target - n].request(a0, a1, a2, a3);
      else if (type === EV_LINE_RECALL) cpus[target].onRecall(a0, a1, a2, a3);
      else if (type === EV_LINE_INVALIDATE) cpus[target].onInvalidate(a0, a1);
      else if (type === EV_LINE_DATA) cpus[target].onData(a0, a1, a2, a3);
      else if (type === EV_LINE_FREE) homes[target - n].lineFree(a0);
      else throw new Error(`unexpected event ${type}`);
    },
  });
  for (const cpu of s.programs.keys()) cpus[cpu].wake();
  engine.runUntil(Infinity);
  const finalValue = new Map<number, number>();
  for (const h of homes) {
    for (const [line, e] of h.entries()) {
      const v = e.holder >= 0 ? cpus[e.holder].heldValue(line) : e.value;
      if (v === undefined) throw new Error(`line ${line}: its holder cpu ${e.holder} has no copy`);
      finalValue.set(line, v);
    }
  }
  return { machine, results, accesses, finalValue, homes, cpus, idle: cpus.every((c) => c.idle) };
}
