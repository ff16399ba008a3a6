import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HomeNode } from "../../shared/coherence/home.ts";
import {
  EV_CPU_STEP,
  EV_LINE_DATA,
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
import { findMachinePreset } from "../../shared/machine/presets.ts";

// The directory protocol on its own: CPUs run hand-written access sequences on a few shared lines,
// with no kernel around them. Whatever the interleaving, every line behaves as one memory word:
// no increment is lost, and the results of the increments on a line are 1, 2, ..., n.

type Op = { kind: "read" | "atomic" | "plain"; line: number } | { kind: "compute"; ps: number };

interface Scenario {
  machine: string;
  cpuCount: number;
  programs: Map<number, Op[]>;
}

const TAG_INCREMENT = 1;

function runScenario(s: Scenario) {
  const machine = new Machine(findMachinePreset(s.machine)!, s.cpuCount);
  const n = machine.cpuCount;
  const engine = new Engine(n + machine.nodeCount);
  const results = new Map<number, number[]>();
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
  const hooks: CpuHooks = {
    lineHome: (line) => line % machine.nodeCount,
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
  };
  const ALWAYS = { warmupPs: 0, durationPs: Infinity };
  const cpus = Array.from({ length: n }, (_, id) => new Cpu(id, engine, machine, hooks, ALWAYS));
  const homes = Array.from({ length: machine.nodeCount }, (_, node) => new HomeNode(node, n + node, engine, machine, ALWAYS));
  engine.setHandler({
    handle(type, target, a0, a1, a2, a3) {
      if (type === EV_CPU_STEP) cpus[target].step(a0);
      else if (type === EV_LINE_REQUEST) homes[target - n].request(a0, a1, a2, a3);
      else if (type === EV_LINE_RECALL) cpus[target].onRecall(a0, a1, a2, a3);
      else if (type === EV_LINE_INVALIDATE) cpus[target].onInvalidate(a0);
      else if (type === EV_LINE_DATA) cpus[target].onData(a0, a1, a2, a3);
      else throw new Error(`unexpected event ${type}`);
    },
  });
  for (const cpu of s.programs.keys()) cpus[cpu].wake();
  engine.runUntil(Infinity);
  const finalValue = new Map<number, number>();
  for (const home of homes) {
    for (const [line, e] of home.entries()) {
      const v = e.holder >= 0 ? cpus[e.holder].heldValue(line) : e.value;
      expect(v, `line ${line} at cpu ${e.holder}`).toBeDefined();
      finalValue.set(line, v!);
    }
  }
  return { results, finalValue, idle: cpus.every((c) => c.idle) };
}

function scenarioArb(machine: string, cpuCount: number): fc.Arbitrary<Scenario> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("read" as const), line: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("atomic" as const), line: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("plain" as const), line: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("compute" as const), ps: fc.integer({ min: 1, max: 300_000 }) }) },
  );
  return fc
    .uniqueArray(fc.integer({ min: 0, max: cpuCount - 1 }), { minLength: 2, maxLength: Math.min(6, cpuCount) })
    .chain((active) => fc.tuple(...active.map((cpu) => fc.array(op, { minLength: 1, maxLength: 40 }).map((ops) => [cpu, ops] as const))))
    .map((entries) => ({ machine, cpuCount, programs: new Map(entries) }));
}

describe("directory coherence protocol", () => {
  it.each([
    ["small-4", 4],
    ["modern-2s", 40], // SMT siblings (CPU n and n + 16) and the second socket
    ["opteron-48", 24], // dies of one package and sockets one and two hops apart
  ])("on %s (%i CPUs), concurrent reads and increments lose no update and every increment sees a distinct count", (machine, cpuCount) => {
    fc.assert(
      fc.property(scenarioArb(machine, cpuCount), (s) => {
        const { results, finalValue, idle } = runScenario(s);
        expect(idle).toBe(true);
        const increments = new Map<number, number>();
        for (const ops of s.programs.values()) for (const o of ops) if (o.kind === "atomic" || o.kind === "plain") increments.set(o.line, (increments.get(o.line) ?? 0) + 1);
        for (const [line, count] of increments) {
          expect(finalValue.get(line), `line ${line}`).toBe(count);
          expect([...(results.get(line) ?? [])].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
        }
      }),
      { numRuns: 150, seed: 4242 },
    );
  });

  it("a CPU holding a Shared copy while its ownership request is granted does not pass the stale copy on (regression)", () => {
    // Both CPUs read the line (one becomes the forwarding holder, the other a sharer), then both
    // increment it: the second increment must see the first.
    const { results, finalValue } = runScenario({
      machine: "small-4",
      cpuCount: 2,
      programs: new Map([
        [0, [{ kind: "read", line: 0 }, { kind: "compute", ps: 50_000 }, { kind: "atomic", line: 0 }]],
        [1, [{ kind: "read", line: 0 }, { kind: "compute", ps: 50_000 }, { kind: "atomic", line: 0 }]],
      ] as Array<[number, Op[]]>),
    });
    expect(finalValue.get(0)).toBe(2);
    expect(results.get(0)!.sort()).toEqual([1, 2]);
  });
});
