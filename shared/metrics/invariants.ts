import type { Task } from "../kernel/kernel.ts";
import { OBJ_GLOBAL, OBJ_TASK, objectLine, perCpuLine, SLOT_COUNT, type KObject } from "../kernel/objects.ts";
import { COUNTERS } from "../schemes/index.ts";
import type { LineLayout } from "../schemes/scheme.ts";
import type { ViolationRecord } from "./result.ts";

/** What the end-of-run check looks at, gathered from every partition. */
export interface ReferenceView {
  objects: readonly KObject[];
  tasks: readonly Task[];
  /** References the set-up containers still hold. */
  containerHolds: readonly number[];
  cpuCount: number;
  endPs: number;
}

/**
 * The end-of-run check: every object's count, computed from the final values of its lines,
 * must equal the references held on it (by live tasks, live objects, and containers not yet
 * destroyed). A freed object must have none (a reclaimed one is in no report: a reference to it
 * is one to freed memory); an object nobody holds must be freed or awaiting free. `value` reads
 * a line's final value wherever it is (a cache or memory).
 */
export function checkReferences(
  view: ReferenceView,
  value: (line: number) => number,
  lifecycle: { freed: Set<number>; switched: Set<number>; awaiting: Set<number> },
): ViolationRecord[] {
  const held = new Map<number, number>();
  const hold = (obj: number) => held.set(obj, (held.get(obj) ?? 0) + 1);
  for (const task of view.tasks) {
    for (const obj of task.attach) hold(obj);
    if (task.churn !== null) for (const obj of task.churn.creatorHolds) hold(obj);
  }
  for (const obj of view.containerHolds) hold(obj);
  for (const o of view.objects) {
    if (lifecycle.freed.has(o.id)) continue;
    for (const h of o.holds) hold(h);
  }
  const layout: LineLayout = {
    cpuCount: view.cpuCount,
    countLine: (obj) => objectLine(obj, SLOT_COUNT),
    perCpuLine: (obj, cpu) => perCpuLine(obj, cpu, view.cpuCount),
  };
  const out: ViolationRecord[] = [];
  const endPs = view.endPs;
  // Without memory reuse a freed object's memory is reclaimed (protocol/reclaim.ts) and its
  // record with it: a reference still held to an object no partition reports is to freed memory.
  const present = new Set<number>();
  for (const o of view.objects) present.add(o.id);
  for (const [obj, n] of held) {
    if (!present.has(obj)) out.push({ kind: "free-while-referenced", obj, cpu: -1, timePs: endPs, detail: `freed and reclaimed with ${n} references held` });
  }
  for (const o of view.objects) {
    if (o.type === OBJ_TASK || o.type === OBJ_GLOBAL) continue;
    const counter = COUNTERS[o.counter];
    if (counter === null) continue;
    const expected = held.get(o.id) ?? 0;
    const freed = lifecycle.freed.has(o.id);
    const count = counter.trueCount(o, value, layout, { freed, switched: lifecycle.switched.has(o.id) });
    if (freed) {
      if (expected > 0) out.push({ kind: "free-while-referenced", obj: o.id, cpu: -1, timePs: endPs, detail: `freed with ${expected} references held` });
      continue;
    }
    if (count === null) continue;
    if (count > expected) {
      out.push({ kind: "leak", obj: o.id, cpu: -1, timePs: endPs, detail: `count ${count} but ${expected} references held` });
    } else if (count < expected) {
      out.push({ kind: "lost-reference", obj: o.id, cpu: -1, timePs: endPs, detail: `count ${count} but ${expected} references held` });
    } else if (expected === 0 && !lifecycle.awaiting.has(o.id)) {
      out.push({ kind: "leak", obj: o.id, cpu: -1, timePs: endPs, detail: "no references held, yet neither freed nor awaiting free" });
    }
  }
  return out;
}
