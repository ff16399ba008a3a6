import { describe, expect, it } from "vitest";
import { EV_TASK_WAKE, EV_TIMER, FREED, PRIO_ARRIVAL, PRIO_TIMER, RMW_ATOMIC_ADD, RMW_SET } from "../../shared/coherence/protocol.ts";
import { Engine } from "../../shared/engine/engine.ts";
import type { Cpu } from "../../shared/kernel/cpu.ts";
import { Kernel, TAG_FREED, TAG_SCHEME_BEGIN, TAG_SCHEME_END, TAG_TASK_EXIT } from "../../shared/kernel/kernel.ts";
import { COUNTER_ATOMIC, COUNTER_NONE, COUNTER_PERCPU, COUNTER_REFCACHE, COUNTER_SLOPPY, OBJ_CONTAINER, OBJ_GLOBAL, OBJ_NAMESPACE, OBJ_TASK } from "../../shared/kernel/objects.ts";
import { OP_EXIT, OP_FORK, OP_KWORK, STEP_ACCESS, STEP_ACTION, STEP_COMPUTE, StepWriter, type Program } from "../../shared/kernel/program.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { ATTR_CAPACITY, ATTR_COMPUTE, ATTR_KERNEL_MEMORY, ATTR_LOCK_WAIT, ATTR_LOCKED, ATTR_NAMESPACE_REFS } from "../../shared/metrics/attribution.ts";
import { TAG_PERCPU_SWITCHED, TIMER_PERCPU_SWITCH } from "../../shared/schemes/percpu.ts";
import { TAG_SLOPPY_RECONCILED } from "../../shared/schemes/sloppy.ts";
import type { KernelPathState } from "../../shared/kernel-path/setup.ts";
import { CACHE_CONTAINER } from "../../shared/slab/caches.ts";
import { runOf } from "./support/spec.ts";
import { drain } from "./support/drain.ts";
import { TAG_NETNS_PUT } from "../../shared/kernel-path/netns.ts";

// The kernel model's glue, each figure by hand from the spec and DEFAULT_COSTS (shared/kernel/
// costs.ts) on small-4 (1 GHz: 1 ns = 1000 ps): free 200 ns, a namespace's creation 5 us under
// refcounts-only; under linux-6 each kind's own (mnt 30 us, uts 1 us, net 2.6 ms).

function kernelFor(scheme: string, extra: Record<string, unknown> = {}) {
  const config = runOf({ machine: "small-4", cpus: [4], schemes: [scheme], workload: "migration", duration: "1ms", warmup: "100us", seed: 42, ...extra });
  const machine = new Machine(config.machine, config.cpuCount);
  const engine = new Engine(machine.cpuCount + machine.nodeCount);
  return { k: new Kernel(config, machine, engine), engine, config };
}

const cpuOf = (id: number, programTimePs = new Float64Array(ATTR_CAPACITY)) => ({ id, programTimePs }) as unknown as Cpu;
const prog = (op: number, taskId: number): Program => ({ op, taskId, startPs: 0, steps: [], pc: 0, scratch: 0 });

describe("kernel: its shape", () => {
  it("lists each socket's CPUs, marks pid and user hierarchical, and keeps the vars on net's kind (or the first)", () => {
    const { k } = kernelFor("nsproxy", { namespaces: ["uts", "pid", "net", "user"] });
    expect(k.socketCpus).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(k.hierarchical).toEqual([false, true, false, true]);
    expect([k.kindCount, k.varKind, k.netKind]).toEqual([4, 2, 2]);
    expect(k.reuseMemory).toBe(true);
    const { k: noNet } = kernelFor("nsproxy", { kernel: "refcounts-only", namespaces: ["uts", "pid"] });
    expect([noNet.varKind, noNet.netKind, noNet.reuseMemory]).toEqual([0, -1, false]);
    expect(noNet.cpuCount).toBe(4);
    expect(noNet.perCpu.length).toBe(4);
    expect(noNet.perCpu[3].timeByOp.length).toBe(12 * ATTR_LOCK_WAIT);
  });
});

