import { RMW_ATOMIC_ADD, RMW_NONE, RMW_PLAIN_ADD, RMW_SET, RMW_TAKE_SPARE, RMW_XCHG_ZERO } from "../coherence/protocol.ts";
import { COUNTER_SLOPPY, SLOT_MODE, objectLine } from "../kernel/objects.ts";
import type { Counter } from "./scheme.ts";
import { atomicGet, atomicPut, checkAtomicResult, TAG_ATOMIC_GET, TAG_ATOMIC_PUT } from "./atomic-counter.ts";
import { containerScheme } from "./container.ts";

/**
 * Sloppy counters (Boyd-Wickizer et al., "An Analysis of Linux Scalability to Many Cores",
 * OSDI 2010, section 4.3): a central count plus per-CPU spare references. A get takes a spare
 * if the CPU has one, otherwise it adds to the central count (refsim takes `sloppyBatch` at once
 * and keeps batch-1 as spares); a put adds a spare. The central count is references in use plus
 * spares. The paper says only that a put releases the references as local spares (it gives no
 * rule for returning them to the central count): refsim, once a CPU holds more than
 * `sloppyMaxSpares` spares, returns every spare above `sloppyBatch` (so the CPU keeps one batch),
 * and reconciles like percpu_ref when the object is destroyed (mark dead, RCU grace period,
 * gather every CPU's spares, then plain atomics).
 */
const MODE_SLOPPY = 0;
const TAG_MODE_FOR_GET = COUNTER_SLOPPY * 16 + 1;
const TAG_MODE_FOR_PUT = COUNTER_SLOPPY * 16 + 2;
const TAG_TAKE = COUNTER_SLOPPY * 16 + 3;
const TAG_SPARE_ADDED = COUNTER_SLOPPY * 16 + 4;
const TAG_GATHER = COUNTER_SLOPPY * 16 + 5;
const TAG_KILLED = COUNTER_SLOPPY * 16 + 6;
const TAG_RECONCILE = COUNTER_SLOPPY * 16 + 7;
export const TAG_SLOPPY_RECONCILED = COUNTER_SLOPPY * 16 + 8;
export const TIMER_SLOPPY_RECONCILE = COUNTER_SLOPPY * 16 + 1;

function modeLine(obj: number): number {
  return objectLine(obj, SLOT_MODE);
}

export const sloppyCounter: Counter = {
  id: COUNTER_SLOPPY,
  init(k, w, obj) {
    w.access(k.countLine(obj), RMW_SET, 1);
    w.access(modeLine(obj), RMW_SET, MODE_SLOPPY);
  },
  get(_k, w, obj) {
    w.access(modeLine(obj), RMW_NONE, 0, TAG_MODE_FOR_GET, obj);
  },
  put(_k, w, obj) {
    w.access(modeLine(obj), RMW_NONE, 0, TAG_MODE_FOR_PUT, obj);
  },
  release(_k, w, obj) {
    w.access(modeLine(obj), RMW_SET, 1);
    w.action(TAG_KILLED, obj);
  },
  onResult(k, p, step, result, w) {
    const spare = () => k.perCpuLine(step.obj, k.currentCpu);
    switch (step.tag) {
      case TAG_MODE_FOR_GET:
        if (result === MODE_SLOPPY) w.access(spare(), RMW_TAKE_SPARE, 0, TAG_TAKE, step.obj);
        else atomicGet(k, w, step.obj);
        return;
      case TAG_TAKE:
        if (result === 0) {
          const batch = k.options.sloppyBatch;
          w.access(k.countLine(step.obj), RMW_ATOMIC_ADD, batch, TAG_ATOMIC_GET, step.obj);
          if (batch > 1) w.access(spare(), RMW_PLAIN_ADD, batch - 1);
        }
        return;
      case TAG_MODE_FOR_PUT:
        if (result === MODE_SLOPPY) w.access(spare(), RMW_PLAIN_ADD, 1, TAG_SPARE_ADDED, step.obj);
        else atomicPut(k, w, step.obj);
        return;
      case TAG_SPARE_ADDED:
        if (result > k.options.sloppyMaxSpares) {
          const excess = result - k.options.sloppyBatch;
          w.access(spare(), RMW_PLAIN_ADD, -excess);
          w.access(k.countLine(step.obj), RMW_ATOMIC_ADD, -excess, TAG_ATOMIC_PUT, step.obj);
        }
        return;
      case TAG_GATHER:
        p.scratch += result;
        return;
      default:
        checkAtomicResult(k, step, result, w);
    }
  },
  onAction(k, p, step, w) {
    if (step.tag === TAG_KILLED) {
      k.noteAwaitingFree(step.obj, 1);
      k.timer(k.options.rcuGracePeriodPs, TIMER_SLOPPY_RECONCILE, step.obj);
    } else if (step.tag === TAG_RECONCILE) {
      // The central count minus every spare is the true count; drop the creator's reference too.
      w.action(TAG_SLOPPY_RECONCILED, step.obj);
      w.access(k.countLine(step.obj), RMW_ATOMIC_ADD, -p.scratch - 1, TAG_ATOMIC_PUT, step.obj);
    }
  },
  onTimer(k, kind, obj, w) {
    if (kind !== TIMER_SLOPPY_RECONCILE) return;
    for (let cpu = 0; cpu < k.cpuCount; cpu++) w.access(k.perCpuLine(obj, cpu), RMW_XCHG_ZERO, 0, TAG_GATHER, obj);
    w.action(TAG_RECONCILE, obj);
  },
  trueCount(o, value, k, life) {
    if (life.freed) return null;
    const central = value(k.countLine(o.id));
    if (life.switched) return central;
    let spares = 0;
    for (let cpu = 0; cpu < k.cpuCount; cpu++) spares += value(k.perCpuLine(o.id, cpu));
    return central - spares;
  },
  bytesPerObject(cpuCount) {
    // The central count and one spare count per CPU.
    return 8 + 8 * cpuCount;
  },
};

export const sloppyScheme = containerScheme(
  "sloppy",
  "sloppy counter on the container: per-CPU spare references, the central count touched only when spares run out or pile up",
  sloppyCounter,
  "Boyd-Wickizer et al., An Analysis of Linux Scalability to Many Cores, OSDI 2010, section 4.3 (sloppy counters); on the container",
);
