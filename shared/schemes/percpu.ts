import { RMW_ATOMIC_ADD, RMW_NONE, RMW_PLAIN_ADD, RMW_SET } from "../coherence/protocol.ts";
import { COUNTER_PERCPU, SLOT_MODE, objectLine } from "../kernel/objects.ts";
import type { Counter } from "./scheme.ts";
import { atomicGet, atomicPut, checkAtomicResult, TAG_ATOMIC_PUT } from "./atomic-counter.ts";
import { containerScheme } from "./container.ts";

/**
 * percpu_ref (lib/percpu-refcount.c): while live, get and put are plain adds to the CPU's own
 * counter; the shared count holds a bias so that it cannot reach zero. Kill marks the ref dead
 * (a write to the read-mostly mode word, seen by every CPU), and after an RCU grace period the
 * CPU that killed it sums every CPU's counter into the shared count, removes the bias and drops
 * the initial reference. From then on get and put are atomics on the shared count.
 */
export const PERCPU_BIAS = 2 ** 31;
const MODE_PERCPU = 0;

const TAG_MODE_FOR_GET = COUNTER_PERCPU * 16 + 1;
const TAG_MODE_FOR_PUT = COUNTER_PERCPU * 16 + 2;
const TAG_SUM = COUNTER_PERCPU * 16 + 3;
const TAG_KILLED = COUNTER_PERCPU * 16 + 4;
const TAG_SWITCH = COUNTER_PERCPU * 16 + 5;
export const TIMER_PERCPU_SWITCH = COUNTER_PERCPU * 16 + 1;
/** The action that marks the switch to atomic mode done (read by the end-of-run check). */
export const TAG_PERCPU_SWITCHED = COUNTER_PERCPU * 16 + 6;

function modeLine(obj: number): number {
  return objectLine(obj, SLOT_MODE);
}

export const percpuCounter: Counter = {
  id: COUNTER_PERCPU,
  init(k, w, obj) {
    w.access(k.countLine(obj), RMW_SET, 1 + PERCPU_BIAS);
    w.access(modeLine(obj), RMW_SET, MODE_PERCPU);
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
    switch (step.tag) {
      case TAG_MODE_FOR_GET:
        if (result === MODE_PERCPU) w.access(k.perCpuLine(step.obj, k.currentCpu), RMW_PLAIN_ADD, 1);
        else atomicGet(k, w, step.obj);
        return;
      case TAG_MODE_FOR_PUT:
        if (result === MODE_PERCPU) w.access(k.perCpuLine(step.obj, k.currentCpu), RMW_PLAIN_ADD, -1);
        else atomicPut(k, w, step.obj);
        return;
      case TAG_SUM:
        p.scratch += result;
        return;
      default:
        checkAtomicResult(k, step, result, w);
    }
  },
  onAction(k, p, step, w) {
    if (step.tag === TAG_KILLED) {
      k.noteAwaitingFree(step.obj, 1);
      k.timer(k.options.rcuGracePeriodPs, TIMER_PERCPU_SWITCH, step.obj);
    } else if (step.tag === TAG_SWITCH) {
      // Fold the per-CPU sum in, remove the bias and drop the initial reference, in one atomic.
      w.action(TAG_PERCPU_SWITCHED, step.obj);
      w.access(k.countLine(step.obj), RMW_ATOMIC_ADD, p.scratch - PERCPU_BIAS - 1, TAG_ATOMIC_PUT, step.obj);
    }
  },
  onTimer(k, kind, obj, w) {
    if (kind !== TIMER_PERCPU_SWITCH) return;
    // percpu_ref_switch_to_atomic_rcu: for_each_possible_cpu(cpu) count += *per_cpu_ptr(...)
    for (let cpu = 0; cpu < k.cpuCount; cpu++) w.access(k.perCpuLine(obj, cpu), RMW_NONE, 0, TAG_SUM, obj);
    w.action(TAG_SWITCH, obj);
  },
  trueCount(o, value, k, life) {
    if (life.freed) return null;
    const central = value(k.countLine(o.id));
    if (life.switched) return central;
    let sum = 0;
    for (let cpu = 0; cpu < k.cpuCount; cpu++) sum += value(k.perCpuLine(o.id, cpu));
    return central - PERCPU_BIAS + sum;
  },
  bytesPerObject(cpuCount) {
    // struct percpu_ref (16) + percpu_ref_data (56) + one unsigned long per possible CPU.
    return 16 + 56 + 8 * cpuCount;
  },
};

export const percpuScheme = containerScheme(
  "percpu",
  "percpu_ref on the container: a plain per-CPU add per get/put; kill, RCU grace period and a sum over all CPUs to free",
  percpuCounter,
  "lib/percpu-refcount.c (Linux 3.11 onwards): percpu_ref_get/put, percpu_ref_kill, percpu_ref_switch_to_atomic_rcu; on the container",
);
