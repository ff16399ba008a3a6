import type { Program, Step, StepWriter } from "../kernel/program.ts";
import { TAG_OWNER_RWSEM, type LockHost } from "./lock-host.ts";
import {
  RMW_LOCK_CAS_ZERO,
  RMW_RWSEM_READ_OR_WAIT,
  RMW_RWSEM_READ_TRY,
  RMW_RWSEM_READ_UNLOCK,
  RMW_RWSEM_WRITE_OR_WAIT,
  RMW_RWSEM_WRITE_UNLOCK,
  RW_WAITERS,
  RW_WRITER,
} from "./lock-word.ts";
import { spinLock, spinUnlock } from "./qspinlock.ts";
import { enqueueAndSleep, handOver, sleepAcquired, sleepBegin, sleepReleased } from "./sleep-queue.ts";

/**
 * Linux's sleeping read-write semaphore (kernel/locking/rwsem.c), as pernet_ops_rwsem and
 * net_rwsem are:
 * - down_read: one more reader unless a writer holds it or anyone waits (readers do not overtake
 *   a waiter: RWSEM_READ_FAILED_MASK); else, under wait_lock, try again or join the wait list
 *   and sleep;
 * - down_write: cmpxchg 0 -> RWSEM_WRITER_LOCKED; else, under wait_lock, try again or join the
 *   wait list and sleep;
 * - up_read / up_write: the release that leaves no holder but waiters hands the rwsem over
 *   (sleep-queue.ts): to the first waiter if it writes, else to the readers at the head.
 * Differences, stated: the reader fast path is a conditional update (Linux adds the bias first
 * and takes it back on failure); a hand-over to readers wakes those before the first writer
 * (Linux wakes every reader in the list, up to 256); no optimistic spinning of writers on a
 * running owner (Linux's rwsem_optimistic_spin), so a contended writer always sleeps.
 */
const T_R_FAST = (TAG_OWNER_RWSEM << 4) + 0;
const T_R_SLOW = (TAG_OWNER_RWSEM << 4) + 1;
const T_W_FAST = (TAG_OWNER_RWSEM << 4) + 2;
const T_W_SLOW = (TAG_OWNER_RWSEM << 4) + 3;
const T_R_UNLOCK = (TAG_OWNER_RWSEM << 4) + 4;
const T_W_UNLOCK = (TAG_OWNER_RWSEM << 4) + 5;

export function downRead(h: LockHost, w: StepWriter, lock: number): void {
  sleepBegin(w, lock);
  w.access(h.locks.classes[lock].word, RMW_RWSEM_READ_TRY, 0, T_R_FAST, lock);
}
export function upRead(h: LockHost, w: StepWriter, lock: number): void {
  w.access(h.locks.classes[lock].word, RMW_RWSEM_READ_UNLOCK, 0, T_R_UNLOCK, lock);
}
export function downWrite(h: LockHost, w: StepWriter, lock: number): void {
  sleepBegin(w, lock);
  w.access(h.locks.classes[lock].word, RMW_LOCK_CAS_ZERO, RW_WRITER, T_W_FAST, lock);
}
export function upWrite(h: LockHost, w: StepWriter, lock: number): void {
  w.access(h.locks.classes[lock].word, RMW_RWSEM_WRITE_UNLOCK, 0, T_W_UNLOCK, lock);
}

export function rwsemResult(h: LockHost, program: Program, step: Step, result: number, w: StepWriter): void {
  const lock = step.obj;
  const c = h.locks.classes[lock];
  const task = program.taskId;
  switch (step.tag) {
    case T_R_FAST:
      if ((result & (RW_WRITER | RW_WAITERS)) === 0) {
        sleepAcquired(h, lock, task, c.word, true, false);
        return;
      }
      spinLock(h, w, c.waitLock);
      w.access(c.word, RMW_RWSEM_READ_OR_WAIT, 0, T_R_SLOW, lock);
      return;
    case T_R_SLOW:
      if ((result & (RW_WRITER | RW_WAITERS)) === 0) {
        sleepAcquired(h, lock, task, c.word, true, true);
        spinUnlock(h, w, c.waitLock);
        return;
      }
      enqueueAndSleep(h, w, program, lock, false);
      return;
    case T_W_FAST:
      if (result === 0) {
        sleepAcquired(h, lock, task, c.word, false, false);
        return;
      }
      spinLock(h, w, c.waitLock);
      w.access(c.word, RMW_RWSEM_WRITE_OR_WAIT, 0, T_W_SLOW, lock);
      return;
    case T_W_SLOW:
      if (result === 0) {
        sleepAcquired(h, lock, task, c.word, false, true);
        spinUnlock(h, w, c.waitLock);
        return;
      }
      enqueueAndSleep(h, w, program, lock, true);
      return;
    case T_R_UNLOCK:
    case T_W_UNLOCK: {
      const reader = step.tag === T_R_UNLOCK;
      if (result < 0) {
        h.violation("lock-two-holders", lock, `${c.name}: ${reader ? "read" : "write"}-unlocked while not ${reader ? "read" : "write"}-locked`);
        return;
      }
      sleepReleased(h, lock, task, c.word, reader);
      if (result === RW_WAITERS) handOver(h, w, lock);
      return;
    }
    default:
      throw new RangeError(`unknown rwsem tag ${step.tag}`);
  }
}
