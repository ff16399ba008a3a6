import { isFreedValue, RMW_ATOMIC_ADD, RMW_SET } from "../coherence/protocol.ts";
import { COUNTER_VE } from "../kernel/objects.ts";
import type { StepWriter } from "../kernel/program.ts";
import type { Counter, KernelApi } from "./scheme.ts";

/**
 * OpenVZ's two counts on a VE (include/linux/ve.h of the OpenVZ patch for 2.6.24):
 * `atomic_t pcounter` (processes in the VE: pget_ve/pput_ve) and `atomic_t counter`
 * (references: get_ve/put_ve), declared side by side near the top of struct ve_struct, so both
 * live in one cache line. put_ve frees the VE when `counter` reaches zero (and BUG()s if
 * `pcounter` is not zero then); pput_ve reaching zero only schedules the VE's cleanup
 * (ve_cleanup_schedule: the vzmond thread stops the VE; refsim's container destroy is that
 * stop), it frees nothing.
 *
 * The line holds both as one number, `counter + pcounter * PCOUNT_UNIT`, so each atomic on either
 * count is one atomic on the shared line, as in OpenVZ. Each part is read back balanced (within
 * half a unit of zero), so a count that falls below zero is seen as negative.
 */
export const PCOUNT_UNIT = 2 ** 20;

const TAG_VE_GET = COUNTER_VE * 16 + 1;
const TAG_VE_PUT = COUNTER_VE * 16 + 2;
const TAG_VE_PGET = COUNTER_VE * 16 + 3;
const TAG_VE_PPUT = COUNTER_VE * 16 + 4;

/** The two counts a VE's line value holds. */
export function veCounts(value: number): { counter: number; pcounter: number } {
  const pcounter = Math.round(value / PCOUNT_UNIT);
  return { counter: value - pcounter * PCOUNT_UNIT, pcounter };
}

/** pget_ve (kernel/fork.c copy_process, beside get_ve): one more process in the VE. */
export function pgetVe(k: KernelApi, w: StepWriter, ve: number): void {
  w.access(k.countLine(ve), RMW_ATOMIC_ADD, PCOUNT_UNIT, TAG_VE_PGET, ve);
}

/** pput_ve (kernel/exit.c release_task): one process fewer. */
export function pputVe(k: KernelApi, w: StepWriter, ve: number): void {
  w.access(k.countLine(ve), RMW_ATOMIC_ADD, -PCOUNT_UNIT, TAG_VE_PPUT, ve);
}

export const veCounter: Counter = {
  id: COUNTER_VE,
  init(k, w, obj) {
    // do_env_create: the creator's reference; no process yet (the first is counted by pget).
    w.access(k.countLine(obj), RMW_SET, 1);
  },
  get(k, w, obj) {
    w.access(k.countLine(obj), RMW_ATOMIC_ADD, 1, TAG_VE_GET, obj);
  },
  put(k, w, obj) {
    w.access(k.countLine(obj), RMW_ATOMIC_ADD, -1, TAG_VE_PUT, obj);
  },
  release(k, w, obj) {
    w.access(k.countLine(obj), RMW_ATOMIC_ADD, -1, TAG_VE_PUT, obj);
  },
  onResult(k, _p, step, result, w) {
    if (isFreedValue(result)) {
      k.violation("use-after-free", step.obj, "VE count changed after the VE was freed");
      return;
    }
    const { counter, pcounter } = veCounts(result);
    switch (step.tag) {
      case TAG_VE_GET:
        if (counter <= 1) k.violation("use-after-free", step.obj, `get_ve raised the count from ${counter - 1}`);
        return;
      case TAG_VE_PUT:
        if (counter < 0) k.violation("count-below-zero", step.obj, `VE count fell to ${counter}`);
        else if (counter === 0) {
          // put_ve: BUG_ON(pcounter > 0) before do_env_free.
          if (pcounter !== 0) k.violation("free-while-referenced", step.obj, `VE freed with ${pcounter} processes counted`);
          k.free(w, step.obj, false);
        }
        return;
      case TAG_VE_PGET:
      case TAG_VE_PPUT:
        if (pcounter < 0) k.violation("count-below-zero", step.obj, `VE process count fell to ${pcounter}`);
        return;
      default:
        throw new Error(`unknown VE counter tag ${step.tag}`);
    }
  },
  onAction() {},
  onTimer() {},
  trueCount(o, value, k, life) {
    if (life.freed) return null;
    // References: `counter`. The process count is checked as it moves (never below zero, zero at free).
    return veCounts(value(k.countLine(o.id))).counter;
  },
  bytesPerObject() {
    // atomic_t pcounter + atomic_t counter.
    return 8;
  },
};
