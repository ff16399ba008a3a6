import {
  FREED,
  isFreedValue,
  RMW_ATOMIC_ADD,
  RMW_NONE,
  RMW_PLAIN_ADD,
  RMW_PLAIN_TAKE,
  RMW_REFCACHE_FLUSH,
  RMW_REFCACHE_REVIEW,
  RMW_SET,
  RMW_TAKE_SPARE,
  RMW_XCHG_ZERO,
} from "./protocol.ts";
import { applyLockRmw, LOCK_RMW_FIRST } from "../locks/lock-word.ts";

/**
 * A refcache central count word: the count, a dirty bit (the count changed since the object was
 * queued for review) and a queued bit, packed into one number that travels with its line.
 */
const COUNT_OFFSET = 2 ** 34;
const DIRTY = 2 ** 35;
const QUEUED = 2 ** 36;

export function encodeRefcacheWord(count: number, dirty: boolean, queued: boolean): number {
  return (queued ? QUEUED : 0) + (dirty ? DIRTY : 0) + (count + COUNT_OFFSET);
}

export function decodeRefcacheWord(word: number): { count: number; dirty: boolean; queued: boolean } {
  const queued = word >= QUEUED;
  let rest = queued ? word - QUEUED : word;
  const dirty = rest >= DIRTY;
  if (dirty) rest -= DIRTY;
  return { count: rest - COUNT_OFFSET, dirty, queued };
}

/** Results of RMW_REFCACHE_FLUSH. */
export const FLUSH_KEEP = 0;
export const FLUSH_QUEUE_REVIEW = 1;
/** Results of RMW_REFCACHE_REVIEW. */
export const REVIEW_DROPPED = 0;
export const REVIEW_FREE = 1;
export const REVIEW_REQUEUE = 2;
/** Either refcache RMW on a freed word. */
export const REFCACHE_ON_FREED = -1;

/**
 * Applies an RMW to a line's value. Returns the new value in out[0] and the result the
 * program sees in out[1]. Pure: the same inputs give the same outputs.
 */
export function applyRmw(rmw: number, value: number, arg: number, out: Float64Array): void {
  switch (rmw) {
    case RMW_NONE:
      out[0] = value;
      out[1] = value;
      return;
    case RMW_SET:
      out[0] = arg;
      out[1] = arg;
      return;
    case RMW_ATOMIC_ADD:
    case RMW_PLAIN_ADD:
      out[0] = value + arg;
      out[1] = value + arg;
      return;
    case RMW_TAKE_SPARE:
      if (value >= 1) {
        out[0] = value - 1;
        out[1] = 1;
      } else {
        out[0] = value;
        out[1] = 0;
      }
      return;
    case RMW_XCHG_ZERO:
    case RMW_PLAIN_TAKE:
      out[0] = 0;
      out[1] = value;
      return;
    case RMW_REFCACHE_FLUSH: {
      if (isFreedValue(value)) {
        out[0] = value;
        out[1] = REFCACHE_ON_FREED;
        return;
      }
      const w = decodeRefcacheWord(value);
      const count = w.count + arg;
      if (count === 0 && !w.queued) {
        out[0] = encodeRefcacheWord(0, false, true);
        out[1] = FLUSH_QUEUE_REVIEW;
      } else {
        out[0] = encodeRefcacheWord(count, true, w.queued);
        out[1] = FLUSH_KEEP;
      }
      return;
    }
    case RMW_REFCACHE_REVIEW: {
      if (isFreedValue(value)) {
        out[0] = value;
        out[1] = REFCACHE_ON_FREED;
        return;
      }
      const w = decodeRefcacheWord(value);
      if (w.count === 0 && !w.dirty) {
        out[0] = FREED;
        out[1] = REVIEW_FREE;
      } else if (w.count === 0) {
        out[0] = encodeRefcacheWord(0, false, true);
        out[1] = REVIEW_REQUEUE;
      } else {
        out[0] = encodeRefcacheWord(w.count, false, false);
        out[1] = REVIEW_DROPPED;
      }
      return;
    }
    default:
      if (rmw >= LOCK_RMW_FIRST) {
        applyLockRmw(rmw, value, arg, out);
        return;
      }
      throw new RangeError(`unknown rmw code ${rmw}`);
  }
}

export { FREED };
