import { describe, expect, it } from "vitest";
import { EV_TASK_ARRIVE, EV_TIMER, PRIO_ARRIVAL } from "../../shared/coherence/protocol.ts";
import { Engine } from "../../shared/engine/engine.ts";
import { Prng } from "../../shared/engine/prng.ts";
import type { Cpu } from "../../shared/kernel/cpu.ts";
import { Kernel, TAG_MIGRATE, TAG_SPAWN } from "../../shared/kernel/kernel.ts";
import { COUNTER_ATOMIC, OBJ_CONTAINER } from "../../shared/kernel/objects.ts";
import { OP_KWORK } from "../../shared/kernel/program.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { TIMER_REFCACHE_EPOCH } from "../../shared/schemes/refcache.ts";
import { runOf } from "./support/spec.ts";
import { ATTR_CAPACITY } from "../../shared/metrics/attribution.ts";
import { drain } from "./support/drain.ts";

// The kernel model's own mechanisms, each against the figure the preset gives by hand. small-4:
// CPUs 0 and 1 share socket (and memory node) 0, CPUs 2 and 3 socket 1; an atomic on a line
// owned by the other core of the die costs 100 ns, across the socket link 300 ns.

function kernelFor(scheme: string, extra: Record<string, unknown> = {}, ownsCpu?: (cpu: number) => boolean) {
  const config = runOf({ machine: "small-4", cpus: [4], schemes: [scheme], workload: "migration", duration: "1ms", warmup: "0ns", seed: 42, ...extra });
  const machine = new Machine(config.machine, config.cpuCount);
  const engine = new Engine(machine.cpuCount + machine.nodeCount);
  return { k: new Kernel(config, machine, engine, ownsCpu), engine, config };
}

/** A CPU as onProgramDone reads it: its id and the time its program spent per class (none here). */
const cpu = (id: number) => ({ id, programTimePs: new Float64Array(ATTR_CAPACITY) }) as unknown as Cpu;

