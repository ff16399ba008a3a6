import { describe, expect, it } from "vitest";
import { HomeNode } from "../../shared/coherence/home.ts";
import { pickWaiter } from "../../shared/coherence/arbitration.ts";
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
  RMW_SET,
} from "../../shared/coherence/protocol.ts";
import { sourceCode, SOURCE_DRAM_LOCAL, SOURCE_DRAM_REMOTE } from "../../shared/coherence/source.ts";
import { Engine } from "../../shared/engine/engine.ts";
import { Cpu, type CpuHooks } from "../../shared/kernel/cpu.ts";
import { OP_ACCESS, OP_EXIT, OP_FORK, OP_KWORK, StepWriter, type Program } from "../../shared/kernel/program.ts";
import { UNTIL_EQUAL } from "../../shared/locks/lock-word.ts";
import { findMachinePreset } from "../../shared/machine/presets.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { DIE, SELF } from "../../shared/machine/distance.ts";
import { ATTR_INTERRUPTED } from "../../shared/metrics/attribution.ts";

// A CPU with the memory system around it (homes, no kernel), on small-4 at 1 GHz (1 cycle = 1 ns
// = 1000 ps): CPUs 0 and 1 on node 0, 2 and 3 on node 1. Lines homed by line % 2 (a negative
// line, per-CPU data, on node 0). The figures, from the preset: a hit 4 ns, an atomic on a line
// held exclusive 20 ns; a line nobody holds comes from DRAM: from the own node 120 ns, from the
// other node 200 ns; a line another CPU of the die holds: 100 ns for its transfer.

const CLASS_COMPUTE = 7;
const CLASS_MEMORY = 9;

interface Done {
  cpu: number;
  op: number;
  atPs: number;
  classes: number[];
  /** Every class's time summed. */
  total: number;
}

function rig(programs: Map<number, Program[]>, window = { warmupPs: 0, durationPs: Infinity }, extra: Partial<CpuHooks> = {}) {
  const machine = new Machine(findMachinePreset("small-4")!, 4);
  const n = machine.cpuCount;
  const engine = new Engine(n + machine.nodeCount);
  const kwork = new Map<number, Program[]>();
  const done: Done[] = [];
  const results: Array<[number, number, number]> = [];
  const home = (line: number) => (line < 0 ? 0 : line % 2);
  const hooks: CpuHooks = {
    lineHome: home,
    nextProgram(cpu, kernelWorkOnly) {
      const k = kwork.get(cpu.id)?.shift();
      if (k !== undefined) return k;
      if (kernelWorkOnly) return null;
      return programs.get(cpu.id)?.shift() ?? null;
    },
    onResult(cpu, _p, step, result) {
      results.push([cpu.id, step.line, result]);
    },
    onAction() {},
    onProgramDone(cpu, p) {
      done.push({ cpu: cpu.id, op: p.op, atPs: engine.nowPs, classes: [CLASS_COMPUTE, CLASS_MEMORY, ATTR_INTERRUPTED].map((c) => cpus[cpu.id].programTimePs[c]), total: cpus[cpu.id].programTimePs.reduce((a, b) => a + b, 0) });
    },
    timeClass: (_cpu, compute) => (compute ? CLASS_COMPUTE : CLASS_MEMORY),
    ...extra,
  };
  const cpus = Array.from({ length: n }, (_, id) => new Cpu(id, engine, machine, hooks, window));
  const homes = Array.from({ length: machine.nodeCount }, (_, node) => new HomeNode(node, n + node, engine, machine, window, 1));
  const kicks = new Map<number, () => void>();
  engine.setHandler({
    handle(type, target, a0, a1, a2, a3) {
      if (type === EV_CPU_STEP) cpus[target].step(a0);
      else if (type === EV_LINE_REQUEST) homes[target - n].request(a0, a1, a2, a3);
      else if (type === EV_LINE_RECALL) cpus[target].onRecall(a0, a1, a2, a3);
      else if (type === EV_LINE_INVALIDATE) cpus[target].onInvalidate(a0, a1);
      else if (type === EV_LINE_DATA) cpus[target].onData(a0, a1, a2, a3);
      else if (type === EV_LINE_FREE) homes[target - n].lineFree(a0);
      else if (type === 99) kicks.get(a0)!();
      else throw new Error(`unexpected event ${type}`);
    },
  });
  const at = (timePs: number, f: () => void) => {
    kicks.set(timePs, f);
    engine.send(timePs, 0, 0, 0, 99, timePs);
  };
  const run = () => {
    for (const cpu of programs.keys()) cpus[cpu].wake();
    engine.runUntil(Infinity);
  };
  return { machine, engine, cpus, homes, done, results, kwork, at, run };
}

function task(op: number, build: (w: StepWriter) => void, taskId = 1): Program {
  const w = new StepWriter();
  build(w);
  return { op, taskId, startPs: -1, steps: w.steps, pc: 0, scratch: 0 };
}