describe("kernel: freeing an object", () => {
  it("charges the free's 200 ns, poisons the count (unless already), frees the record, and puts what the object held", () => {
    const { k } = kernelFor("nsproxy", { kernel: "refcounts-only" });
    const held = k.setup(0, (w) => k.create(w, OBJ_NAMESPACE, 0, [], COUNTER_ATOMIC));
    const obj = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [held], COUNTER_ATOMIC));
    const w = new StepWriter();
    k.free(w, obj, false);
    expect(w.steps.map((s) => [s.kind, s.ps, s.line, s.rmw, s.arg, s.obj])).toEqual([
      [STEP_COMPUTE, 200_000, 0, 0, 0, -1],
      [STEP_ACCESS, 0, k.countLine(obj), RMW_SET, FREED, -1],
      [STEP_ACTION, 0, 0, 0, 0, obj],
      [STEP_ACCESS, 0, k.countLine(held), RMW_ATOMIC_ADD, -1, held],
    ]);
    expect(w.steps[2].tag).toBe(TAG_FREED);
    const again = new StepWriter();
    k.free(again, obj, true);
    expect(again.steps.map((s) => s.kind)).toEqual([STEP_COMPUTE, STEP_ACTION, STEP_ACCESS]);
    // leave: an owned attachment is released, another one put (an atomic count: both are a -1).
    const a = new StepWriter();
    k.leave(a, held, true);
    k.leave(a, held, false);
    expect(a.steps.map((s) => [s.line, s.rmw, s.arg])).toEqual([
      [k.countLine(held), RMW_ATOMIC_ADD, -1],
      [k.countLine(held), RMW_ATOMIC_ADD, -1],
    ]);
    // A get is +1 on the same line.
    const g = new StepWriter();
    k.get(g, held);
    expect(g.steps.map((s) => [s.line, s.rmw, s.arg])).toEqual([[k.countLine(held), RMW_ATOMIC_ADD, 1]]);
  });

  it("keeps a freed object's record under refcounts-only (fresh memory), noted freed on its CPU", () => {
    const { k } = kernelFor("nsproxy", { kernel: "refcounts-only" });
    const obj = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    k.finishSetup();
    k.currentCpu = 2;
    k.onAction(cpuOf(2), prog(OP_EXIT, 1), new StepWriter().action(TAG_FREED, obj).steps[0], new StepWriter());
    expect(k.perCpu[2].freed).toEqual([obj]);
    expect(k.objects.has(obj)).toBe(true);
  });

  it("frees a net namespace under linux-6 by put_net (onto the cleanup list), net at kind 0 too; any other namespace by the plain free", () => {
    // namespaces [net, uts]: net is kind 0. With the kernel path (a stand-in: putNetns reads only
    // its cleanup list's line), net's free poisons its count, adds 1 to cleanup_list's head and
    // queues the net for cleanup_net (TAG_NETNS_PUT); it charges no free (the worker frees it).
    // A uts namespace's free is the plain one: 200 ns, the poisoned count, TAG_FREED.
    const { k } = kernelFor("nsproxy", { namespaces: ["net", "uts"] });
    const cleanup = k.setup(0, (w) => k.countLine(k.create(w, OBJ_GLOBAL, -1, [], COUNTER_NONE)));
    const net = k.setup(0, (w) => k.create(w, OBJ_NAMESPACE, 0, [], COUNTER_ATOMIC));
    const uts = k.setup(0, (w) => k.create(w, OBJ_NAMESPACE, 1, [], COUNTER_ATOMIC));
    k.path = { cleanupList: cleanup } as KernelPathState;
    expect(k.netKind).toBe(0);
    const w = new StepWriter();
    k.free(w, net, false);
    expect(w.steps.map((s) => [s.kind, s.ps, s.line, s.rmw, s.arg, s.obj])).toEqual([
      [STEP_ACCESS, 0, k.countLine(net), RMW_SET, FREED, -1],
      [STEP_ACCESS, 0, cleanup, RMW_ATOMIC_ADD, 1, -1],
      [STEP_ACTION, 0, 0, 0, 0, net],
    ]);
    expect(w.steps[2].tag).toBe(TAG_NETNS_PUT);
    const poisoned = new StepWriter();
    k.free(poisoned, net, true);
    expect(poisoned.steps.map((s) => [s.kind, s.line])).toEqual([
      [STEP_ACCESS, cleanup],
      [STEP_ACTION, 0],
    ]);
    const plain = new StepWriter();
    k.free(plain, uts, false);
    expect(plain.steps.map((s) => [s.kind, s.ps, s.line, s.rmw, s.arg, s.obj])).toEqual([
      [STEP_COMPUTE, 200_000, 0, 0, 0, -1],
      [STEP_ACCESS, 0, k.countLine(uts), RMW_SET, FREED, -1],
      [STEP_ACTION, 0, 0, 0, 0, uts],
    ]);
    expect(plain.steps[2].tag).toBe(TAG_FREED);
  });

  it("names an object without a count", () => {
    const { k } = kernelFor("nsproxy", { kernel: "refcounts-only" });
    const t = k.setup(0, (w) => k.newTask(w, 0, 0, [], false));
    expect(() => k.get(new StepWriter(), t.id)).toThrow(`object ${t.id} has no reference count`);
  });
});

