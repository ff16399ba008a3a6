/**
 * The words of Linux's queued locks as line values, and the read-modify-writes and spin
 * conditions the lock algorithms apply to them. A lock's whole state lives in its lines, so
 * it travels with them between caches, homes and workers like any other line: no lock state
 * sits outside the coherence model.
 *
 * qspinlock word (include/asm-generic/qspinlock_types.h): the locked byte (bits 0-7), the
 * pending byte (8-15) and the MCS queue tail (16+: the waiting CPU + 1). Arithmetic, not
 * bit operations, because a tail of a large machine passes 2^31.
 * qrwlock word (include/asm-generic/qrwlock_types.h): the writer byte (_QW_LOCKED 0xff),
 * _QW_WAITING 0x100, readers counted in units of _QR_BIAS 0x200.
 * MCS node (kernel/locking/mcs_spinlock.h: `next` and `locked` share one line): locked in
 * bit 0, the successor's CPU + 1 above it.
 */
export const Q_LOCKED = 1;
export const Q_PENDING = 256;
export const Q_TAIL_UNIT = 65536;

export const QW_LOCKED = 0xff;
export const QW_WAITING = 0x100;
export const QW_WMASK = 0x1ff;
export const QR_BIAS = 0x200;

export function qTail(cpu: number): number {
  return (cpu + 1) * Q_TAIL_UNIT;
}
/** The CPU a tail names, or -1 for none. */
export function qTailCpu(word: number): number {
  return Math.floor(word / Q_TAIL_UNIT) - 1;
}
export function qLocked(word: number): boolean {
  return word % Q_PENDING !== 0;
}
export function qPending(word: number): boolean {
  return Math.floor((word % Q_TAIL_UNIT) / Q_PENDING) !== 0;
}
/** Whether anything but the locked byte is set (pending or a queue): contention. */
export function qContended(word: number): boolean {
  return word >= Q_PENDING;
}

export function nodeLocked(node: number): boolean {
  return node % 2 === 1;
}
/** The successor's CPU recorded in an MCS node, or -1. */
export function nodeNext(node: number): number {
  return Math.floor(node / 2) - 1;
}

/** RMW codes of lock words (coherence/rmw.ts hands every code from LOCK_RMW_FIRST here). */
export const LOCK_RMW_FIRST = 32;
/** atomic_try_cmpxchg(0 -> arg): result the old value (0 = taken). */
export const RMW_LOCK_CAS_ZERO = 32;
/** atomic_fetch_or(arg) on a qspinlock word (only the pending byte): result the old value. */
export const RMW_LOCK_SET_PENDING = 33;
/** xchg_tail(arg): replaces the tail, keeps locked and pending; result the old value. */
export const RMW_LOCK_XCHG_TAIL = 34;
/**
 * The queue head claims the lock: try_cmpxchg(arg = its own tail -> locked) when it is the last
 * waiter (result 1), else set_locked (result 0). Result -1 if the lock was held: two holders.
 */
export const RMW_LOCK_CLAIM = 35;
/** clear_pending_set_locked (a store): result the old value, -1 if it was already locked. */
export const RMW_LOCK_PENDING_TO_LOCKED = 36;
/** clear_pending (a store). */
export const RMW_LOCK_CLEAR_PENDING = 37;
/** queued_spin_unlock: a store-release of the locked byte; result -1 if it was not locked. */
export const RMW_LOCK_UNLOCK = 38;
/** WRITE_ONCE(prev->next, node): arg the new successor's CPU + 1 (a store). */
export const RMW_NODE_LINK = 39;
/** arch_mcs_spin_unlock_contended: sets the successor's locked flag (a store). */
export const RMW_NODE_PASS = 40;
/** qrwlock: try_cmpxchg(_QW_WAITING -> _QW_LOCKED): result 1 if taken, else 0. */
export const RMW_QRW_TAKE_WAITING = 41;
/** qrwlock: atomic_or(_QW_WAITING). */
export const RMW_QRW_SET_WAITING = 42;
/** queued_write_unlock: a store-release of the writer byte; result -1 if it was not write-locked. */
export const RMW_QRW_WRITE_UNLOCK = 43;