describe("a CPU's accesses, by hand on small-4", () => {
  it("pays a local DRAM fetch, then hits; counts each access by its source, atomics apart, shared atomics without per-CPU data", () => {
    // CPU 0: load line 2 (node 0): DRAM, 0-120 ns; atomic add on it: the read brought an
    // exclusive copy (nobody else holds it), so a local atomic, 20 ns (to 140); load it again: a
    // hit, 4 ns (to 144); atomic add on per-CPU line -1 (node 0): a DRAM fetch, 120 ns (to 264),
    // the add made as the data arrives; a plain add on -1 again: a hit, 4 ns, done at 268.
    const r = rig(
      new Map([
        [
          0,
          [
            task(OP_FORK, (w) =>
              w
                .access(2, RMW_NONE)
                .access(2, RMW_ATOMIC_ADD, 5, 1)
                .access(2, RMW_NONE)
                .access(-1, RMW_ATOMIC_ADD, 1)
                .access(-1, RMW_PLAIN_ADD, 2, 1),
            ),
          ],
        ],
      ]),
    );
    r.run();
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([[OP_FORK, 268_000]]);
    const s = r.cpus[0].stats;
    // Two DRAM fetches (line 2, line -1), three hits; two atomics, one from DRAM (-1), one a hit.
    expect(s.accessesBySource[SOURCE_DRAM_LOCAL]).toBe(2);
    expect(s.accessesBySource[SELF]).toBe(3);
    expect(s.atomicsBySource[SOURCE_DRAM_LOCAL]).toBe(1);
    expect(s.atomicsBySource[SELF]).toBe(1);
    // Only line 2's atomic is on a shared line.
    expect(s.sharedAtomics).toBe(1);
    // Waiting: the two fetches, 120 ns each.
    expect(s.stallPs).toBe(240_000);
    // Busy: the 20 + 4 + 4 ns of the hits.
    expect(s.busyPs).toBe(28_000);
    // The results handed on (tagged steps only): 0 + 5 = 5 on line 2; 1 + 2 = 3 on -1.
    expect(r.results).toEqual([
      [0, 2, 5],
      [0, -1, 3],
    ]);
    expect(r.cpus[0].heldValue(2)).toBe(5);
    expect(r.cpus[0].heldValue(-1)).toBe(3);
    expect(r.cpus[0].heldEntries()).toEqual([2, 5, -1, 3]);
    expect(r.cpus[0].heldValue(4)).toBeUndefined();
    // The time classes sum to the latency: 268 ns, 240 + 28 of it memory, none compute.
    expect(r.done[0].classes).toEqual([0, 268_000, 0]);
    expect(r.cpus[0].idle).toBe(true);
  });

  it("fetches a remote node's line from its DRAM (200 ns) and counts it remote", () => {
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.access(3, RMW_NONE).compute(1000))]]]));
    r.run();
    expect(r.done.map((d) => d.atPs)).toEqual([201_000]);
    expect(r.cpus[0].stats.accessesBySource[SOURCE_DRAM_REMOTE]).toBe(1);
    expect(r.cpus[0].stats.stallPs).toBe(200_000);
    expect(r.done[0].classes).toEqual([1000, 200_000, 0]);
  });

  it("counts an access operation's accesses by source and its distinct lines, and not another operation's", () => {
    // access op: lines 2, 4, 2: two DRAM fetches (0-120, 120-240) then a hit (to 244); 2 distinct
    // lines (the action step at the end names line 0, but it is no access).
    // Then an exit touching line 6: its access is counted, but not among the variables'.
    const r = rig(
      new Map([
        [
          0,
          [task(OP_ACCESS, (w) => w.access(2, RMW_NONE).access(4, RMW_NONE).access(2, RMW_NONE).action(0)), task(OP_EXIT, (w) => w.access(6, RMW_NONE).compute(100))],
        ],
      ]),
    );
    r.run();
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([
      [OP_ACCESS, 244_000],
      [OP_EXIT, 364_100],
    ]);
    const s = r.cpus[0].stats;
    expect(s.varLinesTouched).toBe(2);
    expect(s.varAccessesBySource[SOURCE_DRAM_LOCAL]).toBe(2);
    expect(s.varAccessesBySource[SELF]).toBe(1);
    expect(s.accessesBySource[SOURCE_DRAM_LOCAL]).toBe(3);
    expect(s.atomicsBySource.reduce((a, b) => a + b, 0)).toBe(0);
    expect(s.sharedAtomics).toBe(0);
    // Each task program's classes start from zero: the exit's are its own 120 + 0.1 ns.
    expect(r.done[1].classes).toEqual([100, 120_000, 0]);
  });

  it("counts accesses, stalls and busy time only inside the measured window", () => {
    // Window [150 ns, 300 ns). Line 2 fetched 0-120 (ends before: not counted), its atomic a
    // local one 120-140 (not), line 4 fetched 140-260 (ends inside: its whole 120 ns wait
    // counted), its atomic 260-280 (counted: 20 ns busy, a shared atomic), line 6 fetched
    // 280-400 (ends after: not counted), compute 400-500 (not).
    const r = rig(
      new Map([
        [0, [task(OP_FORK, (w) => w.access(2, RMW_NONE).access(2, RMW_ATOMIC_ADD, 1).access(4, RMW_NONE).access(4, RMW_ATOMIC_ADD, 1).access(6, RMW_NONE).compute(100_000))]],
      ]),
      { warmupPs: 150_000, durationPs: 300_000 },
    );
    r.run();
    const s = r.cpus[0].stats;
    expect(r.done.map((d) => d.atPs)).toEqual([500_000]);
    expect(s.accessesBySource[SOURCE_DRAM_LOCAL]).toBe(1);
    expect(s.accessesBySource[SELF]).toBe(1);
    expect(s.atomicsBySource[SELF]).toBe(1);
    expect(s.sharedAtomics).toBe(1);
    expect(s.stallPs).toBe(120_000);
    expect(s.busyPs).toBe(20_000);
    // The fork ended after the window: not counted, but drained (a counted kind).
    expect(s.opsByKind[OP_FORK]).toBe(0);
    expect(s.completedByKind[OP_FORK]).toBe(1);
    expect(s.drainedOps).toBe(1);
  });

  it("drains an operation ending exactly at the duration, not one before the warm-up nor kernel work; gives kernel work's time to no task", () => {
    // Window [2 ns, 5 ns), the tasks task 0: a fork 0-1 ns (before the warm-up: neither counted
    // nor drained), kernel work 1-2 ns (ends at the warm-up: counted), a fork 2-5 ns (ends at the
    // duration: drained), kernel work 5-8 ns (after: not drained, not an operation), an exit
    // 8-10 ns (drained).
    const kw = (ps: number) => ({ ...task(OP_KWORK, (w) => w.compute(ps)), taskId: -1 });
    const r = rig(
      new Map([[0, [task(OP_FORK, (w) => w.compute(1000), 0), kw(1000), task(OP_FORK, (w) => w.compute(3000), 0), kw(3000), task(OP_EXIT, (w) => w.compute(2000), 0)]]]),
      { warmupPs: 2000, durationPs: 5000 },
    );
    r.run();
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([
      [OP_FORK, 1000],
      [OP_KWORK, 2000],
      [OP_FORK, 5000],
      [OP_KWORK, 8000],
      [OP_EXIT, 10_000],
    ]);
    const s = r.cpus[0].stats;
    expect(s.drainedOps).toBe(2);
    expect([s.opsByKind[OP_KWORK], s.opsByKind[OP_FORK], s.opsByKind[OP_EXIT]]).toEqual([1, 0, 0]);
    expect(s.completedByKind[OP_KWORK]).toBe(2);
    expect(s.completedByKind[OP_FORK]).toBe(2);
    // Each task's classes hold its own compute only (task 0's are cleared after each program):
    // kernel work is attributed to no task.
    expect(r.done.map((d) => d.total)).toEqual([1000, 0, 3000, 0, 2000]);
    expect(r.done[2].classes).toEqual([3000, 0, 0]);
    // Busy time counts steps begun in the window: the fork's 3 ns from 2 ns.
    expect(s.busyPs).toBe(3000);
  });

  it("gives a task's classes no time from before it, after the CPU idled", () => {
    // Task 0 computes 10 ns; the CPU idles until a wake-up at 50 ns; task 0's next program computes 5 ns.
    const queue = [task(OP_FORK, (w) => w.compute(10_000), 0)];
    const r = rig(new Map([[0, queue]]));
    r.at(50_000, () => {
      queue.push(task(OP_EXIT, (w) => w.compute(5000), 0));
      r.cpus[0].wake();
    });
    r.run();
    expect(r.done.map((d) => [d.op, d.atPs, d.total])).toEqual([
      [OP_FORK, 10_000, 10_000],
      [OP_EXIT, 55_000, 5000],
    ]);
  });

  it("gives a task's classes no time from before the CPU's first step, taken late", () => {
    // CPU 2 is first woken at 50 ns, for a 5 ns compute: its classes hold those 5 ns only.
    const queue: Program[] = [];
    const r = rig(new Map([[2, queue]]));
    r.at(50_000, () => {
      queue.push(task(OP_EXIT, (w) => w.compute(5000), 0));
      r.cpus[2].wake();
    });
    r.engine.runUntil(Infinity);
    expect(r.done.map((d) => [d.cpu, d.atPs, d.total])).toEqual([[2, 55_000, 5000]]);
  });

  it("counts an atomic on line 0 as a shared atomic", () => {
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.access(0, RMW_ATOMIC_ADD, 1))]]]));
    r.run();
    expect(r.cpus[0].stats.sharedAtomics).toBe(1);
  });
});