describe("kernel: creating objects", () => {
  it("writes a task's thread_info and task_struct lines, an object's count, read and vars lines", () => {
    const { k } = kernelFor("nsproxy", { kernel: "refcounts-only" });
    const w = new StepWriter();
    const t = k.setup(0, () => k.newTask(w, 0, 0, [], false));
    expect(w.steps.map((s) => [s.line, s.rmw, s.arg])).toEqual([
      [k.threadInfoLine(t.id), RMW_SET, 0],
      [k.taskStructLine(t.id), RMW_SET, 0],
    ]);
    expect([k.threadInfoLine(t.id), k.taskStructLine(t.id)]).toEqual([4 * t.id, 4 * t.id + 1]);
    expect(k.object(t.id).type).toBe(OBJ_TASK);
    expect(k.tasks.get(t.id)).toBe(t);
    expect([t.cpu, t.role, t.parent, t.pull, t.churn]).toEqual([0, 0, -1, false, null]);
    // An atomic count set to 1; the read line apart (layout not shared); the vars line to 0.
    const o = new StepWriter();
    const obj = k.setup(0, () => k.create(o, OBJ_CONTAINER, -1, [t.id], COUNTER_ATOMIC));
    expect(o.steps.slice(0, 3).map((s) => [s.line, s.rmw, s.arg])).toEqual([
      [k.countLine(obj), RMW_SET, 1],
      [k.readLine(obj), RMW_SET, 0],
      [k.varsLine(obj), RMW_SET, 0],
    ]);
    expect(k.readLine(obj)).toBe(4 * obj + 1);
    expect(k.varsLine(obj)).toBe(4 * obj + 2);
    expect(k.object(obj).holds).toEqual([t.id]);
    // The global object has no count: its count line is set to 0.
    const g = new StepWriter();
    const glob = k.setup(0, () => k.createGlobal(g));
    expect(k.globalObject).toBe(glob);
    expect(g.steps[0]).toMatchObject({ line: k.countLine(glob), rmw: RMW_SET, arg: 0 });
  });

  it("records the creation time and hands the records of new objects over only when asked to", () => {
    const { k, engine } = kernelFor("nsproxy", { kernel: "refcounts-only" });
    k.finishSetup();
    engine.nowPs = 7000;
    const a = k.setup(1, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    expect(k.object(a).createdPs).toBe(7000);
    expect(k.takeCreatedObjects()).toEqual([]);
    k.shareCreatedObjects = true;
    const b = k.setup(1, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    expect(k.takeCreatedObjects().map((o) => o.id)).toEqual([b]);
    expect(k.takeCreatedObjects()).toEqual([]);
  });

  it("charges a namespace's creation: 5 us for each kind under refcounts-only, each kind's own under linux-6", () => {
    const kinds = ["mnt", "uts", "net"];
    const { k: old } = kernelFor("nsproxy", { kernel: "refcounts-only", namespaces: kinds });
    const w = new StepWriter();
    for (let i = 0; i < 3; i++) old.namespaceCreation(w, i);
    // refcounts-only: net costs netnsCreate too (2.6 ms), the others nsCreate (5 us).
    expect(w.steps.map((s) => s.ps)).toEqual([5_000_000, 5_000_000, 2_600_000_000]);
    // linux-6, its kernel path present (a stand-in: mnt and uts read nothing of it): mnt's
    // mntnsCreate 30 us, uts's utsnsCreate 1 us. Without the path, the refcounts-only figure.
    const { k } = kernelFor("nsproxy", { namespaces: kinds });
    const bare = new StepWriter();
    k.namespaceCreation(bare, 0);
    expect(bare.steps.map((s) => s.ps)).toEqual([5_000_000]);
    k.path = {} as KernelPathState;
    const l = new StepWriter();
    k.namespaceCreation(l, 0);
    k.namespaceCreation(l, 1);
    expect(l.steps.map((s) => s.ps)).toEqual([30_000_000, 1_000_000]);
  });
});

describe("kernel: what time goes to", () => {
  it("counts the measured window [warm-up, duration): 100 us to 1 ms", () => {
    const { k } = kernelFor("none");
    expect([99_999_999, 100_000_000, 999_999_999, 1_000_000_000].map((t) => k.measured(t))).toEqual([false, true, true, false]);
  });

  it("classes time: a lock wait first, then the scheme's steps, then a lock held, then compute or memory", () => {
    const { k } = kernelFor("none");
    const st = k.perCpu[1];
    expect([k.timeClass(1, true), k.timeClass(1, false)]).toEqual([ATTR_COMPUTE, ATTR_KERNEL_MEMORY]);
    st.locks.holding = 1;
    expect(k.timeClass(1, true)).toBe(ATTR_LOCKED);
    st.inScheme = true;
    expect(k.timeClass(1, true)).toBe(ATTR_NAMESPACE_REFS);
    st.locks.waiting = 1;
    st.locks.waitingFor = 2;
    expect(k.timeClass(1, false)).toBe(ATTR_LOCK_WAIT + 2);
    expect(k.timeClasses).toBe(ATTR_LOCK_WAIT);
    // The scheme's steps are marked by actions.
    const { k: k2 } = kernelFor("none");
    k2.onAction(cpuOf(3), prog(OP_FORK, 1), new StepWriter().action(TAG_SCHEME_BEGIN).steps[0], new StepWriter());
    expect(k2.perCpu[3].inScheme).toBe(true);
    expect(k2.currentCpu).toBe(3);
    k2.onAction(cpuOf(3), prog(OP_FORK, 1), new StepWriter().action(TAG_SCHEME_END).steps[0], new StepWriter());
    expect(k2.perCpu[3].inScheme).toBe(false);
  });

  it("adds a task operation's classes to its kind's time only inside the window", () => {
    const { k, engine } = kernelFor("none");
    const t = k.setup(0, (w) => k.newTask(w, 0, 0, [], false));
    const time = new Float64Array(ATTR_CAPACITY);
    time[ATTR_COMPUTE] = 3000;
    time[ATTR_LOCK_WAIT - 1] = 5;
    engine.nowPs = 100_000_000;
    k.onProgramDone(cpuOf(0, time), prog(OP_EXIT, t.id));
    engine.nowPs = 1_000_000_000;
    k.onProgramDone(cpuOf(0, time), prog(OP_EXIT, t.id));
    const n = k.timeClasses;
    expect(k.perCpu[0].timeByOp[OP_EXIT * n + ATTR_COMPUTE]).toBe(3000);
    expect(k.perCpu[0].timeByOp[OP_EXIT * n + ATTR_LOCK_WAIT - 1]).toBe(5);
    expect(k.perCpu[0].timeByOp.reduce((a, b) => a + b, 0)).toBe(3005);
    // Queued again after each operation.
    expect(k.perCpu[0].runQueue).toEqual([t.id, t.id]);
    // Kernel work adds nothing and queues nothing.
    engine.nowPs = 200_000_000;
    k.onProgramDone(cpuOf(0, time), prog(OP_KWORK, -1));
    expect(k.perCpu[0].timeByOp.reduce((a, b) => a + b, 0)).toBe(3005);
  });

  it("refuses more lock classes than a CPU tells apart", () => {
    const { k } = kernelFor("none");
    for (let i = 0; i < ATTR_CAPACITY - ATTR_LOCK_WAIT; i++) k.locks.classes.push({} as never);
    k.initLockState();
    expect(k.timeClasses).toBe(ATTR_CAPACITY);
    expect(k.perCpu[2].timeByOp.length).toBe(12 * ATTR_CAPACITY);
    k.locks.classes.push({} as never);
    expect(() => k.initLockState()).toThrow(`${ATTR_CAPACITY - ATTR_LOCK_WAIT + 1} lock classes: a CPU tells at most ${ATTR_CAPACITY - ATTR_LOCK_WAIT} apart`);
  });
});

describe("kernel: sleeping and waking", () => {
  it("keeps a sleeping program with its time and lock state, wakes it into the ready list, and gives it back with the time it slept", () => {
    const { k, engine } = kernelFor("none");
    const t = k.setup(1, (w) => k.newTask(w, 1, 0, [], false));
    const p = prog(OP_FORK, t.id);
    const time = new Float64Array(ATTR_CAPACITY);
    time[ATTR_COMPUTE] = 700;
    const st = k.perCpu[1];
    st.locks.waiting = 1;
    st.locks.waitingFor = 0;
    st.locks.holding = 2;
    st.inScheme = true;
    engine.nowPs = 10_000;
    expect(k.onSleep(cpuOf(1, time), p)).toBe(true);
    // The CPU's state is cleared for other programs.
    expect(Array.from(time).every((x) => x === 0)).toBe(true);
    expect([st.locks.waiting, st.locks.waitingFor, st.locks.holding, st.inScheme]).toEqual([0, -1, 0, false]);
    expect(() => k.onSleep(cpuOf(1), p)).toThrow(`task ${t.id} sleeps twice`);
    expect(k.needResched(1)).toBe(false);
    k.taskWoken(1, t.id);
    expect(st.sleeping.size).toBe(0);
    expect(k.needResched(1)).toBe(true);
    // Back at 25 ns: 700 ps of compute, and 15 ns asleep waiting for lock class 0.
    engine.nowPs = 25_000;
    const back = new Float64Array(ATTR_CAPACITY);
    expect(k.nextProgram(cpuOf(1, back), false)).toBe(p);
    expect(back[ATTR_COMPUTE]).toBe(700);
    expect(back[ATTR_LOCK_WAIT]).toBe(15_000);
    expect([st.locks.waiting, st.locks.waitingFor, st.locks.holding, st.inScheme]).toEqual([1, 0, 2, true]);
  });

  it("gives woken programs back in the order of their wake-ups, a sleep inside the scheme's steps counted as the namespace references'", () => {
    const { k, engine } = kernelFor("none");
    const a = k.setup(0, (w) => k.newTask(w, 0, 0, [], false));
    const b = k.setup(0, (w) => k.newTask(w, 0, 0, [], false));
    const pa = prog(OP_FORK, a.id);
    const pb = prog(OP_EXIT, b.id);
    engine.nowPs = 1000;
    k.perCpu[0].inScheme = true;
    k.onSleep(cpuOf(0), pa);
    k.onSleep(cpuOf(0), pb);
    k.taskWoken(0, b.id);
    k.taskWoken(0, a.id);
    engine.nowPs = 4000;
    const first = new Float64Array(ATTR_CAPACITY);
    expect(k.nextProgram(cpuOf(0, first), false)).toBe(pb);
    // b slept outside the scheme (onSleep cleared inScheme): 3 ns of kernel compute.
    expect(first[ATTR_COMPUTE]).toBe(3000);
    expect(k.perCpu[0].inScheme).toBe(false);
    const second = new Float64Array(ATTR_CAPACITY);
    expect(k.nextProgram(cpuOf(0, second), false)).toBe(pa);
    // a slept inside: its 3 ns go to class 0, and the scheme's state comes back with it.
    expect(second[ATTR_NAMESPACE_REFS]).toBe(3000);
    expect(k.perCpu[0].inScheme).toBe(true);
  });

  it("lets a program woken before it sleeps go on", () => {
    const { k } = kernelFor("none");
    const t = k.setup(2, (w) => k.newTask(w, 2, 0, [], false));
    k.taskWoken(2, t.id);
    expect(k.perCpu[2].wakePending.has(t.id)).toBe(true);
    expect(k.onSleep(cpuOf(2), prog(OP_FORK, t.id))).toBe(false);
    expect(k.perCpu[2].wakePending.size).toBe(0);
    expect(k.perCpu[2].sleeping.size).toBe(0);
  });

  it("sends a wake-up from the current CPU after its delay", () => {
    const { k, engine } = kernelFor("none");
    k.currentCpu = 3;
    k.wakeTask(9, 1, 2500);
    expect(drain(engine)).toEqual([[2500, EV_TASK_WAKE, 1, 9, 0, PRIO_ARRIVAL, 3]]);
  });

  it("needs a reschedule for kernel work, and for a queued task only before the duration", () => {
    const { k, engine } = kernelFor("none");
    k.perCpu[0].runQueue.push(5);
    engine.nowPs = 999_999_999;
    expect(k.needResched(0)).toBe(true);
    engine.nowPs = 1_000_000_000;
    expect(k.needResched(0)).toBe(false);
    k.perCpu[0].kwork.push(prog(OP_KWORK, -1));
    expect(k.needResched(0)).toBe(true);
  });
});

describe("kernel: actions and timers", () => {
  it("removes an exited task", () => {
    const { k } = kernelFor("none", { kernel: "refcounts-only" });
    const t = k.setup(0, (w) => k.newTask(w, 0, 0, [], false));
    k.setup(0, (w) => w.action(TAG_TASK_EXIT, t.id));
    expect(k.tasks.has(t.id)).toBe(false);
  });

  it("notes each switched object once per memory, keeping the newest generation", () => {
    const { k } = kernelFor("percpu", { kernel: "refcounts-only" });
    const a = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_PERCPU));
    const b = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_PERCPU));
    const switched = (obj: number) => new StepWriter().action(TAG_PERCPU_SWITCHED, obj).steps[0];
    for (const obj of [a, b, a]) k.onAction(cpuOf(1), prog(OP_EXIT, 1), switched(obj), new StepWriter());
    const st = k.perCpu[1];
    expect(st.switched).toEqual([a, b]);
    expect(st.switchedGen).toEqual([0, 0]);
    expect(st.switchedAt.get(b)).toBe(1);
    // A newer generation in b's memory replaces the entry's generation; an older one does not.
    k.objects.install({ ...k.object(b), gen: 3 });
    k.onAction(cpuOf(1), prog(OP_EXIT, 1), switched(b), new StepWriter());
    expect(st.switchedGen).toEqual([0, 3]);
    st.switchedGen[1] = 5;
    k.onAction(cpuOf(1), prog(OP_EXIT, 1), switched(b), new StepWriter());
    expect(st.switchedGen).toEqual([0, 5]);
    expect(st.switched).toEqual([a, b]);
  });

  it("names an unknown action, result, timer and kernel work", () => {
    const { k } = kernelFor("none");
    const s = new StepWriter().action(15).steps[0];
    expect(() => k.onAction(cpuOf(0), prog(OP_FORK, 1), s, new StepWriter())).toThrow("unknown action tag 15");
    // Owner 9 has no counter (COUNTERS ends at 5); owner 0 is the kernel's, whose counter is none.
    for (const tag of [9 * 16 + 1, 3]) {
      const r = new StepWriter().access(0, 0, 0, tag).steps[0];
      expect(() => k.onResult(cpuOf(0), prog(OP_FORK, 1), r, 0, new StepWriter())).toThrow(`no handler for result tag ${tag}`);
      expect(() => k.timerFired(2, tag, -1)).toThrow(`unknown timer ${tag}`);
    }
    expect(() => k.kworkQueued(2, 99, -1)).toThrow("unknown kernel work 99");
  });

  it("arms a timer on the current CPU after its delay", () => {
    const { k, engine } = kernelFor("none");
    k.currentCpu = 2;
    k.timer(4000, 33, 7);
    expect(drain(engine)).toEqual([[4000, EV_TIMER, 2, 33, 7, PRIO_TIMER, 2]]);
  });

  it("records a violation with its CPU and time, and an object awaiting its free", () => {
    const { k, engine } = kernelFor("none");
    const obj = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_PERCPU));
    k.currentCpu = 3;
    engine.nowPs = 1234;
    k.violation("use-after-free", 8, "why");
    expect(k.perCpu[3].violations).toEqual([{ kind: "use-after-free", obj: 8, cpu: 3, timePs: 1234, detail: "why" }]);
    // The count's changes by sampling slot: the 1 ms run in 1024 slots of 976,562.5 ps, so 2 us is in slot
    // floor(2e6 / 976,562.5) = 2 and 2.5 us too (floor(2.56)); 3 us in slot 3 (3.072). By object: the net.
    engine.nowPs = 2_000_000;
    k.noteAwaitingFree(obj, 1);
    engine.nowPs = 2_500_000;
    k.noteAwaitingFree(obj, -1);
    expect(k.perCpu[3].awaiting.slots).toEqual([2, 0]);
    expect(k.perCpu[3].awaiting.objects.size).toBe(0);
    engine.nowPs = 3_000_000;
    k.noteAwaitingFree(obj, 1);
    expect(k.perCpu[3].awaiting.slots).toEqual([2, 0, 3, 1]);
    expect([...k.perCpu[3].awaiting.objects]).toEqual([[obj, { gen: 0, net: 1 }]]);
    expect(k.cpuState(3)).toBe(k.perCpu[3]);
  });
});

