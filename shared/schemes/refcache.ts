import { RMW_PLAIN_ADD, RMW_PLAIN_TAKE, RMW_REFCACHE_FLUSH, RMW_REFCACHE_REVIEW, RMW_SET } from "../coherence/protocol.ts";
import {
  decodeRefcacheWord,
  encodeRefcacheWord,
  FLUSH_QUEUE_REVIEW,
  REFCACHE_ON_FREED,
  REVIEW_DROPPED,
  REVIEW_FREE,
  REVIEW_REQUEUE,
} from "../coherence/rmw.ts";
import { COUNTER_REFCACHE } from "../kernel/objects.ts";
import type { Counter } from "./scheme.ts";
import { containerScheme } from "./container.ts";

/**
 * Refcache (Clements, Kaashoek, Zeldovich, "RadixVM", EuroSys 2013; sv6 kernel/refcache.cc):
 * get and put change a per-CPU delta; at every epoch each CPU flushes its non-zero deltas into
 * the objects' global counts. A flush that brings a count to zero queues the object for review
 * two epochs later (by then every CPU has flushed at least once); the review frees it if the
 * count is still zero and untouched ("dirty" = changed since it was queued), requeues a dirty
 * zero, and drops a count that is no longer zero. RadixVM's epoch is 10 ms; refsim's default
 * is shorter so short runs see frees (set refcache.epoch to compare).
 */
const TAG_DIRTY = COUNTER_REFCACHE * 16 + 1;
const TAG_TAKEN = COUNTER_REFCACHE * 16 + 2;
const TAG_FLUSHED = COUNTER_REFCACHE * 16 + 3;
const TAG_REVIEWED = COUNTER_REFCACHE * 16 + 4;
/** The per-CPU epoch timer (the kernel schedules it on every CPU for refcache runs). */
export const TIMER_REFCACHE_EPOCH = COUNTER_REFCACHE * 16 + 1;

export const refcacheCounter: Counter = {
  id: COUNTER_REFCACHE,
  init(k, w, obj) {
    w.access(k.countLine(obj), RMW_SET, encodeRefcacheWord(1, false, false));
  },
  get(k, w, obj) {
    w.compute(k.costs.refcacheLocalPs);
    w.access(k.perCpuLine(obj, k.currentCpu), RMW_PLAIN_ADD, 1);
    w.action(TAG_DIRTY, obj);
  },
  put(k, w, obj) {
    w.compute(k.costs.refcacheLocalPs);
    w.access(k.perCpuLine(obj, k.currentCpu), RMW_PLAIN_ADD, -1);
    w.action(TAG_DIRTY, obj);
  },
  release(k, w, obj) {
    this.put(k, w, obj);
  },
  onResult(k, _p, step, result, w) {
    const state = k.cpuState(k.currentCpu);
    switch (step.tag) {
      case TAG_TAKEN:
        if (result !== 0) w.access(k.countLine(step.obj), RMW_REFCACHE_FLUSH, result, TAG_FLUSHED, step.obj);
        return;
      case TAG_FLUSHED:
        if (result === REFCACHE_ON_FREED) k.violation("use-after-free", step.obj, "flush into a freed count");
        else if (result === FLUSH_QUEUE_REVIEW) {
          k.noteAwaitingFree(step.obj, 1);
          state.refcacheReviews.push({ obj: step.obj, dueEpoch: state.refcacheEpoch + 2 });
        }
        return;
      case TAG_REVIEWED:
        if (result === REFCACHE_ON_FREED) k.violation("use-after-free", step.obj, "review of a freed count");
        else if (result === REVIEW_FREE) {
          k.noteAwaitingFree(step.obj, -1);
          k.free(w, step.obj, true);
        } else if (result === REVIEW_REQUEUE) {
          state.refcacheReviews.push({ obj: step.obj, dueEpoch: state.refcacheEpoch + 2 });
        } else if (result === REVIEW_DROPPED) {
          k.noteAwaitingFree(step.obj, -1);
        }
        return;
    }
  },
  onAction(k, _p, step) {
    if (step.tag === TAG_DIRTY) k.cpuState(k.currentCpu).refcacheDirty.add(step.obj);
  },
  onTimer(k, kind, _obj, w) {
    if (kind !== TIMER_REFCACHE_EPOCH) return;
    const state = k.cpuState(k.currentCpu);
    state.refcacheEpoch++;
    const dirty = [...state.refcacheDirty].sort((a, b) => a - b);
    state.refcacheDirty.clear();
    for (const obj of dirty) w.access(k.perCpuLine(obj, k.currentCpu), RMW_PLAIN_TAKE, 0, TAG_TAKEN, obj);
    const due = state.refcacheReviews.filter((r) => r.dueEpoch <= state.refcacheEpoch);
    state.refcacheReviews = state.refcacheReviews.filter((r) => r.dueEpoch > state.refcacheEpoch);
    for (const r of due) w.access(k.countLine(r.obj), RMW_REFCACHE_REVIEW, 0, TAG_REVIEWED, r.obj);
  },
  trueCount(o, value, k, life) {
    if (life.freed) return null;
    let sum = decodeRefcacheWord(value(k.countLine(o.id))).count;
    for (let cpu = 0; cpu < k.cpuCount; cpu++) sum += value(k.perCpuLine(o.id, cpu));
    return sum;
  },
  bytesPerObject() {
    // The global count word; the per-CPU delta caches are a fixed per-CPU cost (see memory.ts).
    return 8;
  },
};

export const refcacheScheme = containerScheme(
  "refcache",
  "refcache on the container: per-CPU deltas flushed every epoch; a zero is confirmed after two epochs",
  refcacheCounter,
  "Clements, Kaashoek, Zeldovich, RadixVM, EuroSys 2013 (Refcache; sv6 include/refcache.hh, kernel/refcache.cc); on the container",
);