describe("a write to a shared copy, by hand on small-4", () => {
  it("asks the home for ownership instead of hitting", () => {
    // CPU 0 reads line 2 from DRAM (0-120 ns, Exclusive); CPU 1, after 200 ns of compute, reads
    // it too: both hold it Shared. CPU 0, after 400 ns of compute (120-520), adds to it atomically:
    // its copy is Shared, so it must upgrade (the home invalidates CPU 1's copy), not hit in 20 ns.
    const r = rig(
      new Map([
        [0, [task(OP_FORK, (w) => w.access(2, RMW_NONE).compute(400_000).access(2, RMW_ATOMIC_ADD, 1, 1))]],
        [1, [task(OP_EXIT, (w) => w.compute(200_000).access(2, RMW_NONE))]],
      ]),
    );
    r.run();
    const fork = r.done.find((d) => d.op === OP_FORK)!;
    // The upgrade invalidates the die neighbour's copy: an ownership transfer on the die, 100 ns
    // (small-4's atomic on the other core's line), 520-620.
    expect(fork.atPs).toBe(620_000);
    expect(r.cpus[1].heldValue(2)).toBeUndefined();
    expect(r.cpus[0].heldValue(2)).toBe(1);
  });
});

describe("a spin, by hand on small-4", () => {
  it("loads the line once, waits on its copy until a write takes it, then loads it again and sees the value", () => {
    // CPU 1 spins until line 2 is 1: its load fetches the line from DRAM (0-120 ns) and sees 0.
    // CPU 0 computes 200 ns, then stores 1 to line 2: it takes the line from CPU 1 (CPU 1's
    // Exclusive copy is recalled and sent over the die: the write completes at 300 ns, the data
    // arriving after the 100 ns transfer), which makes CPU 1 load it again: that load reaches
    // the line CPU 0 holds, and its copy comes back with the value 1.
    const r = rig(
      new Map([
        [1, [task(OP_FORK, (w) => w.spin(2, UNTIL_EQUAL, 1, 1).compute(1000))]],
        [0, [task(OP_EXIT, (w) => w.compute(200_000).access(2, RMW_SET, 1))]],
      ]),
    );
    let spinning = -2;
    r.at(150_000, () => {
      spinning = r.cpus[1].spinningOn;
    });
    r.run();
    expect(spinning).toBe(2);
    expect(r.cpus[1].spinningOn).toBe(-1);
    const fork = r.done.find((d) => d.op === OP_FORK)!;
    const exit = r.done.find((d) => d.op === OP_EXIT)!;
    expect(exit.atPs).toBe(300_000);
    // The spin's value is the one CPU 0 wrote; its result went to the kernel (tagged).
    expect(r.results.filter((x) => x[0] === 1)).toEqual([[1, 2, 1]]);
    // All of the spin's time was a wait on memory, then 1 ns of compute.
    expect(fork.classes[0]).toBe(1000);
    expect(fork.classes[1]).toBe(fork.atPs - 1000);
    expect(fork.classes[2]).toBe(0);
    // CPU 1's new load (sent as it lost its copy, at 220 ns) waits at the home until the write's
    // transfer ends at 300 ns, then reads CPU 0's copy across the die, 80 ns: at 380 it sees 1,
    // and computes 1 ns: done at 381.
    expect(fork.atPs).toBe(381_000);
    // CPU 1 spun with a copy it held: a spin's loads are not atomics.
    expect(r.cpus[1].stats.atomicsBySource.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("passes a spin whose condition holds on the held copy at once, as a hit", () => {
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.access(2, RMW_SET, 3).spin(2, UNTIL_EQUAL, 3).compute(1000))]]]));
    r.run();
    // DRAM 120 ns for the store's line, the spin a hit 4 ns, compute 1 ns.
    expect(r.done.map((d) => d.atPs)).toEqual([125_000]);
    expect(r.cpus[0].stats.accessesBySource[SELF]).toBe(1);
  });
});

