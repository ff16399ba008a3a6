import { RMW_ATOMIC_ADD } from "../coherence/protocol.ts";
import type { Program, Step, StepWriter } from "../kernel/program.ts";
import { acquired, beginWait, released, TAG_OWNER_RW, type LockHost } from "./lock-host.ts";
import {
  QR_BIAS,
  QW_LOCKED,
  QW_WAITING,
  QW_WMASK,
  RMW_LOCK_CAS_ZERO,
  RMW_QRW_SET_WAITING,
  RMW_QRW_TAKE_WAITING,
  RMW_QRW_WRITE_UNLOCK,
  UNTIL_EQUAL,
  UNTIL_NO_WRITER,
} from "./lock-word.ts";
import { spinLock, spinUnlock } from "./qspinlock.ts";

/**
 * Linux's queued rwlock (kernel/locking/qrwlock.c), as tasklist_lock is one:
 * - write_lock: cmpxchg 0 -> _QW_LOCKED; else take wait_lock (a qspinlock: writers and
 *   blocked readers queue there, MCS-style), try again, set _QW_WAITING, spin until the word
 *   is exactly _QW_WAITING (readers gone), cmpxchg it to _QW_LOCKED, release wait_lock;
 * - read_lock: add _QR_BIAS; if a writer holds or waits, take it back, queue on wait_lock,
 *   add it again and spin until the writer byte clears (process context: readers do not
 *   overtake a waiting writer), release wait_lock;
 * - unlocks: a store-release of the writer byte, or subtracting _QR_BIAS.
 * The model gives wait_lock its own line; in Linux it shares the word's line (struct qrwlock),
 * so a contended handover here moves one line more than it does there.
 */
const T_W_FAST = (TAG_OWNER_RW << 4) + 0;
const T_W_RETRY = (TAG_OWNER_RW << 4) + 1;
const T_W_TAKE = (TAG_OWNER_RW << 4) + 2;
const T_W_UNLOCK = (TAG_OWNER_RW << 4) + 3;
const T_R_FAST = (TAG_OWNER_RW << 4) + 4;
const T_R_WAITED = (TAG_OWNER_RW << 4) + 5;
const T_R_UNLOCK = (TAG_OWNER_RW << 4) + 6;
const A_BEGIN = (TAG_OWNER_RW << 4) + 7;

function wordLine(h: LockHost, lock: number): number {
  return h.locks.classes[lock].word;
}

export function writeLock(h: LockHost, w: StepWriter, lock: number): void {
  w.action(A_BEGIN, lock);
  w.access(wordLine(h, lock), RMW_LOCK_CAS_ZERO, QW_LOCKED, T_W_FAST, lock);
}

export function writeUnlock(h: LockHost, w: StepWriter, lock: number): void {
  w.access(wordLine(h, lock), RMW_QRW_WRITE_UNLOCK, 0, T_W_UNLOCK, lock);
}

export function readLock(h: LockHost, w: StepWriter, lock: number): void {
  w.action(A_BEGIN, lock);
  w.access(wordLine(h, lock), RMW_ATOMIC_ADD, QR_BIAS, T_R_FAST, lock);
}

export function readUnlock(h: LockHost, w: StepWriter, lock: number): void {
  w.access(wordLine(h, lock), RMW_ATOMIC_ADD, -QR_BIAS, T_R_UNLOCK, lock);
}

export function rwLockAction(h: LockHost, step: Step): void {
  if (step.tag !== A_BEGIN) throw new RangeError(`unknown rwlock action ${step.tag}`);
  beginWait(h, step.obj);
}

export function rwLockResult(h: LockHost, _program: Program, step: Step, result: number, w: StepWriter): void {
  const lock = step.obj;
  const word = wordLine(h, lock);
  const waitLock = h.locks.classes[lock].waitLock;
  const st = h.lockState(h.currentCpu);
  switch (step.tag) {
    case T_W_FAST:
      if (result === 0) {
        acquired(h, lock, word);
        return;
      }
      st.contended[lock] = 1;
      spinLock(h, w, waitLock);
      w.access(word, RMW_LOCK_CAS_ZERO, QW_LOCKED, T_W_RETRY, lock);
      return;
    case T_W_RETRY:
      if (result === 0) {
        acquired(h, lock, word);
        spinUnlock(h, w, waitLock);
        return;
      }
      w.access(word, RMW_QRW_SET_WAITING, 0);
      w.spin(word, UNTIL_EQUAL, QW_WAITING);
      w.access(word, RMW_QRW_TAKE_WAITING, 0, T_W_TAKE, lock);
      return;
    case T_W_TAKE:
      if (result === 1) {
        acquired(h, lock, word);
        spinUnlock(h, w, waitLock);
        return;
      }
      // A reader came in between: wait for the word to be _QW_WAITING again.
      w.spin(word, UNTIL_EQUAL, QW_WAITING);
      w.access(word, RMW_QRW_TAKE_WAITING, 0, T_W_TAKE, lock);
      return;
    case T_W_UNLOCK:
      if (result < 0) h.violation("lock-two-holders", lock, `${h.locks.classes[lock].name}: write-unlocked while not write-locked`);
      released(h, lock, word);
      return;
    case T_R_FAST:
      if ((result & QW_WMASK) === 0) {
        acquired(h, lock, word, true);
        return;
      }
      st.contended[lock] = 1;
      w.access(word, RMW_ATOMIC_ADD, -QR_BIAS);
      spinLock(h, w, waitLock);
      w.access(word, RMW_ATOMIC_ADD, QR_BIAS);
      w.spin(word, UNTIL_NO_WRITER, 0, T_R_WAITED, lock);
      spinUnlock(h, w, waitLock);
      return;
    case T_R_WAITED:
      acquired(h, lock, word, true);
      return;
    case T_R_UNLOCK:
      if (result < 0) h.violation("lock-two-holders", lock, `${h.locks.classes[lock].name}: read-unlocked with no reader`);
      released(h, lock, word, true);
      return;
    default:
      throw new RangeError(`unknown rwlock tag ${step.tag}`);
  }
}
