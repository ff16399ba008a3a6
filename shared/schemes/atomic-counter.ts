import { isFreedValue, RMW_ATOMIC_ADD, RMW_SET } from "../coherence/protocol.ts";
import { COUNTER_ATOMIC } from "../kernel/objects.ts";
import type { Program, Step, StepWriter } from "../kernel/program.ts";
import type { Counter, KernelApi } from "./scheme.ts";

export const TAG_ATOMIC_GET = COUNTER_ATOMIC * 16 + 1;
export const TAG_ATOMIC_PUT = COUNTER_ATOMIC * 16 + 2;

/** Writes an atomic get (refcount_inc) on an object's count line. */
export function atomicGet(k: KernelApi, w: StepWriter, obj: number, delta = 1): void {
  w.access(k.countLine(obj), RMW_ATOMIC_ADD, delta, TAG_ATOMIC_GET, obj);
}

/** Writes an atomic put (refcount_dec_and_test): the object is freed when it reaches zero. */
export function atomicPut(k: KernelApi, w: StepWriter, obj: number, delta = -1): void {
  w.access(k.countLine(obj), RMW_ATOMIC_ADD, delta, TAG_ATOMIC_PUT, obj);
}

/** Checks the result of an atomic get or put; a put that reached zero writes the free path. */
export function checkAtomicResult(k: KernelApi, step: Step, result: number, w: StepWriter): boolean {
  if (step.tag === TAG_ATOMIC_GET) {
    if (isFreedValue(result)) k.violation("use-after-free", step.obj, "get on a freed object");
    else if (result <= step.arg) k.violation("use-after-free", step.obj, `get raised the count from ${result - step.arg}`);
    return true;
  }
  if (step.tag === TAG_ATOMIC_PUT) {
    if (isFreedValue(result)) k.violation("use-after-free", step.obj, "put on a freed object");
    else if (result < 0) k.violation("count-below-zero", step.obj, `count fell to ${result}`);
    else if (result === 0) k.free(w, step.obj, false);
    return true;
  }
  return false;
}

/** refcount_t: one atomic counter in the object's count line. */
export const atomicCounter: Counter = {
  id: COUNTER_ATOMIC,
  init(k, w, obj) {
    w.access(k.countLine(obj), RMW_SET, 1);
  },
  get(k, w, obj) {
    atomicGet(k, w, obj);
  },
  put(k, w, obj) {
    atomicPut(k, w, obj);
  },
  release(k, w, obj) {
    atomicPut(k, w, obj);
  },
  onResult(k: KernelApi, _p: Program, step: Step, result: number, w: StepWriter) {
    checkAtomicResult(k, step, result, w);
  },
  onAction() {},
  onTimer() {},
  trueCount(o, value, k, life) {
    if (life.freed) return null;
    return value(k.countLine(o.id));
  },
  bytesPerObject() {
    return 4;
  },
};