describe("an interrupt, by hand on small-4", () => {
  it("waits for a line before running the kernel work; attributes the interrupted time of a compute step", () => {
    // The task fetches line 2 (0-120 ns); an interrupt at 50 ns finds it waiting for the line,
    // so nothing is preempted: the access and the compute after it (100 ns, to 220) come first,
    // then the kernel work (30 ns, to 250).
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.access(2, RMW_NONE).compute(100_000))]]]));
    r.at(50_000, () => {
      r.kwork.set(0, [{ ...task(OP_KWORK, (w) => w.compute(30_000)), taskId: -1 }]);
      r.cpus[0].interrupt();
    });
    r.run();
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([
      [OP_FORK, 220_000],
      [OP_KWORK, 250_000],
    ]);
  });

  it("counts the time a compute step was interrupted apart, and the step's own time in its class", () => {
    // Compute 100 ns from 0; interrupt at 40 ns runs 30 ns of kernel work (to 70); the step
    // resumes with its 60 ns left (to 130). Classes: compute 40 + 60 = 100, interrupted 30.
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.compute(100_000))]]]));
    r.at(40_000, () => {
      r.kwork.set(0, [{ ...task(OP_KWORK, (w) => w.compute(30_000)), taskId: -1 }]);
      r.cpus[0].interrupt();
    });
    r.run();
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([
      [OP_KWORK, 70_000],
      [OP_FORK, 130_000],
    ]);
    expect(r.done[1].classes).toEqual([100_000, 0, 30_000]);
    expect(r.cpus[0].stats.busyPs).toBe(130_000);
  });

  it("attributes the interrupted time with class 0 too (the namespace references')", () => {
    // As above, the task's steps in class 0: compute 40 + 60 = 100 ns in class 0, 30 interrupted.
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.compute(100_000))]]]), undefined, { timeClass: () => 0 });
    const seen: number[][] = [];
    r.at(40_000, () => {
      r.kwork.set(0, [{ ...task(OP_KWORK, (w) => w.compute(30_000)), taskId: -1 }]);
      r.cpus[0].interrupt();
    });
    r.at(129_000, () => seen.push([r.cpus[0].programTimePs[0], r.cpus[0].programTimePs[ATTR_INTERRUPTED]]));
    r.run();
    // At 129 ns, the resumed segment (from 70 ns) is still open: 40 ns of class 0 so far, 30 interrupted.
    expect(seen).toEqual([[40_000, 30_000]]);
    expect(r.done.map((d) => d.atPs)).toEqual([70_000, 130_000]);
  });

  it("does not preempt kernel work, nor a second time, nor a step ending now", () => {
    // Kernel work of 100 ns from 0: an interrupt at 40 ns waits for it (more kernel work, 10 ns, at 100-110).
    const r = rig(new Map([[0, [{ ...task(OP_KWORK, (w) => w.compute(100_000)), taskId: -1 }]]]));
    r.at(40_000, () => {
      r.kwork.set(0, [{ ...task(OP_KWORK, (w) => w.compute(10_000)), taskId: -1 }]);
      r.cpus[0].interrupt();
    });
    r.run();
    expect(r.done.map((d) => d.atPs)).toEqual([100_000, 110_000]);
  });
});

