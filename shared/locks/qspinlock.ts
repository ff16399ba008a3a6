import { RMW_SET } from "../coherence/protocol.ts";
import type { Program, Step, StepWriter } from "../kernel/program.ts";
import { acquired, beginWait, released, TAG_OWNER_SPIN, wordOf, type LockHost } from "./lock-host.ts";
import {
  nodeNext,
  qContended,
  qLocked,
  qPending,
  qTail,
  qTailCpu,
  Q_LOCKED,
  RMW_LOCK_CAS_ZERO,
  RMW_LOCK_CLAIM,
  RMW_LOCK_CLEAR_PENDING,
  RMW_LOCK_PENDING_TO_LOCKED,
  RMW_LOCK_SET_PENDING,
  RMW_LOCK_UNLOCK,
  RMW_LOCK_XCHG_TAIL,
  RMW_NODE_LINK,
  RMW_NODE_PASS,
  UNTIL_NODE_LOCKED,
  UNTIL_NODE_NEXT,
  UNTIL_UNLOCKED,
  UNTIL_UNLOCKED_NOT_PENDING,
} from "./lock-word.ts";

/**
 * Linux's queued spinlock, step by step as kernel/locking/qspinlock.c takes it:
 * - fast path: cmpxchg 0 -> locked;
 * - one waiter: set the pending bit and spin on the lock word until the owner unlocks, then
 *   clear_pending_set_locked;
 * - more: queue on this CPU's MCS node (xchg_tail), link into the predecessor's node, spin on
 *   the own node until the predecessor passes the head over; the head spins on the lock word
 *   until locked and pending clear, claims the lock and passes the head to its successor.
 * So a handover moves the lock word's line to the head and one node line to the next waiter:
 * a couple of line transfers, never a storm of every waiter on one line.
 * Not modelled: the bounded spin on a pending->locked hand-over in progress (the model queues
 * at once), nesting contexts (qnodes[1..3], IRQ and NMI), paravirt.
 */
const T_FAST = (TAG_OWNER_SPIN << 4) + 0;
const T_PENDING = (TAG_OWNER_SPIN << 4) + 1;
const T_PENDING_TAKEN = (TAG_OWNER_SPIN << 4) + 2;
const T_TRYLOCK = (TAG_OWNER_SPIN << 4) + 3;
const T_TAIL = (TAG_OWNER_SPIN << 4) + 4;
const T_NODE_HEAD = (TAG_OWNER_SPIN << 4) + 5;
const T_CLAIM = (TAG_OWNER_SPIN << 4) + 6;
const T_NEXT = (TAG_OWNER_SPIN << 4) + 7;
const T_UNLOCK = (TAG_OWNER_SPIN << 4) + 8;
const T_HEAD = (TAG_OWNER_SPIN << 4) + 9;
const A_BEGIN = (TAG_OWNER_SPIN << 4) + 10;

/** spin_lock(): `objectWord` is the word's line for a per-object lock class. */
export function spinLock(h: LockHost, w: StepWriter, lock: number, objectWord = -1): void {
  const word = wordOf(h, lock, objectWord);
  w.action(A_BEGIN, lock, word);
  w.access(word, RMW_LOCK_CAS_ZERO, Q_LOCKED, T_FAST, lock);
}

/** spin_unlock(): a store-release of the locked byte. */
export function spinUnlock(h: LockHost, w: StepWriter, lock: number, objectWord = -1): void {
  w.access(wordOf(h, lock, objectWord), RMW_LOCK_UNLOCK, 0, T_UNLOCK, lock);
}

export function spinLockAction(h: LockHost, step: Step): void {
  if (step.tag !== A_BEGIN) throw new RangeError(`unknown spinlock action ${step.tag}`);
  beginWait(h, step.obj);
  h.lockState(h.currentCpu).wordLine[step.obj] = step.arg;
}

/** The continuation of a spinlock step: what the CPU does with the value it saw. */
export function spinLockResult(h: LockHost, _program: Program, step: Step, result: number, w: StepWriter): void {
  const lock = step.obj;
  const cpu = h.currentCpu;
  const st = h.lockState(cpu);
  const word = st.wordLine[lock];
  switch (step.tag) {
    case T_FAST:
      if (result === 0) {
        acquired(h, lock, word);
        return;
      }
      st.contended[lock] = 1;
      if (qContended(result)) queue(h, w, lock, word);
      else w.access(word, RMW_LOCK_SET_PENDING, 0, T_PENDING, lock);
      return;
    case T_TRYLOCK:
      if (result === 0) acquired(h, lock, word);
      else w.access(word, RMW_LOCK_XCHG_TAIL, qTail(cpu), T_TAIL, lock);
      return;
    case T_PENDING:
      if (qContended(result)) {
        // Someone else is pending or queued: undo our pending bit if we set it, and queue.
        if (!qPending(result)) w.access(word, RMW_LOCK_CLEAR_PENDING, 0);
        queue(h, w, lock, word);
        return;
      }
      if (qLocked(result)) w.spin(word, UNTIL_UNLOCKED);
      w.access(word, RMW_LOCK_PENDING_TO_LOCKED, 0, T_PENDING_TAKEN, lock);
      return;
    case T_PENDING_TAKEN:
      if (result < 0) h.violation("lock-two-holders", lock, `${h.locks.classes[lock].name}: taken from pending while held`);
      acquired(h, lock, word);
      return;
    case T_TAIL: {
      st.successor[lock] = -1;
      const prev = qTailCpu(result);
      if (prev >= 0) {
        w.access(h.nodeLine(prev), RMW_NODE_LINK, cpu + 1);
        w.spin(h.nodeLine(cpu), UNTIL_NODE_LOCKED, 0, T_NODE_HEAD, lock);
      } else {
        w.spin(word, UNTIL_UNLOCKED_NOT_PENDING, 0, T_HEAD, lock);
      }
      return;
    }
    case T_NODE_HEAD:
      // Passed the head: the successor may already have linked itself (the node's value says).
      st.successor[lock] = nodeNext(result);
      w.spin(word, UNTIL_UNLOCKED_NOT_PENDING, 0, T_HEAD, lock);
      return;
    case T_HEAD:
      w.access(word, RMW_LOCK_CLAIM, qTail(cpu), T_CLAIM, lock);
      return;
    case T_CLAIM:
      if (result < 0) {
        h.violation("lock-two-holders", lock, `${h.locks.classes[lock].name}: the queue head claimed a held lock`);
        return;
      }
      acquired(h, lock, word);
      if (result === 1) return;
      if (st.successor[lock] >= 0) w.access(h.nodeLine(st.successor[lock]), RMW_NODE_PASS, 0);
      else w.spin(h.nodeLine(cpu), UNTIL_NODE_NEXT, 0, T_NEXT, lock);
      return;
    case T_NEXT:
      w.access(h.nodeLine(nodeNext(result)), RMW_NODE_PASS, 0);
      return;
    case T_UNLOCK:
      if (result < 0) h.violation("lock-two-holders", lock, `${h.locks.classes[lock].name}: unlocked while not held`);
      released(h, lock, step.line);
      return;
    default:
      throw new RangeError(`unknown spinlock tag ${step.tag}`);
  }
}

/** Joins the MCS queue: initialises the own node and tries the lock once more before publishing the tail. */
function queue(h: LockHost, w: StepWriter, lock: number, word: number): void {
  w.access(h.nodeLine(h.currentCpu), RMW_SET, 0);
  w.access(word, RMW_LOCK_CAS_ZERO, Q_LOCKED, T_TRYLOCK, lock);
}