describe("kernel: object memory under linux-6 (reused)", () => {
  function reuseKernel(scheme = "nsproxy") {
    const r = kernelFor(scheme);
    r.k.setUpSlabs();
    return r;
  }

  it("gives a freed container's memory to the next container made on a CPU of its node, one generation on", () => {
    const { k } = reuseKernel();
    const c = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    k.finishSetup();
    // Freed on CPU 1 (node 0, the container's home): onto CPU 1's list, not the freed-for-good list.
    k.setup(1, (w) => w.action(TAG_FREED, c));
    expect(k.perCpu[1].freed).toEqual([]);
    const again = k.setup(1, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    expect(again).toBe(c);
    expect(k.object(c).gen).toBe(1);
    expect(k.object(c).home).toBe(0);
    // An object of another cache (a task) does not take it.
    k.setup(1, (w) => w.action(TAG_FREED, c));
    const t = k.setup(1, (w) => k.newTask(w, 1, 0, [], false));
    expect(t.id).not.toBe(c);
    expect(k.object(c).gen).toBe(1);
  });

  it("zeroes a reused per-CPU count's CPU words (pcpu_alloc hands out zeroed memory)", () => {
    const { k } = reuseKernel("percpu");
    const c = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_PERCPU));
    k.finishSetup();
    k.setup(0, (w) => w.action(TAG_FREED, c));
    // The free noted the object no longer awaiting it (a per-CPU count).
    expect(k.perCpu[0].awaiting.objects.get(c)).toEqual({ gen: 0, net: -1 });
    const w = new StepWriter();
    k.setup(0, () => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_PERCPU));
    const zeroed = w.steps.filter((s) => s.line < 0 && s.rmw === RMW_SET && s.arg === 0).map((s) => s.line);
    expect(zeroed.slice(0, 4)).toEqual([0, 1, 2, 3].map((cpu) => k.perCpuLine(c, cpu)));
  });

  it("refuses memory of one node reused on another", () => {
    const { k } = reuseKernel();
    const c = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    k.finishSetup();
    // CPU 2 (node 1) given node 0's container memory by hand.
    k.perCpu[2].slab.lists[CACHE_CONTAINER].push(c, 0);
    expect(() => k.setup(2, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC))).toThrow(`object memory ${c} of node 0 reused on node 1`);
  });

  it("keeps fresh memory for set-up objects freed during set-up, and for objects outside the caches", () => {
    const { k } = reuseKernel();
    const c = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    k.setup(0, (w) => w.action(TAG_FREED, c));
    expect(k.perCpu[0].freed).toEqual([c]);
  });

  it("homes each node's slab list line on the node's first CPU", () => {
    const { k } = reuseKernel();
    // small-4: node 0's first CPU is 0, node 1's is 2; the lines are per-CPU lines (negative), homed there.
    expect(k.lineHome(k.slabListLine(0, 0))).toBe(0);
    expect(k.lineHome(k.slabListLine(0, 1))).toBe(1);
    // The stand-in objects are the first made (ids 0, 1, ...: one per cache): cache 1 on node 1
    // is object 1's line of CPU 2, -1 - (1 x 4 + 2) = -7; cache 0 on node 0 object 0's of CPU 0, -1.
    expect([k.slabListLine(0, 0), k.slabListLine(1, 1), k.slabListLine(2, 0)]).toEqual([-1, -7, -9]);
  });

  it("hands the slab events to the node's and the CPU's lists", () => {
    const { k, engine } = reuseKernel();
    k.slabPut(1, CACHE_CONTAINER, 40, 2);
    expect(k.slabNodes[1].partial[CACHE_CONTAINER]).toEqual([40, 2]);
    expect(k.slabNodes[0].partial[CACHE_CONTAINER]).toEqual([]);
    // A refill from CPU 3 at node 1 grants object 40 (its last grant), after the leg on the die (10 ns).
    k.slabRefill(1, CACHE_CONTAINER, 3);
    expect(drain(engine).map((e) => e.slice(0, 5))).toEqual([[10_000, 14, 3, CACHE_CONTAINER, 40]]);
    k.perCpu[3].slab.refilling[CACHE_CONTAINER] = true;
    k.slabGrant(3, CACHE_CONTAINER, 40, 2, true);
    expect(k.perCpu[3].slab.lists[CACHE_CONTAINER]).toEqual([40, 2]);
    expect(k.perCpu[3].slab.refilling[CACHE_CONTAINER]).toBe(false);
  });
});