describe("an interrupt's edges, by hand on small-4", () => {
  const kw = (ps: number) => ({ ...task(OP_KWORK, (w) => w.compute(ps)), taskId: -1 });

  it("runs kernel work longer than the step's rest in full before the step resumes", () => {
    // Compute 100 ns from 0; at 40 ns kernel work of 100 ns (longer than the 60 ns left) runs to
    // 140; the step resumes for its 60 ns: done at 200. The preempted step's own end (100 ns)
    // must not cut the kernel work short.
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.compute(100_000))]]]));
    r.at(40_000, () => {
      r.kwork.set(0, [kw(100_000)]);
      r.cpus[0].interrupt();
    });
    r.run();
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([
      [OP_KWORK, 140_000],
      [OP_FORK, 200_000],
    ]);
  });

  it("resumes the preempted program before the next task, and is not idle meanwhile", () => {
    // Fork: compute 100 ns; interrupt at 40 ns (30 ns of kernel work, to 70); the fork resumes to
    // 130; only then the exit (10 ns, to 140).
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.compute(100_000)), task(OP_EXIT, (w) => w.compute(10_000))]]]));
    const idle: boolean[] = [];
    r.at(40_000, () => {
      r.kwork.set(0, [kw(30_000)]);
      r.cpus[0].interrupt();
      idle.push(r.cpus[0].idle);
    });
    r.run();
    expect(idle).toEqual([false]);
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([
      [OP_KWORK, 70_000],
      [OP_FORK, 130_000],
      [OP_EXIT, 140_000],
    ]);
  });

  it("does not preempt a step at the moment it ends: the kernel work waits for the program", () => {
    // Compute 100 ns then 50 ns: an interrupt at exactly 100 ns (before the step's own event)
    // finds the step over; the kernel work (30 ns) runs after the program: 150-180.
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.compute(100_000).compute(50_000))]]]));
    r.at(100_000, () => {
      r.kwork.set(0, [kw(30_000)]);
      r.cpus[0].interrupt();
    });
    r.run();
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([
      [OP_FORK, 150_000],
      [OP_KWORK, 180_000],
    ]);
  });

  it("does not preempt a spin: the kernel work waits for the program", () => {
    // CPU 1 spins on line 2 until it is 1 (as in the spin test: it sees the value at 380 ns and
    // computes 1 ns); an interrupt at 150 ns, while it spins, queues 30 ns of kernel work: 381-411.
    // CPU 1 is neither idle nor woken by a wake-up meanwhile.
    const r = rig(
      new Map([
        [1, [task(OP_FORK, (w) => w.spin(2, UNTIL_EQUAL, 1, 1).compute(1000))]],
        [0, [task(OP_EXIT, (w) => w.compute(200_000).access(2, RMW_SET, 1))]],
      ]),
    );
    const idle: boolean[] = [];
    r.at(150_000, () => {
      r.kwork.set(1, [kw(30_000)]);
      r.cpus[1].interrupt();
      idle.push(r.cpus[1].idle);
      r.cpus[1].wake();
    });
    r.run();
    expect(idle).toEqual([false]);
    expect(r.done.filter((d) => d.cpu === 1).map((d) => [d.op, d.atPs])).toEqual([
      [OP_FORK, 381_000],
      [OP_KWORK, 411_000],
    ]);
  });

  it("attributes nothing without a time-class hook, the interrupted time neither", () => {
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.compute(100_000))]]]), undefined, { timeClass: undefined });
    r.at(40_000, () => {
      r.kwork.set(0, [kw(30_000)]);
      r.cpus[0].interrupt();
    });
    r.run();
    expect(r.done.map((d) => [d.atPs, d.total])).toEqual([
      [70_000, 0],
      [130_000, 0],
    ]);
  });

  it("is not idle once woken, before its first step", () => {
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.compute(1000))]]]));
    r.cpus[0].wake();
    expect(r.cpus[0].idle).toBe(false);
    r.engine.runUntil(Infinity);
    expect(r.cpus[0].idle).toBe(true);
    expect(r.done.map((d) => d.atPs)).toEqual([1000]);
  });
});

describe("a spin's time and a shared copy, by hand on small-4", () => {
  it("keeps a spin's whole wait in its class, class 0 too, for task 0", () => {
    // The spin test's CPU 1 (task 0, every step in class 0): the wait 0-380 ns and the 1 ns compute.
    const r = rig(
      new Map([
        [1, [task(OP_FORK, (w) => w.spin(2, UNTIL_EQUAL, 1, 1).compute(1000), 0)]],
        [0, [task(OP_EXIT, (w) => w.compute(200_000).access(2, RMW_SET, 1), 0)]],
      ]),
      undefined,
      { timeClass: () => 0 },
    );
    r.run();
    const fork = r.done.find((d) => d.op === OP_FORK)!;
    expect([fork.atPs, fork.total]).toEqual([381_000, 381_000]);
  });

  it("spins on a Shared copy without asking for ownership: a hit", () => {
    // CPU 0 reads line 2 (DRAM, 0-120 ns); CPU 1 computes 200 ns and reads it from CPU 0 across
    // the die (80 ns: 200-280), both Shared; then CPU 1 spins until it is 0: it is, on its own
    // copy: a hit, 4 ns (to 284), then 1 ns of compute: 285. Asking for ownership would cost the
    // 100 ns transfer.
    const r = rig(
      new Map([
        [0, [task(OP_EXIT, (w) => w.access(2, RMW_NONE))]],
        [1, [task(OP_FORK, (w) => w.compute(200_000).access(2, RMW_NONE).spin(2, UNTIL_EQUAL, 0).compute(1000))]],
      ]),
    );
    r.run();
    expect(r.done.find((d) => d.op === OP_FORK)!.atPs).toBe(285_000);
    expect(r.cpus[0].heldValue(2)).toBe(0);
  });
});

describe("waking a CPU that is not idle", () => {
  it("changes nothing while it computes or waits for a line", () => {
    // Line 2 from DRAM 0-120 ns, then 100 ns of compute: done at 220 whatever the wake-ups at
    // 50 ns (waiting for the line) and 150 ns (computing) say.
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.access(2, RMW_NONE).compute(100_000))]]]));
    const idle: boolean[] = [];
    r.at(50_000, () => {
      idle.push(r.cpus[0].idle);
      r.cpus[0].wake();
    });
    r.at(150_000, () => {
      idle.push(r.cpus[0].idle);
      r.cpus[0].wake();
    });
    r.run();
    expect(idle).toEqual([false, false]);
    expect(r.done.map((d) => d.atPs)).toEqual([220_000]);
    expect(r.cpus[0].idle).toBe(true);
  });
});