describe("kernel: per-CPU state", () => {
  it("gives each CPU its own random stream, (seed, CPU)'s", () => {
    const { k } = kernelFor("none");
    const states = k.perCpu.map((st) => Array.from(st.prng.state));
    for (let c = 0; c < 4; c++) expect(states[c]).toEqual(Array.from(Prng.forEntity(42, c).state));
    expect(new Set(states.map((s) => s.join())).size).toBe(4);
    // The first draws differ too.
    expect(new Set(k.perCpu.map((st) => st.prng.nextU32())).size).toBe(4);
  });

  it("numbers objects made after set-up by their creating CPU: base + n x CPUs + CPU", () => {
    const { k } = kernelFor("none");
    const setupObj = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    expect(setupObj).toBe(0);
    k.finishSetup();
    const a = k.setup(2, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    const b = k.setup(2, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    const c = k.setup(3, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    expect([a, b, c]).toEqual([1 + 0 * 4 + 2, 1 + 1 * 4 + 2, 1 + 0 * 4 + 3]);
    expect([k.creatorCpu(setupObj), k.creatorCpu(a), k.creatorCpu(b), k.creatorCpu(c)]).toEqual([-1, 2, 2, 3]);
    // An object lives on its creator's memory node; a per-CPU line on its CPU's node.
    expect([k.object(setupObj).home, k.object(a).home, k.object(c).home]).toEqual([0, 1, 1]);
    expect(k.lineHome(k.countLine(a))).toBe(1);
    expect(k.lineHome(k.countLine(setupObj))).toBe(0);
    expect([0, 1, 2, 3].map((cp) => k.lineHome(k.perCpuLine(setupObj, cp)))).toEqual([0, 0, 1, 1]);
  });
});

describe("kernel: moving tasks", () => {
  it("delivers a migrating task after the destination runqueue lock's transfer: 100 ns on the die, 300 ns across the socket", () => {
    const { k, engine } = kernelFor("none");
    const t1 = k.setup(0, (w) => k.newTask(w, 0, 0, [], false));
    const t2 = k.setup(0, (w) => k.newTask(w, 0, 0, [], false));
    k.setup(0, (w) => w.action(TAG_MIGRATE, t1.id, 1).action(TAG_SPAWN, t2.id, 2));
    expect([t1.cpu, t1.pull, t2.cpu, t2.pull]).toEqual([1, true, 2, true]);
    expect(drain(engine)).toEqual([
      [100_000, EV_TASK_ARRIVE, 1, t1.id, 0, PRIO_ARRIVAL, 0],
      [300_000, EV_TASK_ARRIVE, 2, t2.id, 1, PRIO_ARRIVAL, 0],
    ]);
    expect(k.perCpu[1].runQueue).toEqual([]);
    k.taskArrived(1, t1.id);
    expect(k.perCpu[1].runQueue).toEqual([t1.id]);
  });

  it("keeps a task moving to its own CPU where it is: a new child is queued there at once, a migrating task is not queued twice", () => {
    const { k, engine } = kernelFor("none");
    const child = k.setup(1, (w) => k.newTask(w, 1, 1, [], false));
    const stay = k.setup(1, (w) => k.newTask(w, 1, 0, [], false));
    k.setup(1, (w) => w.action(TAG_SPAWN, child.id, 1).action(TAG_MIGRATE, stay.id, 1));
    expect(engine.queue.size).toBe(0);
    expect(k.perCpu[1].runQueue).toEqual([child.id]);
    expect([child.pull, stay.pull]).toEqual([false, false]);
    // After its operation, a task still on the CPU is queued again; one that left is not.
    k.onProgramDone(cpu(1), { op: 0, taskId: stay.id, startPs: 0, steps: [], pc: 0, scratch: 0 });
    stay.cpu = 2;
    k.onProgramDone(cpu(1), { op: 0, taskId: stay.id, startPs: 0, steps: [], pc: 0, scratch: 0 });
    k.onProgramDone(cpu(1), { op: OP_KWORK, taskId: -1, startPs: 0, steps: [], pc: 0, scratch: 0 });
    expect(k.perCpu[1].runQueue).toEqual([child.id, stay.id]);
  });
});

describe("kernel: timers and what a CPU runs next", () => {
  it("starts refcache's epoch timer on each CPU it holds, one epoch in, and on no CPU for other schemes", () => {
    const { k, engine } = kernelFor("refcache", { options: { refcacheEpoch: "40us" } }, (c) => c !== 1);
    k.startTimers();
    expect(drain(engine).map((e) => [e[0], e[1], e[2], e[3]])).toEqual([
      [40_000_000, EV_TIMER, 0, TIMER_REFCACHE_EPOCH],
      [40_000_000, EV_TIMER, 2, TIMER_REFCACHE_EPOCH],
      [40_000_000, EV_TIMER, 3, TIMER_REFCACHE_EPOCH],
    ]);
    const other = kernelFor("percpu");
    other.k.startTimers();
    expect(other.engine.queue.size).toBe(0);
  });

  it("re-arms the epoch while the next one starts before the run's end (1 ms), and queues the flush as kernel work", () => {
    const { k, engine } = kernelFor("refcache", { options: { refcacheEpoch: "40us" } });
    engine.nowPs = 959_999_999;
    k.timerFired(3, TIMER_REFCACHE_EPOCH, -1);
    expect(drain(engine).map((e) => [e[0], e[2]])).toEqual([[999_999_999, 3]]);
    engine.nowPs = 960_000_000;
    k.timerFired(3, TIMER_REFCACHE_EPOCH, -1);
    expect(engine.queue.size).toBe(0);
    // Nothing was dirty: the epoch has no flush to do.
    expect(k.perCpu[3].kwork).toEqual([]);
    expect(k.perCpu[3].refcacheEpoch).toBe(2);
  });

  it("runs kernel work before tasks, no new task operation once the run's duration has passed, and nothing when only kernel work may run", () => {
    const { k, engine } = kernelFor("none");
    k.programmer = { nextProgram: (_k, _cpu, task) => ({ op: 0, taskId: task.id, startPs: 0, steps: [], pc: 0, scratch: 0 }) };
    const t = k.setup(0, (w) => k.newTask(w, 0, 0, [], false));
    k.perCpu[0].runQueue.push(t.id);
    const kwork = { op: OP_KWORK, taskId: -1, startPs: 0, steps: [], pc: 0, scratch: 0 };
    k.perCpu[0].kwork.push(kwork);
    expect(k.nextProgram(cpu(0), false)).toBe(kwork);
    expect(k.nextProgram(cpu(0), true)).toBeNull();
    engine.nowPs = 1_000_000_000;
    expect(k.nextProgram(cpu(0), false)).toBeNull();
    engine.nowPs = 999_999_999;
    expect(k.nextProgram(cpu(0), false)?.taskId).toBe(t.id);
    expect(k.nextProgram(cpu(0), false)).toBeNull();
  });
});
