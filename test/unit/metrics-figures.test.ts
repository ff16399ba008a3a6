import { describe, expect, it } from "vitest";
import type { Task } from "../../shared/kernel/kernel.ts";
import { COUNTER_ATOMIC, COUNTER_NONE, OBJ_CONTAINER, OBJ_GLOBAL, OBJ_NAMESPACE, OBJ_TASK, objectLine, SLOT_COUNT, type KObject } from "../../shared/kernel/objects.ts";
import { checkReferences } from "../../shared/metrics/invariants.ts";
import { confidenceInterval95, sampleStdDev, tQuantile95 } from "../../shared/metrics/stats.ts";

// The end-of-run reference check and the small statistics, against records and values worked
// out by hand.

const obj = (id: number, type: number, holds: number[] = [], counter = COUNTER_ATOMIC): KObject => ({ id, type, nsKind: -1, home: 0, holds, counter, createdPs: 0, gen: 0 });
const task = (id: number, attach: number[], churnHolds: number[] | null = null): Task => ({
  id,
  cpu: 0,
  role: 0,
  attach,
  owned: false,
  parent: -1,
  pull: false,
  thinkNext: false,
  churnPhase: 0,
  churn: churnHolds === null ? null : { attach: [], creatorHolds: churnHolds },
});

describe("checkReferences", () => {
  // Namespace 1 is held by container 2 and by a task in a container cycle; container 2 by two
  // tasks and the set-up's container holds; namespace 3 by nobody.
  const objects = [obj(1, OBJ_NAMESPACE), obj(2, OBJ_CONTAINER, [1]), obj(3, OBJ_NAMESPACE), obj(10, OBJ_TASK, [], COUNTER_NONE), obj(11, OBJ_GLOBAL, [], COUNTER_NONE)];
  const tasks = [task(10, [2]), task(12, [2], [1])];
  const view = { objects, tasks, containerHolds: [2], cpuCount: 2, endPs: 5000 };
  const counts = (c: Record<number, number>) => (line: number) => c[line / 4] ?? 0;
  const none = { freed: new Set<number>(), switched: new Set<number>(), awaiting: new Set<number>() };

  it("finds nothing wrong when every count equals the references held and an unheld object awaits its free", () => {
    expect(objectLine(1, SLOT_COUNT)).toBe(4);
    expect(checkReferences(view, counts({ 1: 2, 2: 3, 3: 0 }), { ...none, awaiting: new Set([3]) })).toEqual([]);
  });

  it("reports a count above the references held as a leak, below as a lost reference, naming both figures", () => {
    expect(checkReferences(view, counts({ 1: 3, 2: 2, 3: 0 }), { ...none, awaiting: new Set([3]) })).toEqual([
      { kind: "leak", obj: 1, cpu: -1, timePs: 5000, detail: "count 3 but 2 references held" },
      { kind: "lost-reference", obj: 2, cpu: -1, timePs: 5000, detail: "count 2 but 3 references held" },
    ]);
  });

  it("reports an object nobody holds that is neither freed nor awaiting free as a leak", () => {
    expect(checkReferences(view, counts({ 1: 2, 2: 3, 3: 0 }), none)).toEqual([
      { kind: "leak", obj: 3, cpu: -1, timePs: 5000, detail: "no references held, yet neither freed nor awaiting free" },
    ]);
  });

  it("reports a freed object still referenced, and no longer counts what a freed object held", () => {
    // Container 2 freed: its hold on namespace 1 is gone (1 then has 1 reference: the cycle's).
    const freed = { ...none, freed: new Set([2]), awaiting: new Set([3]) };
    expect(checkReferences(view, counts({ 1: 1, 3: 0 }), freed)).toEqual([
      { kind: "free-while-referenced", obj: 2, cpu: -1, timePs: 5000, detail: "freed with 3 references held" },
    ]);
    // A freed object nobody holds is fine, whatever its count line says.
    const gone = { objects: [obj(3, OBJ_NAMESPACE)], tasks: [], containerHolds: [], cpuCount: 2, endPs: 5000 };
    expect(checkReferences(gone, counts({ 3: 7 }), { ...none, freed: new Set([3]) })).toEqual([]);
  });
});

describe("statistics at their edges", () => {
  it("steps the t quantile to the normal value past 30 degrees of freedom: 2.021 to 40, 2.0 to 60, 1.98 to 120, then 1.96", () => {
    expect([31, 40, 41, 60, 61, 120, 121].map(tQuantile95)).toEqual([2.021, 2.021, 2.0, 2.0, 1.98, 1.98, 1.96]);
    expect(tQuantile95(30)).toBe(2.042);
  });

  it("has no standard deviation or interval below two values", () => {
    expect(sampleStdDev([])).toBeNaN();
    expect(confidenceInterval95([4])).toEqual({ mean: 4, halfWidth: NaN });
    // Two values 1 and 3: s = sqrt(2), half-width 12.706 x sqrt(2) / sqrt(2) = 12.706.
    expect(confidenceInterval95([1, 3]).halfWidth).toBeCloseTo(12.706, 12);
  });
});
