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

/**
 * Sleeping locks (mutex.ts, rwsem.ts; see sleep-queue.ts for their wait lists). A mutex word:
 * M_LOCKED (the owner), M_WAITERS (the wait list is not empty: the unlock hands the lock to its
 * head, never frees it) and M_OWNER_ASLEEP (the owner sleeps inside its section, so spinning on
 * it is pointless: mutex_spin_on_owner's owner->on_cpu check). An rwsem word (kernel/locking/
 * rwsem.c): RW_WRITER (RWSEM_WRITER_LOCKED), RW_WAITERS (RWSEM_FLAG_WAITERS), readers counted
 * in units of RW_READER (RWSEM_READER_BIAS).
 */
export const M_LOCKED = 1;
export const M_WAITERS = 2;
export const M_OWNER_ASLEEP = 4;
export const RW_WRITER = 1;
export const RW_WAITERS = 2;
export const RW_READER = 256;

/** __mutex_trylock: takes the lock if nobody owns it and nobody waits; result the old value. */
export const RMW_MUTEX_TRYLOCK = 44;
/** Under wait_lock: takes the lock if free (result the old value, free), else sets M_WAITERS. */
export const RMW_MUTEX_LOCK_OR_WAIT = 45;
/** mutex_unlock: frees the word if nobody waits, else keeps it locked (the head gets it); result the old value, -1 if not locked. */
export const RMW_MUTEX_UNLOCK = 46;
/** Sets bits `arg` (atomic_long_or); result the old value. */
export const RMW_LOCK_OR = 47;
/** Clears bits `arg` (atomic_long_andnot); result the old value. */
export const RMW_LOCK_ANDNOT = 48;
/** rwsem read trylock: one more reader unless a writer holds or anyone waits; result the old value. */
export const RMW_RWSEM_READ_TRY = 49;
/** Under wait_lock: a reader gets in as RMW_RWSEM_READ_TRY does, else sets RW_WAITERS; result the old value. */
export const RMW_RWSEM_READ_OR_WAIT = 50;
/** Under wait_lock: a writer gets in if the word is 0, else sets RW_WAITERS; result the old value. */
export const RMW_RWSEM_WRITE_OR_WAIT = 51;
/** up_read: one reader less; result the new value, -1 if there was no reader. */
export const RMW_RWSEM_READ_UNLOCK = 52;
/** up_write: clears RW_WRITER; result the new value, -1 if it was not write-locked. */
export const RMW_RWSEM_WRITE_UNLOCK = 53;

/** A wait list's tail (plain, under wait_lock): stores `arg`, result the old value. */
export const RMW_LIST_SWAP = 54;
/** A wait-list node (plain, under wait_lock): sets its next waiter to `arg` (task + 1), keeps the rest. */
export const RMW_NODE_SET_NEXT = 55;

/** Whether a lock RMW is a LOCK-prefixed instruction (the rest are plain stores). */
export function isLockAtomic(rmw: number): boolean {
  return (
    (rmw >= RMW_MUTEX_TRYLOCK && rmw <= RMW_RWSEM_WRITE_UNLOCK) ||
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
    case RMW_MUTEX_TRYLOCK:
      out[0] = value === 0 ? M_LOCKED : value;
      out[1] = value;
      return;
    case RMW_MUTEX_LOCK_OR_WAIT:
      out[0] = (value & M_LOCKED) === 0 ? value | M_LOCKED : value | M_WAITERS;
      out[1] = value;
      return;
    case RMW_MUTEX_UNLOCK:
      out[0] = (value & M_LOCKED) === 0 ? value : (value & M_WAITERS) !== 0 ? value & ~M_OWNER_ASLEEP : 0;
      out[1] = (value & M_LOCKED) === 0 ? -1 : value;
      return;
    case RMW_LOCK_OR:
      out[0] = value | arg;
      out[1] = value;
      return;
    case RMW_LOCK_ANDNOT:
      out[0] = value & ~arg;
      out[1] = value;
      return;
    case RMW_RWSEM_READ_TRY:
      out[0] = (value & (RW_WRITER | RW_WAITERS)) === 0 ? value + RW_READER : value;
      out[1] = value;
      return;
    case RMW_RWSEM_READ_OR_WAIT:
      out[0] = (value & (RW_WRITER | RW_WAITERS)) === 0 ? value + RW_READER : value | RW_WAITERS;
      out[1] = value;
      return;
    case RMW_RWSEM_WRITE_OR_WAIT:
      out[0] = value === 0 ? RW_WRITER : value | RW_WAITERS;
      out[1] = value;
      return;
    case RMW_RWSEM_READ_UNLOCK:
      out[0] = value >= RW_READER ? value - RW_READER : value;
      out[1] = value >= RW_READER ? out[0] : -1;
      return;
    case RMW_RWSEM_WRITE_UNLOCK:
      out[0] = (value & RW_WRITER) !== 0 ? value - RW_WRITER : value;
      out[1] = (value & RW_WRITER) !== 0 ? out[0] : -1;
      return;
    case RMW_LIST_SWAP:
      out[0] = arg;
      out[1] = value;
      return;
    case RMW_NODE_SET_NEXT:
      out[0] = (value % 2 ** 17) + arg * 2 ** 17;
      out[1] = out[0];
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
/** mutex optimistic spin: the owner left, went to sleep, or sleepers queued (spinning is over). */
export const UNTIL_MUTEX_SPIN_OVER = 7;

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
    case UNTIL_MUTEX_SPIN_OVER:
      return value !== M_LOCKED;
    default:
      throw new RangeError(`unknown spin condition ${condition}`);
  }
}
