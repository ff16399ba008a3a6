import { describe, expect, it } from "vitest";
import {
  cpuOfPerCpuLine,
  isPerCpuLine,
  objectLine,
  objectOfLine,
  ObjectTable,
  OBJ_CONTAINER,
  perCpuLine,
  SLOT_MODE,
  SLOT_VARS,
  type KObject,
} from "../../shared/kernel/objects.ts";
import {
  insertSteps,
  isCountedOp,
  OP_ACCESS,
  OP_FORK,
  OP_GET_PUT,
  OP_KWORK,
  OP_WORK,
  STEP_ACCESS,
  STEP_ACTION,
  STEP_COMPUTE,
  STEP_SLEEP,
  STEP_SPIN,
  StepWriter,
  type Step,
} from "../../shared/kernel/program.ts";

// The kernel's plain data: line numbers of objects and their per-CPU data, the object table's
// generations, and the step lists programs are made of. Every figure here is worked by hand.

const record = (id: number, gen: number, home = 0): KObject => ({ id, type: OBJ_CONTAINER, nsKind: -1, home, holds: [], counter: 1, createdPs: 0, gen });

describe("object lines", () => {
  it("numbers an object's four lines 4 x id + slot, and its per-CPU data -1 - (id x CPUs + CPU)", () => {
    expect(objectLine(5, SLOT_VARS)).toBe(22);
    expect(objectLine(5, SLOT_MODE)).toBe(23);
    // Object 5 on CPU 3 of 4: -1 - (20 + 3) = -24; object 0 on CPU 0: -1.
    expect(perCpuLine(5, 3, 4)).toBe(-24);
    expect(perCpuLine(0, 0, 4)).toBe(-1);
    expect([isPerCpuLine(-1), isPerCpuLine(0), isPerCpuLine(23)]).toEqual([true, false, false]);
    // Back from a line: 23 / 4 rounds down to 5; -24 is (23 / 4 = 5, CPU 23 mod 4 = 3).
    expect([objectOfLine(0, 4), objectOfLine(20, 4), objectOfLine(23, 4), objectOfLine(24, 4)]).toEqual([0, 5, 5, 6]);
    expect([objectOfLine(-24, 4), objectOfLine(-21, 4), objectOfLine(-1, 4)]).toEqual([5, 5, 0]);
    expect([cpuOfPerCpuLine(-24, 4), cpuOfPerCpuLine(-21, 4), cpuOfPerCpuLine(-1, 4)]).toEqual([3, 0, 0]);
    // On 3 CPUs object 2's CPU 1 is -1 - 7 = -8: object 7 / 3 = 2, CPU 7 mod 3 = 1.
    expect([objectOfLine(-8, 3), cpuOfPerCpuLine(-8, 3)]).toEqual([2, 1]);
  });
});

describe("the object table", () => {
  it("adds an object once, and names the one created twice or unknown", () => {
    const t = new ObjectTable();
    t.add(record(3, 0));
    expect(() => t.add(record(3, 0))).toThrow("object 3 created twice");
    expect(() => t.get(4)).toThrow("unknown object 4");
    expect([t.has(3), t.has(4), t.size]).toEqual([true, false, 1]);
    expect(t.get(3).id).toBe(3);
  });

  it("installs reused memory only over an older generation, and learns only newer records", () => {
    const t = new ObjectTable();
    t.install(record(7, 2));
    expect(t.get(7).gen).toBe(2);
    expect(() => t.install(record(7, 2))).toThrow("object 7 reused as generation 2 over generation 2");
    expect(() => t.install(record(7, 1))).toThrow("object 7 reused as generation 1 over generation 2");
    t.install(record(7, 3));
    expect(t.get(7).gen).toBe(3);
    // learn: a record of an unknown object is kept; one of the same or an older generation is not.
    expect(t.learn(record(8, 0))).toBe(true);
    expect(t.learn(record(8, 0, 1))).toBe(false);
    expect(t.get(8).home).toBe(0);
    expect(t.learn(record(7, 3, 1))).toBe(false);
    expect(t.learn(record(7, 2, 1))).toBe(false);
    expect(t.learn(record(7, 4, 1))).toBe(true);
    expect(t.get(7).home).toBe(1);
    expect([...t.all()].map((o) => [o.id, o.gen])).toEqual([
      [7, 4],
      [8, 0],
    ]);
    expect(t.size).toBe(2);
  });
});

describe("programs' steps", () => {
  it("writes each step kind with its fields, and no compute step of no time", () => {
    const w = new StepWriter();
    w.compute(0).compute(-5).compute(7).access(12, 3).access(13, 4, 5, 6, 7).spin(14, 2).spin(15, 1, 9, 8, 3).sleep().action(33).action(34, 2, 1);
    expect(w.steps).toEqual([
      { kind: STEP_COMPUTE, ps: 7, line: 0, rmw: 0, arg: 0, tag: 0, obj: -1 },
      { kind: STEP_ACCESS, ps: 0, line: 12, rmw: 3, arg: 0, tag: 0, obj: -1 },
      { kind: STEP_ACCESS, ps: 0, line: 13, rmw: 4, arg: 5, tag: 6, obj: 7 },
      { kind: STEP_SPIN, ps: 0, line: 14, rmw: 2, arg: 0, tag: 0, obj: -1 },
      { kind: STEP_SPIN, ps: 0, line: 15, rmw: 1, arg: 9, tag: 8, obj: 3 },
      { kind: STEP_SLEEP, ps: 0, line: 0, rmw: 0, arg: 0, tag: 0, obj: -1 },
      { kind: STEP_ACTION, ps: 0, line: 0, rmw: 0, arg: 0, tag: 33, obj: -1 },
      { kind: STEP_ACTION, ps: 0, line: 0, rmw: 0, arg: 1, tag: 34, obj: 2 },
    ]);
    // A writer appends to the list it is given.
    const list: Step[] = [];
    new StepWriter(list).compute(1);
    expect(list.length).toBe(1);
  });

  it("inserts steps at a place, short lists in place and long ones (1024 and more) as a new list", () => {
    const steps = (n: number, from: number) => Array.from({ length: n }, (_, i) => new StepWriter().compute(from + i).steps[0]);
    const base = steps(3, 1);
    const same = insertSteps(base, 1, steps(2, 100));
    expect(same).toBe(base);
    expect(same.map((s) => s.ps)).toEqual([1, 100, 101, 2, 3]);
    for (const n of [1023, 1024]) {
      const b = steps(3, 1);
      const out = insertSteps(b, 2, steps(n, 10));
      expect(out.length).toBe(n + 3);
      // Below 1024 the list itself grows; from 1024 on it is left as it was.
      expect(out === b).toBe(n < 1024);
      expect(b.length).toBe(n < 1024 ? n + 3 : 3);
      expect([out[0].ps, out[1].ps, out[2].ps, out[n + 1].ps, out[n + 2].ps]).toEqual([1, 2, 10, 10 + n - 1, 3]);
    }
  });

  it("counts every operation kind towards throughput but kernel work and a task's own work", () => {
    expect([OP_FORK, OP_ACCESS, OP_GET_PUT, OP_KWORK, OP_WORK].map(isCountedOp)).toEqual([true, true, true, false, false]);
  });
});
