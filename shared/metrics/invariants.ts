import type { Kernel } from "../kernel/kernel.ts";
import { OBJ_GLOBAL, OBJ_TASK } from "../kernel/objects.ts";
import { COUNTERS } from "../schemes/index.ts";
import type { ViolationRecord } from "./result.ts";

/**
 * The end-of-run check: every object's count, computed from the final values of its lines,
 * must equal the references held on it (by live tasks, live objects, and containers not yet
 * destroyed). A freed object must have none; an object nobody holds must be freed or awaiting
 * free. `value` reads a line's final value wherever it is (a cache or memory).
 */
export function checkReferences(
  k: Kernel,
  value: (line: number) => number,
  lifecycle: { freed: Set<number>; switched: Set<number>; awaiting: Set<number> },
): ViolationRecord[] {
  const held = new Map<number, number>();
  const hold = (obj: number) => held.set(obj, (held.get(obj) ?? 0) + 1);
  for (const task of k.tasks.values()) {
    for (const obj of task.attach) hold(obj);
    if (task.churn !== null) for (const obj of task.churn.creatorHolds) hold(obj);
  }
  for (const c of k.containers) for (const level of c.chain) for (const obj of level.creatorHolds) hold(obj);
  for (const o of k.objects.all()) {
    if (lifecycle.freed.has(o.id)) continue;
    for (const h of o.holds) hold(h);
  }
  const out: ViolationRecord[] = [];
  const endPs = k.engine.nowPs;
  for (const o of k.objects.all()) {
    if (o.type === OBJ_TASK || o.type === OBJ_GLOBAL) continue;
    const counter = COUNTERS[o.counter];
    if (counter === null) continue;
    const expected = held.get(o.id) ?? 0;
    const freed = lifecycle.freed.has(o.id);
    const count = counter.trueCount(o, value, k, { freed, switched: lifecycle.switched.has(o.id) });
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