describe("a CPU's errors", () => {
  it("names a sleep step without a kernel that sleeps, an unknown step kind, and data it did not ask for", () => {
    const sleeping = rig(new Map([[0, [task(OP_FORK, (w) => w.sleep())]]]));
    expect(() => sleeping.run()).toThrow("a sleep step, but the kernel cannot sleep");
    const odd = task(OP_FORK, (w) => w.compute(1));
    odd.steps.push({ ...odd.steps[0], kind: 9 });
    const unknown = rig(new Map([[0, [odd]]]));
    expect(() => unknown.run()).toThrow("unknown step kind 9");
    const r = rig(new Map());
    expect(() => r.cpus[2].onData(6, 0, 0, 0)).toThrow("line 6 arrived but the CPU waits for -1 (at 0 ps, cpu 2)");
    // Line -1 (per-CPU data) is what an idle CPU's "no line" reads as: still nobody waits for it.
    expect(() => r.cpus[2].onData(-1, 0, 0, 0)).toThrow("line -1 arrived but the CPU waits for -1 (at 0 ps, cpu 2)");
    expect(() => r.cpus[2].onRecall(6, 1, 0, 0)).toThrow("recall of line 6 that the CPU neither holds nor awaits (at 0 ps, cpu 2)");
    expect(() => r.cpus[2].onInvalidate(6, 0)).toThrow("invalidation of line 6 that the CPU neither holds nor awaits (at 0 ps, cpu 2)");
    expect(() => rig(new Map([[1, [task(OP_FORK, (w) => w.sleep())]]])).run()).toThrow("a sleep step, but the kernel cannot sleep (at 0 ps, cpu 1)");
    const odd1 = task(OP_FORK, (w) => w.compute(1));
    odd1.steps[0].kind = 9;
    expect(() => rig(new Map([[3, [odd1]]])).run()).toThrow("unknown step kind 9 (at 0 ps, cpu 3)");
  });

  it("names data for another line than the one awaited, and an upgrade of a line not held", () => {
    // CPU 0 waits for line 2 from DRAM (0-120 ns): at 50 ns, line 4's data, then line 2's upgrade.
    const wrong = rig(new Map([[0, [task(OP_FORK, (w) => w.access(2, RMW_NONE))]]]));
    wrong.at(50_000, () => wrong.cpus[0].onData(4, 0, 0, 0));
    expect(() => wrong.run()).toThrow("line 4 arrived but the CPU waits for 2 (at 50000 ps, cpu 0)");
    const upgrade = rig(new Map([[0, [task(OP_FORK, (w) => w.access(2, RMW_NONE))]]]));
    upgrade.at(50_000, () => upgrade.cpus[0].onData(2, 0, 1, sourceCode(DIE, true)));
    expect(() => upgrade.run()).toThrow("upgrade granted for line 2 not held (at 50000 ps, cpu 0)");
  });

  it("keeps a program's start across its sleep: its latency runs from its first step", () => {
    // The fork computes 1 ns and sleeps; the exit runs 1-3 ns; the fork comes back (the hook
    // gives it again) and computes 2 ns more: done at 5 ns, latency 5 ns (not 2).
    const fork = task(OP_FORK, (w) => w.compute(1000).sleep().compute(2000));
    const queue = [fork, task(OP_EXIT, (w) => w.compute(2000))];
    const r = rig(new Map([[0, queue]]), undefined, {
      onSleep: () => {
        queue.push(fork);
        return true;
      },
    });
    r.run();
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([
      [OP_EXIT, 3000],
      [OP_FORK, 5000],
    ]);
    expect(r.cpus[0].stats.latencyPsByKind[OP_FORK].sum).toBe(5000);
  });

  it("sleeps a program when the kernel takes it, and goes on when a wake-up came first", () => {
    const slept: number[] = [];
    const r = rig(new Map([[0, [task(OP_FORK, (w) => w.compute(1000).sleep().compute(2000)), task(OP_EXIT, (w) => w.compute(500).sleep().compute(700))]]]), undefined, {
      onSleep: (_cpu, p) => {
        slept.push(p.op);
        return p.op === OP_FORK;
      },
    });
    r.run();
    // The fork leaves at 1 ns (never done); the exit runs from 1 ns: 0.5 + 0.7 ns, done at 2.2 ns.
    expect(slept).toEqual([OP_FORK, OP_EXIT]);
    expect(r.done.map((d) => [d.op, d.atPs])).toEqual([[OP_EXIT, 2200]]);
  });
});


