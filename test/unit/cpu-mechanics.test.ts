import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../shared/metrics/latency-histogram.ts";
import { EV_CPU_STEP } from "../../shared/coherence/protocol.ts";
import { Engine } from "../../shared/engine/engine.ts";
import { Cpu, type CpuHooks } from "../../shared/kernel/cpu.ts";
import { OP_EXIT, OP_FORK, OP_KWORK, StepWriter, type Program } from "../../shared/kernel/program.ts";
import { findMachinePreset } from "../../shared/machine/presets.ts";
import { Machine } from "../../shared/machine/machine.ts";

// A CPU's timing without the memory system: programs of compute steps only, so every figure is
// a sum of the steps' times. The measured window here is [2000 ps, 10000 ps).

const EV_KICK = 99;

function rig(programs: Program[], window = { warmupPs: 2000, durationPs: 10_000 }) {
  const machine = new Machine(findMachinePreset("small-4")!, 1);
  const engine = new Engine(machine.cpuCount + machine.nodeCount);
  const kwork: Program[] = [];
  const done: Array<[number, number]> = [];
  const hooks: CpuHooks = {
    lineHome: () => 0,
    nextProgram: (_cpu, kernelWorkOnly) => kwork.shift() ?? (kernelWorkOnly ? null : (programs.shift() ?? null)),
    onResult: () => {},
    onAction: () => {},
    onProgramDone: (_cpu, p) => done.push([p.op, engine.nowPs]),
  };
  const cpu = new Cpu(0, engine, machine, hooks, window);
  const kicks = new Map<number, () => void>();
  engine.setHandler({
    handle(type, _target, a0) {
      if (type === EV_CPU_STEP) cpu.step(a0);
      else if (type === EV_KICK) kicks.get(a0)!();
    },
  });
  /** Runs `f` at `timePs`. */
  const at = (timePs: number, f: () => void) => {
    kicks.set(timePs, f);
    engine.send(timePs, 0, 1, 1, EV_KICK, timePs);
  };
  return { cpu, engine, kwork, done, at };
}

function program(op: number, ...computePs: number[]): Program {
  const w = new StepWriter();
  for (const ps of computePs) w.compute(ps);
  return { op, taskId: op === OP_KWORK ? -1 : 1, startPs: -1, steps: w.steps, pc: 0, scratch: 0 };
}

describe("a CPU running compute steps", () => {
  it("runs programs back to back; counts an operation, its latency and busy time only inside the measured window", () => {
    // fork: 1000 + 2000 ps from 0, ends at 3000 (inside the window: counted, latency 3000);
    // exit: 4000 + 4000 ps from 3000, ends at 11000 (after the duration: not counted).
    // Busy time counts the steps that start in the window: not the 2000 ps one (it starts at
    // 1000, before the warm-up); the 4000 at 3000 and the 4000 at 7000: 8000.
    const { cpu, engine, done } = rig([program(OP_FORK, 1000, 2000), program(OP_EXIT, 4000, 4000)]);
    cpu.wake();
    engine.runUntil(Infinity);
    expect(done).toEqual([
      [OP_FORK, 3000],
      [OP_EXIT, 11_000],
    ]);
    expect(cpu.stats.opsByKind[OP_FORK]).toBe(1);
    expect(cpu.stats.opsByKind[OP_EXIT]).toBe(0);
    expect(Array.from(cpu.stats.completedByKind.slice(0, 2))).toEqual([1, 1]);
    expect(cpu.stats.latencyPsByKind[OP_FORK].report()).toEqual(LatencyHistogram.of([3000]).report());
    expect(cpu.stats.latencyPsByKind[OP_EXIT].count).toBe(0);
    expect(cpu.stats.busyPs).toBe(8000);
    expect(cpu.stats.stallPs).toBe(0);
    expect(cpu.idle).toBe(true);
  });

  it("counts an operation that ends exactly at the warm-up, and not one that ends exactly at the duration", () => {
    const { cpu, engine } = rig([program(OP_FORK, 2000), program(OP_FORK, 8000)]);
    cpu.wake();
    engine.runUntil(Infinity);
    expect(cpu.stats.latencyPsByKind[OP_FORK].report()).toEqual(LatencyHistogram.of([2000]).report());
  });

  // An interrupt at 2500 ps, 1500 ps into the fork's 3000 ps step: the kernel work (400 ps) runs
  // at once, then the fork resumes with the 1500 ps it still needs: it ends at 2500 + 400 + 1500
  // = 4400, latency 4400. Busy time in the window counts the steps that start in it: the kernel
  // work's 400 and the fork's resumed 1500 = 1900. (The fork's step began at 1000, before the
  // warm-up, and was never counted: the interrupt must not take its remaining time back. It did,
  // leaving 400, until this test.)
  it("runs kernel work at an interrupt and resumes the preempted step with the time it still needed", () => {
    const { cpu, engine, kwork, done, at } = rig([program(OP_FORK, 1000, 3000)]);
    at(2500, () => {
      kwork.push(program(OP_KWORK, 400));
      cpu.interrupt();
    });
    cpu.wake();
    engine.runUntil(Infinity);
    expect(done).toEqual([
      [OP_KWORK, 2900],
      [OP_FORK, 4400],
    ]);
    expect(cpu.stats.latencyPsByKind[OP_FORK].report()).toEqual(LatencyHistogram.of([4400]).report());
    expect(cpu.stats.latencyPsByKind[OP_KWORK].report()).toEqual(LatencyHistogram.of([400]).report());
    expect(cpu.stats.busyPs).toBe(1900);
  });

  it("takes kernel work after the current kernel work, and wakes an idle CPU for it", () => {
    const { cpu, engine, kwork, done, at } = rig([]);
    at(3000, () => {
      kwork.push(program(OP_KWORK, 500));
      cpu.interrupt();
    });
    at(3200, () => {
      kwork.push(program(OP_KWORK, 100));
      cpu.interrupt();
    });
    cpu.wake();
    engine.runUntil(Infinity);
    expect(done).toEqual([
      [OP_KWORK, 3500],
      [OP_KWORK, 3600],
    ]);
  });
});
