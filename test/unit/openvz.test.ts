import { describe, expect, it } from "vitest";
import { isFreedValue, RMW_ATOMIC_ADD } from "../../shared/coherence/protocol.ts";
import { OBJ_CONTAINER } from "../../shared/kernel/objects.ts";
import { PCOUNT_UNIT, pputVe, veCounts } from "../../shared/schemes/ve-counter.ts";
import { simulate } from "../../shared/simulation.ts";
import { atomics, OperationBench } from "./support/operation-bench.ts";
import { runsOf } from "./support/spec.ts";

// OpenVZ's own reference rule (shared/schemes/openvz.ts, from the OpenVZ 2.6.24 patch): a fork
// takes get_ve and pget_ve on the VE (both counts on one line), release_task drops pput_ve and
// the task's put_ve; unshare of namespaces fails under CONFIG_VE; a VE enter moves both counts.

const UTS = 1;

function bench(): OperationBench {
  return new OperationBench({ machine: "small-4", cpus: [4], schemes: ["openvz"], workload: { preset: "fork-storm", containers: { count: 2, nesting: 0, pinToSockets: false } } });
}

describe("the openvz scheme", () => {
  it("counts every set-up task twice on its VE: one reference and one process, both in the VE's one line", () => {
    const b = bench();
    const ve = b.worker(0).attach[0];
    expect(b.kernel.object(ve).type).toBe(OBJ_CONTAINER);
    const tasks = [...b.kernel.tasks.values()].filter((t) => t.attach[0] === ve).length;
    // The creator's reference plus one per task; one process per task.
    expect(veCounts(b.value(b.kernel.countLine(ve)))).toEqual({ counter: 1 + tasks, pcounter: tasks });
  });

  it("a plain fork is get_ve + pget_ve, two atomics on the VE's count line; the exit is pput_ve then put_ve", () => {
    const b = bench();
    const task = b.worker(0);
    const ve = task.attach[0];
    const line = b.kernel.countLine(ve);
    const fork = b.run(0, (k, w) => b.scheme.fork(k, w, task.attach, 0));
    expect(fork.value).toEqual([ve]);
    expect(atomics(fork.accesses)).toEqual([
      { line, rmw: RMW_ATOMIC_ADD, arg: 1, result: expect.any(Number) },
      { line, rmw: RMW_ATOMIC_ADD, arg: PCOUNT_UNIT, result: expect.any(Number) },
    ]);
    const before = veCounts(b.value(line));
    const exit = b.run(0, (k, w) => b.scheme.exit(k, w, fork.value, false));
    expect(atomics(exit.accesses).map((a) => [a.line, a.arg])).toEqual([
      [line, -PCOUNT_UNIT],
      [line, -1],
    ]);
    expect(veCounts(b.value(line))).toEqual({ counter: before.counter - 1, pcounter: before.pcounter - 1 });
    expect(b.violations()).toEqual([]);
  });

  it("unshare of namespaces fails (-EINVAL under CONFIG_VE): nothing created, nothing counted, the task keeps its VE", () => {
    const b = bench();
    const task = b.worker(0);
    const r = b.run(0, (k, w) => b.scheme.unshare(k, w, task.attach, 1 << UTS, false));
    expect(r.created).toEqual([]);
    expect(r.accesses).toEqual([]);
    expect(r.value).toEqual({ attach: task.attach, owned: false });
  });

  it("setns is a VE enter: the process count and the reference move from the old VE to the target", () => {
    const b = bench();
    const task = b.worker(0);
    const old = task.attach[0];
    const target = b.kernel.containers.find((c) => c.attach[0] !== old)!.attach;
    const [oldBefore, targetBefore] = [old, target[0]].map((ve) => veCounts(b.value(b.kernel.countLine(ve))));
    const r = b.run(0, (k, w) => b.scheme.setns(k, w, task.attach, UTS, target, false));
    expect(r.created).toEqual([]);
    expect(r.value).toEqual({ attach: [target[0]], owned: false });
    expect(veCounts(b.value(b.kernel.countLine(old)))).toEqual({ counter: oldBefore.counter - 1, pcounter: oldBefore.pcounter - 1 });
    expect(veCounts(b.value(b.kernel.countLine(target[0])))).toEqual({ counter: targetBefore.counter + 1, pcounter: targetBefore.pcounter + 1 });
  });

  it("a VE made by a fork with CLONE_NEW* is freed at its last exit, after its process count reached zero (put_ve's BUG_ON holds)", () => {
    const b = bench();
    const task = b.worker(0);
    const fork = b.run(0, (k, w) => b.scheme.fork(k, w, task.attach, 1 << UTS));
    expect(fork.created.map((o) => o.type)).toContain(OBJ_CONTAINER);
    const ve = fork.value[0];
    expect(veCounts(b.value(b.kernel.countLine(ve)))).toEqual({ counter: 1, pcounter: 1 });
    const exit = b.run(0, (k, w) => b.scheme.exit(k, w, fork.value, true));
    // The free path ran: the VE's count line is poisoned (its memory may go back to a slab).
    expect(isFreedValue(b.value(b.kernel.countLine(ve)))).toBe(true);
    expect(exit.accesses.length).toBeGreaterThan(2);
    expect(b.violations()).toEqual([]);
  });

  it("a VE whose last reference goes while processes are counted is reported (put_ve's BUG_ON)", () => {
    const b = bench();
    const task = b.worker(0);
    const ve = task.attach[0];
    const { counter } = veCounts(b.value(b.kernel.countLine(ve)));
    b.run(0, (k, w) => {
      for (let i = 0; i < counter; i++) k.put(w, ve);
    });
    expect(b.violations().some((v) => v.startsWith("free-while-referenced"))).toBe(true);
  });

  it("reports a get on a freed VE as a use-after-free, and a process count taken below zero", () => {
    const b = bench();
    const task = b.worker(0);
    // A VE of its own (counter 1, pcounter 1), freed at its task's exit; then one more get_ve on it.
    const fork = b.run(0, (k, w) => b.scheme.fork(k, w, task.attach, 1 << UTS));
    const ve = fork.value[0];
    b.run(0, (k, w) => b.scheme.exit(k, w, fork.value, true));
    expect(b.violations()).toEqual([]);
    b.run(0, (k, w) => k.get(w, ve));
    expect(b.violations()).toEqual(["use-after-free: VE count changed after the VE was freed"]);
    // The set-up VE counts one process per task: one pput_ve more than that is -1.
    const other = bench();
    const shared = other.worker(0).attach[0];
    const { pcounter } = veCounts(other.value(other.kernel.countLine(shared)));
    other.run(0, (k, w) => {
      for (let i = 0; i <= pcounter; i++) pputVe(k, w, shared);
    });
    expect(other.violations()).toEqual(["count-below-zero: VE process count fell to -1"]);
  });

  it("keeps every invariant over fork-storm, container-churn, nested and migration on 4 CPUs", () => {
    for (const workload of ["fork-storm", "container-churn", "nested", "migration"]) {
      const [r] = runsOf({ machine: "small-4", cpus: [4], schemes: ["openvz"], workload, duration: "300us", warmup: "30us", costs: { netnsCreate: "2us" } }).map((c) => simulate(c));
      expect({ workload, ok: r.invariants.ok, violations: r.invariants.violations.slice(0, 2) }).toEqual({ workload, ok: true, violations: [] });
      expect(r.totalOps).toBeGreaterThan(0);
    }
  });
});