describe("kernel: for kernel.ts's mutation survivors", () => {
  it("starts with empty per-CPU state and reads the engine's time", () => {
    const { k, engine } = kernelFor("refcache");
    for (const st of k.perCpu) {
      expect([st.runQueue, st.kwork, st.awaiting.slots, st.freed, st.switched, st.switchedGen, st.violations, st.ready, st.refcacheReviews]).toEqual([[], [], [], [], [], [], [], [], []]);
      expect(st.awaiting.objects.size).toBe(0);
      expect([st.refcacheDirty.size, st.switchedAt.size, st.sleeping.size, st.wakePending.size, st.childrenSent.size, st.nextLocalId, st.refcacheEpoch, st.inScheme]).toEqual([0, 0, 0, 0, 0, 0, 0, false]);
    }
    engine.nowPs = 4321;
    expect(k.nowPs).toBe(4321);
    expect(k.globalObject).toBe(-1);
    expect(k.locks.nodesObject).toBe(-1);
  });

  it("starts the epoch timers on every CPU when no ownership is given, for no object", () => {
    const { k, engine } = kernelFor("refcache", { options: { refcacheEpoch: "40us" } });
    k.startTimers();
    expect(drain(engine).map((e) => [e[0], e[1], e[2], e[4]])).toEqual([0, 1, 2, 3].map((c) => [40_000_000, EV_TIMER, c, -1]));
  });

  it("tells the creator CPU only of objects made after set-up, the first of CPU 0 too", () => {
    const { k } = kernelFor("none", { kernel: "refcounts-only" });
    for (let i = 0; i < 3; i++) k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    expect(k.creatorCpu(5)).toBe(-1);
    k.finishSetup();
    // idBase 3: set-up objects 0..2 are -1; CPU 0's first is 3 + 0 x 4 + 0 = 3.
    const first = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    expect(first).toBe(3);
    expect([0, 1, 2, 3].map((id) => k.creatorCpu(id))).toEqual([-1, -1, -1, 0]);
  });

  it("numbers objects by CPU when set-up made none (base 0)", () => {
    const { k } = kernelFor("none", { kernel: "refcounts-only" });
    k.finishSetup();
    const ids = [2, 2, 1].map((cpu) => k.setup(cpu, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC)));
    // 0 + n x 4 + CPU: 2, 6, 1.
    expect(ids).toEqual([2, 6, 1]);
    expect(ids.map((id) => k.creatorCpu(id))).toEqual([2, 2, 1]);
  });

  it("keeps its own copy of what an object holds, and a task's and the global object's fields", () => {
    const { k } = kernelFor("none", { kernel: "refcounts-only" });
    const holds = [1, 2];
    const obj = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, holds, COUNTER_ATOMIC));
    holds.push(3);
    expect(k.object(obj).holds).toEqual([1, 2]);
    const t = k.setup(0, (w) => k.newTask(w, 0, 1, [obj], true));
    expect([t.role, t.attach, t.owned, t.thinkNext, t.churnPhase, t.pull]).toEqual([1, [obj], true, false, 0, false]);
    expect([k.object(t.id).nsKind, k.object(t.id).holds, k.object(t.id).counter]).toEqual([-1, [], 0]);
    const g = k.setup(0, (w) => k.createGlobal(w));
    expect([k.object(g).nsKind, k.object(g).holds, k.object(g).counter]).toEqual([-1, [], 0]);
  });

  it("puts the count and the read-mostly fields on one line in the shared layout", () => {
    const { k } = kernelFor("none", { kernel: "refcounts-only", layout: "shared" });
    const w = new StepWriter();
    const obj = k.setup(0, () => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    expect(k.readLine(obj)).toBe(k.countLine(obj));
    expect(w.steps.slice(0, 2).map((s) => s.line)).toEqual([k.countLine(obj), k.varsLine(obj)]);
  });

  it("shares the records of objects made after set-up only", () => {
    const { k } = kernelFor("none", { kernel: "refcounts-only" });
    k.shareCreatedObjects = true;
    k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    k.finishSetup();
    const b = k.setup(1, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    expect(k.takeCreatedObjects().map((o) => o.id)).toEqual([b]);
  });

  it("releases an owned attachment (a per-CPU count's kill) and puts another", () => {
    const { k } = kernelFor("percpu", { kernel: "refcounts-only" });
    const obj = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_PERCPU));
    const owned = new StepWriter();
    k.leave(owned, obj, true);
    const other = new StepWriter();
    k.leave(other, obj, false);
    const rel = new StepWriter();
    k.release(rel, obj);
    const put = new StepWriter();
    k.put(put, obj);
    expect(owned.steps).toEqual(rel.steps);
    expect(other.steps).toEqual(put.steps);
    expect(owned.steps).not.toEqual(other.steps);
  });

  it("notes per-CPU and sloppy counts awaiting their free, not atomic ones", () => {
    for (const [scheme, counter, noted] of [
      ["percpu", COUNTER_PERCPU, true],
      ["sloppy", COUNTER_SLOPPY, true],
      ["nsproxy", COUNTER_ATOMIC, false],
    ] as const) {
      const { k } = kernelFor(scheme, { kernel: "refcounts-only" });
      const obj = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], counter));
      k.setup(0, (w) => w.action(TAG_FREED, obj));
      expect(k.perCpu[0].awaiting.slots).toEqual(noted ? [0, -1] : []);
      expect([...k.perCpu[0].awaiting.objects]).toEqual(noted ? [[obj, { gen: 0, net: -1 }]] : []);
    }
  });

  it("records sloppy's reconcile as a switch, and no other counter action", () => {
    const { k } = kernelFor("sloppy", { kernel: "refcounts-only" });
    const obj = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_SLOPPY));
    k.onAction(cpuOf(1), prog(OP_EXIT, 1), new StepWriter().action(TAG_SLOPPY_RECONCILED, obj).steps[0], new StepWriter());
    expect(k.perCpu[1].switched).toEqual([obj]);
    const { k: r } = kernelFor("refcache", { kernel: "refcounts-only" });
    const o2 = r.setup(0, (w) => r.create(w, OBJ_CONTAINER, -1, [], COUNTER_REFCACHE));
    r.setup(0, (w) => r.get(w, o2));
    expect(r.perCpu[0].switched).toEqual([]);
  });

  it("adds no class past the run's classes to an operation's time", () => {
    const { k, engine } = kernelFor("none");
    const t = k.setup(0, (w) => k.newTask(w, 0, 0, [], false));
    const time = new Float64Array(ATTR_CAPACITY);
    time[ATTR_COMPUTE] = 3000;
    time[ATTR_LOCK_WAIT] = 11;
    engine.nowPs = 100_000_000;
    k.onProgramDone(cpuOf(0, time), prog(OP_FORK, t.id));
    expect(k.perCpu[0].timeByOp.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(k.perCpu[0].timeByOp[(OP_FORK + 1) * k.timeClasses]).toBe(0);
  });

  it("names a queued task that does not exist, and a kernel without a programmer", () => {
    const { k } = kernelFor("none");
    k.perCpu[1].runQueue.push(77);
    expect(() => k.nextProgram(cpuOf(1), false)).toThrow("task 77 is queued but does not exist (at 0 ps, cpu 1)");
    const t = k.setup(1, (w) => k.newTask(w, 1, 0, [], false));
    k.perCpu[1].runQueue.push(t.id);
    expect(() => k.nextProgram(cpuOf(1), false)).toThrow("Kernel has no task programmer");
  });

  it("names the CPU and time of its errors", () => {
    const { k, engine } = kernelFor("none");
    engine.nowPs = 9;
    k.currentCpu = 2;
    const t = k.setup(2, (w) => k.newTask(w, 2, 0, [], false));
    expect(() => k.get(new StepWriter(), t.id)).toThrow(`object ${t.id} has no reference count (at 9 ps, cpu 2)`);
    k.onSleep(cpuOf(3), prog(OP_FORK, t.id));
    expect(() => k.onSleep(cpuOf(3), prog(OP_FORK, t.id))).toThrow(`task ${t.id} sleeps twice (at 9 ps, cpu 3)`);
    expect(() => k.onAction(cpuOf(1), prog(OP_FORK, 1), new StepWriter().action(15).steps[0], new StepWriter())).toThrow("unknown action tag 15 (at 9 ps, cpu 1)");
    expect(() => k.onResult(cpuOf(1), prog(OP_FORK, 1), new StepWriter().access(0, 0, 0, 3).steps[0], 0, new StepWriter())).toThrow("no handler for result tag 3 (at 9 ps, cpu 1)");
    expect(() => k.timerFired(3, 3, -1)).toThrow("unknown timer 3 (at 9 ps, cpu 3)");
    expect(() => k.kworkQueued(0, 99, -1)).toThrow("unknown kernel work 99 (at 9 ps, cpu 0)");
  });

  it("queues a per-CPU count's switch as kernel work of no task, and re-arms only refcache's epoch", () => {
    // An epoch of 40 us would be re-armed inside the 1 ms run: a per-CPU switch is not.
    const { k, engine } = kernelFor("percpu", { kernel: "refcounts-only", options: { refcacheEpoch: "40us" } });
    const obj = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_PERCPU));
    k.timerFired(2, TIMER_PERCPU_SWITCH, obj);
    expect(engine.queue.size).toBe(0);
    const kw = k.perCpu[2].kwork;
    expect(kw.length).toBe(1);
    expect([kw[0].op, kw[0].taskId, kw[0].pc, kw[0].startPs]).toEqual([OP_KWORK, -1, 0, 0]);
    // The switch sums the 4 CPUs' counts, then switches.
    expect(kw[0].steps.map((s) => s.kind)).toEqual([STEP_ACCESS, STEP_ACCESS, STEP_ACCESS, STEP_ACCESS, STEP_ACTION]);
  });
});