// Coherence races: a message about a line crossing the CPU's own request for it. small-4's
// costs as above, and the legs (a request, recall or invalidation: read / 8): on the die 10 ns,
// across the sockets 32.5 ns; a hand-off keeps the line (atomic - 2 legs + local atomic) 100 ns
// on the die, 255 across; a fetch from DRAM keeps it one leg. A transfer is granted at serve +
// max(latency - the requester's leg, holder's leg + data leg), a DRAM fetch at serve + max(DRAM -
// leg, leg) (HomeNode.serve). Line 2 is homed on node 0 (CPUs 0 and 1).
describe("coherence races, by hand on small-4", () => {
  function traced(programs: Map<number, Program[]>) {
    const accesses: Array<[number, number]> = [];
    const r = rig(programs, undefined, { trace: (cpu, _line, _rmw, _arg, _source, timePs) => accesses.push([cpu, timePs]) });
    return { ...r, times: (cpu: number) => accesses.filter((a) => a[0] === cpu).map((a) => a[1] / 1000) };
  }
  const doneAt = (r: ReturnType<typeof traced>, cpu: number) => r.done.filter((d) => d.cpu === cpu).map((d) => d.atPs / 1000);

  it("a recall ordered before the CPU's pending upgrade: it hands on the copy it holds at once", () => {
    // CPU 1 reads line 2 from DRAM: at the home at 10, data at 120 (Exclusive). CPU 0 reads it at
    // 200: at the home at 210, from CPU 1 (die, 80): granted at 280; CPU 1 keeps a Shared copy,
    // CPU 0 holds the line Shared (by its request 1); the line is busy until 310. CPU 0 computes
    // 40 ns and adds: its copy is Shared, so it asks for ownership at 320 (request 2, at the home
    // at 330). CPU 2 adds at 290: at the home at 322.5, first: from CPU 0 (hop1, 300; CPU 1's
    // copy invalidated, also 300): granted at 322.5 + max(300 - 32.5, 10 + 32.5) = 590, busy until
    // 322.5 + 255 = 577.5; the recall reaches CPU 0 at 332.5, made holder by request 1 while it
    // waits for request 2: ordered before that request, so CPU 0 sends its copy now (to arrive at
    // 590) and drops it. CPU 2 adds at 590 (0 -> 1). CPU 0's request, served at 577.5 from CPU 2
    // (hop1, 300): granted at 577.5 + max(300 - 10, 32.5 + 32.5) = 867.5 (CPU 2, done since 590,
    // forwards it then): 1 -> 2. Held back until CPU 0's own access, the copy would never reach
    // CPU 2, whose data CPU 0 then waits for: neither would finish.
    const r = traced(
      new Map([
        [1, [task(OP_FORK, (w) => w.access(2, RMW_NONE))]],
        [0, [task(OP_FORK, (w) => w.compute(200_000).access(2, RMW_NONE).compute(40_000).access(2, RMW_ATOMIC_ADD, 1, 1))]],
        [2, [task(OP_FORK, (w) => w.compute(290_000).access(2, RMW_ATOMIC_ADD, 1, 1))]],
      ]),
    );
    r.run();
    expect([r.times(0), r.times(1), r.times(2)]).toEqual([[280, 867.5], [120], [590]]);
    expect([doneAt(r, 0), doneAt(r, 2)]).toEqual([[867.5], [590]]);
    expect(r.results).toEqual([
      [2, 2, 1],
      [0, 2, 2],
    ]);
    expect(r.cpus[1].heldValue(2)).toBeUndefined();
    expect(r.homes[0].stats.queueWaitPs).toBe(247_500);
  });

  it("an invalidation of a copy still on its way is ordered after the access: the CPU reads the line once, then drops it", () => {
    // CPU 2 (node 1) reads line 2 at 0: at the home at 32.5, from the other node's DRAM (200):
    // data at 200; the line busy until 65. CPU 3 reads at 32.5: at the home at 65, from CPU 2
    // (die, 80, plus the directory's indirection: legs 32.5 + 32.5 - (10 + 10) = 45): granted at
    // 65 + max(125 - 32.5, 32.5 + 10) = 157.5; CPU 2 becomes a sharer by its request 1, still
    // awaited; the recall reaches it at 97.5 (it forwards once its data is there); busy until 165.
    // CPU 0 adds at 155: at the home at 165, from CPU 3 (hop1, 300; CPU 2's copy, also 300):
    // granted at 165 + max(300 - 10, 32.5 + 32.5) = 455; the invalidation reaches CPU 2 at 197.5,
    // before its data (200): ordered after request 1. So at 200 CPU 2 reads 0, forwards the line to
    // CPU 3 (a die leg: 210) and drops its copy; CPU 3 reads 0 at 210 and forwards it to CPU 0
    // (at 455: 0 -> 1). CPU 2's second read (request 2, at the home at 232.5) waits until the line
    // falls free at 165 + 255 = 420: from CPU 0 (hop1, 260): granted at 420 + max(260 - 32.5,
    // 10 + 32.5) = 647.5 (CPU 0, its data there at 455, forwards then): it reads 1. Its third read
    // hits its copy (4 ns): done at 651.5.
    const r = traced(
      new Map([
        [2, [task(OP_FORK, (w) => w.access(2, RMW_NONE, 0, 1).access(2, RMW_NONE, 0, 1).access(2, RMW_NONE, 0, 1))]],
        [3, [task(OP_FORK, (w) => w.compute(32_500).access(2, RMW_NONE))]],
        [0, [task(OP_FORK, (w) => w.compute(155_000).access(2, RMW_ATOMIC_ADD, 1, 1))]],
      ]),
    );
    r.run();
    expect([r.times(2), r.times(3), r.times(0)]).toEqual([[200, 647.5, 647.5], [210], [455]]);
    expect([doneAt(r, 2), doneAt(r, 3), doneAt(r, 0)]).toEqual([[651.5], [210], [455]]);
    expect(r.results.filter((x) => x[0] === 2).map((x) => x[2])).toEqual([0, 1, 1]);
    expect(r.cpus[2].heldValue(2)).toBe(1);
    expect(r.homes[0].stats.invalidations).toBe(1);
  });

  it("an invalidation that crosses the CPU's own upgrade drops the stale copy at once; the line comes back with the data", () => {
    // CPU 0 reads line 2 (DRAM, 120). CPU 1 reads it at 200 (from CPU 0: 280; CPU 0 a sharer by
    // request 1, CPU 1 the holder by its request 1; the line busy until 310). Both add: CPU 0 at
    // 300 (at the home at 310, first: an upgrade; CPU 1's copy invalidated, die 100: granted at
    // 310 + max(100 - 10, 10) = 400; busy until 410), CPU 1 at 305 (request 2, at the home at
    // 315: it waits). The invalidation reaches CPU 1 at 320 for its request 1 while it waits for
    // request 2: its copy is stale, it drops it. CPU 0 adds at 400 (0 -> 1). CPU 1's request, at
    // 410, takes the line from CPU 0 (die, 100): granted at 500, with the data: 1 -> 2. CPU 1 keeps
    // the line, Modified; kept for later, the invalidation would drop it after that access.
    const r = traced(
      new Map([
        [0, [task(OP_FORK, (w) => w.access(2, RMW_NONE).compute(180_000).access(2, RMW_ATOMIC_ADD, 1, 1))]],
        [1, [task(OP_FORK, (w) => w.compute(200_000).access(2, RMW_NONE).compute(25_000).access(2, RMW_ATOMIC_ADD, 1, 1))]],
      ]),
    );
    r.run();
    expect([r.times(0), r.times(1)]).toEqual([
      [120, 400],
      [280, 500],
    ]);
    expect(r.results).toEqual([
      [0, 2, 1],
      [1, 2, 2],
    ]);
    expect(r.cpus[1].heldValue(2)).toBe(2);
    expect(r.cpus[0].heldValue(2)).toBeUndefined();
    expect(r.homes[0].stats.upgrades).toBe(1);
  });

  it("a line granted while another request waits is used once: the CPU's next write asks the home again", () => {
    // CPUs 0 and 1 add at 0 (at the home at 10); CPU 3 and CPU 2 start at 5 and 30 (at the home
    // at 37.5 and 62.5), each adding twice. CPU 0 is served at 10 (DRAM: 120), CPU 1 at 20 (from
    // CPU 0, die: it gets the line at 130). At 120 the home picks F among CPUs 2 and 3
    // (pickWaiter(1, line 2, transfer 2, 2)); the other, S, still waits, so F's grant is contended:
    // from CPU 1 (hop1, 300): at 120 + 267.5 = 387.5, and the line busy until 120 + 255 = 375.
    // S is served at 375 from F (die, 100 + indirection 45): granted at 375 + 112.5 = 487.5; the
    // recall reaches F at 407.5. F adds at 387.5 (2 -> 3) and, its grant contended, asks the home
    // again for its second add (request 2, at the home at 420) instead of hitting; the recall,
    // ordered before that request, sends its copy to S. F is served at 475 (the line busy until
    // 375 + 100) from S (die): granted at 587.5. S, granted with nobody waiting, adds twice at
    // 487.5 (3 -> 4, then a hit: 4 -> 5), done at 507.5; F adds at 587.5: 5 -> 6.
    const f = [2, 3][pickWaiter(1, 2, 2, 2)];
    const s = f === 2 ? 3 : 2;
    const twice = (start: number) => task(OP_FORK, (w) => w.compute(start).access(2, RMW_ATOMIC_ADD, 1, 1).access(2, RMW_ATOMIC_ADD, 1, 1));
    const r = traced(
      new Map([
        [0, [task(OP_FORK, (w) => w.access(2, RMW_ATOMIC_ADD, 1, 1))]],
        [1, [task(OP_FORK, (w) => w.access(2, RMW_ATOMIC_ADD, 1, 1))]],
        [2, [twice(30_000)]],
        [3, [twice(5000)]],
      ]),
    );
    r.run();
    expect([r.times(0), r.times(1), r.times(f), r.times(s)]).toEqual([[120], [130], [387.5, 587.5], [487.5, 487.5]]);
    expect([doneAt(r, f), doneAt(r, s)]).toEqual([[587.5], [507.5]]);
    expect(r.results.filter((x) => x[0] === f).map((x) => x[2])).toEqual([3, 6]);
    expect(r.results.filter((x) => x[0] === s).map((x) => x[2])).toEqual([4, 5]);
  });

  it("a spin whose load arrives with a write's recall waiting hands the line on and loads it again", () => {
    // CPU 1 spins until line 2 is 1: its load is at the home at 10 (DRAM: data at 120; busy until
    // 20). CPU 0 stores 1 at 5: at the home at 15, it waits until 20: from CPU 1 (die, 100):
    // granted at 110; the recall reaches CPU 1 at 30, made holder by the load it still waits for.
    // At 120 CPU 1 sees 0 (the spin goes on), sends the line to CPU 0 (at 130) and, its copy gone,
    // loads it again (at the home at 130, from CPU 0, die 80: granted at 200). CPU 0 stores at
    // 130. CPU 1 sees 1 at 200 and computes 1 ns: done at 201. Not waiting for that load again,
    // it would leave the spin at 120 with no copy.
    const r = traced(
      new Map([
        [1, [task(OP_FORK, (w) => w.spin(2, UNTIL_EQUAL, 1, 1).compute(1000))]],
        [0, [task(OP_EXIT, (w) => w.compute(5000).access(2, RMW_SET, 1))]],
      ]),
    );
    r.run();
    expect([doneAt(r, 0), doneAt(r, 1)]).toEqual([[130], [201]]);
    expect([r.times(0), r.times(1)]).toEqual([[130], [200]]);
    expect(r.results).toEqual([[1, 2, 1]]);
    expect(r.cpus[1].heldValue(2)).toBe(1);
  });
});