/** Whether a lock RMW is a LOCK-prefixed instruction (the rest are plain stores). */
export function isLockAtomic(rmw: number): boolean {
  return (
    rmw === RMW_LOCK_CAS_ZERO ||
    rmw === RMW_LOCK_SET_PENDING ||
    rmw === RMW_LOCK_XCHG_TAIL ||
    rmw === RMW_LOCK_CLAIM ||
    rmw === RMW_QRW_TAKE_WAITING ||
    rmw === RMW_QRW_SET_WAITING
  );
}

/** Applies a lock RMW: out[0] the new value, out[1] the result. Pure. */
export function applyLockRmw(rmw: number, value: number, arg: number, out: Float64Array): void {
  switch (rmw) {
    case RMW_LOCK_CAS_ZERO:
      out[0] = value === 0 ? arg : value;
      out[1] = value;
      return;
    case RMW_LOCK_SET_PENDING:
      out[0] = qPending(value) ? value : value + Q_PENDING;
      out[1] = value;
      return;
    case RMW_LOCK_XCHG_TAIL:
      out[0] = (value % Q_TAIL_UNIT) + arg;
      out[1] = value;
      return;
    case RMW_LOCK_CLAIM:
      if (qLocked(value)) {
        out[0] = value;
        out[1] = -1;
      } else if (value === arg) {
        out[0] = Q_LOCKED;
        out[1] = 1;
      } else {
        out[0] = value + Q_LOCKED;
        out[1] = 0;
      }
      return;
    case RMW_LOCK_PENDING_TO_LOCKED:
      out[0] = qLocked(value) ? value : value - Q_PENDING + Q_LOCKED;
      out[1] = qLocked(value) || !qPending(value) ? -1 : value;
      return;
    case RMW_LOCK_CLEAR_PENDING:
      out[0] = qPending(value) ? value - Q_PENDING : value;
      out[1] = value;
      return;
    case RMW_LOCK_UNLOCK:
      out[0] = qLocked(value) ? value - Q_LOCKED : value;
      out[1] = qLocked(value) ? value : -1;
      return;
    case RMW_NODE_LINK:
      out[0] = (value % 2) + arg * 2;
      out[1] = out[0];
      return;
    case RMW_NODE_PASS:
      out[0] = nodeLocked(value) ? value : value + 1;
      out[1] = out[0];
      return;
    case RMW_QRW_TAKE_WAITING:
      out[0] = value === QW_WAITING ? QW_LOCKED : value;
      out[1] = value === QW_WAITING ? 1 : 0;
      return;
    case RMW_QRW_SET_WAITING:
      out[0] = (value & QW_WAITING) !== 0 ? value : value + QW_WAITING;
      out[1] = value;
      return;
    case RMW_QRW_WRITE_UNLOCK:
      out[0] = (value & QW_LOCKED) === QW_LOCKED ? value - QW_LOCKED : value;
      out[1] = (value & QW_LOCKED) === QW_LOCKED ? value : -1;
      return;
    default:
      throw new RangeError(`unknown lock rmw code ${rmw}`);
  }
}

/**
 * Spin conditions (smp_cond_load_* / atomic_cond_read_*): a spinning CPU keeps its copy of the
 * line and looks again only when the copy is invalidated, as a cache does.
 */
export const UNTIL_UNLOCKED = 1; // qspinlock: the locked byte is clear
export const UNTIL_UNLOCKED_NOT_PENDING = 2; // qspinlock: locked and pending clear
export const UNTIL_NODE_LOCKED = 3; // MCS node: our predecessor passed the queue head to us
export const UNTIL_NODE_NEXT = 4; // MCS node: a successor linked itself
export const UNTIL_EQUAL = 5; // the word equals arg
export const UNTIL_NO_WRITER = 6; // qrwlock: the writer byte is clear

export function spinSatisfied(condition: number, value: number, arg: number): boolean {
  switch (condition) {
    case UNTIL_UNLOCKED:
      return !qLocked(value);
    case UNTIL_UNLOCKED_NOT_PENDING:
      return value % Q_TAIL_UNIT === 0;
    case UNTIL_NODE_LOCKED:
      return nodeLocked(value);
    case UNTIL_NODE_NEXT:
      return nodeNext(value) >= 0;
    case UNTIL_EQUAL:
      return value === arg;
    case UNTIL_NO_WRITER:
      return (value & QW_LOCKED) === 0;
    default:
      throw new RangeError(`unknown spin condition ${condition}`);
  }
}