describe("kernel: memory reuse's edges under linux-6", () => {
  function reuseKernel(scheme = "nsproxy") {
    const r = kernelFor(scheme);
    r.k.setUpSlabs();
    return r;
  }

  it("reuses an exited task's memory for the next task on the CPU (cache 0)", () => {
    const { k } = reuseKernel();
    k.finishSetup();
    const t = k.setup(1, (w) => k.newTask(w, 1, 0, [], false));
    k.setup(1, (w) => w.action(TAG_TASK_EXIT, t.id));
    const u = k.setup(1, (w) => k.newTask(w, 1, 0, [], false));
    expect(u.id).toBe(t.id);
    expect(k.object(u.id).gen).toBe(1);
  });

  it("makes a global object after set-up from fresh memory, and keeps a freed one in the table", () => {
    const { k } = reuseKernel();
    k.finishSetup();
    const g = k.setup(1, (w) => k.createGlobal(w));
    expect(k.object(g).gen).toBe(0);
    k.setup(1, (w) => w.action(TAG_FREED, g));
    expect(k.perCpu[1].freed).toEqual([g]);
  });

  it("zeroes exactly the 4 CPU words of a reused per-CPU count, and none of a fresh one or a reused atomic", () => {
    const { k } = reuseKernel("percpu");
    const c = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_PERCPU));
    const a = k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC));
    k.finishSetup();
    const fresh = new StepWriter();
    k.setup(0, () => k.create(fresh, OBJ_CONTAINER, -1, [], COUNTER_PERCPU));
    const perCpuSets = (w: StepWriter) => w.steps.filter((s) => s.kind === STEP_ACCESS && s.line < 0 && s.rmw === RMW_SET).length;
    // A fresh per-CPU count may need a refill of CPU 0's list (a load of the list line), but zeroes nothing.
    expect(perCpuSets(fresh)).toBe(0);
    k.setup(0, (w) => w.action(TAG_FREED, c));
    const reused = new StepWriter();
    expect(k.setup(0, () => k.create(reused, OBJ_CONTAINER, -1, [], COUNTER_PERCPU))).toBe(c);
    expect(perCpuSets(reused)).toBe(4);
    k.setup(0, (w) => w.action(TAG_FREED, a));
    const atomic = new StepWriter();
    expect(k.setup(0, () => k.create(atomic, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC))).toBe(a);
    expect(perCpuSets(atomic)).toBe(0);
  });

  it("installs memory freed in another partition, whose old record it never saw", () => {
    const { k } = reuseKernel();
    k.finishSetup();
    k.perCpu[1].slab.lists[CACHE_CONTAINER].push(999, 4);
    expect(k.setup(1, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC))).toBe(999);
    expect(k.object(999).gen).toBe(5);
    // Another node's memory: the error names the CPU.
    const c = 999;
    k.perCpu[2].slab.lists[CACHE_CONTAINER].push(c, 5);
    expect(() => k.setup(2, (w) => k.create(w, OBJ_CONTAINER, -1, [], COUNTER_ATOMIC))).toThrow(`object memory ${c} of node 0 reused on node 1 (at 0 ps, cpu 2)`);
  });

  it("sets up no slab lists under refcounts-only, and list objects of no kind holding nothing under linux-6", () => {
    const { k } = kernelFor("nsproxy", { kernel: "refcounts-only" });
    k.setUpSlabs();
    expect(k.objects.size).toBe(0);
    const { k: l } = reuseKernel();
    expect(l.objects.size).toBe(l.perCpu[0].slab.lists.length);
    for (const o of l.objects.all()) expect([o.type, o.nsKind, o.holds]).toEqual([OBJ_GLOBAL, -1, []]);
  });
});
