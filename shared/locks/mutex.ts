import type { Program, Step, StepWriter } from "../kernel/program.ts";
import { TAG_OWNER_MUTEX, type LockHost } from "./lock-host.ts";
import {
  M_LOCKED,
  M_OWNER_ASLEEP,
  M_WAITERS,
  RMW_LOCK_ANDNOT,
  RMW_LOCK_OR,
  RMW_MUTEX_LOCK_OR_WAIT,
  RMW_MUTEX_TRYLOCK,
  RMW_MUTEX_UNLOCK,
  UNTIL_MUTEX_SPIN_OVER,
} from "./lock-word.ts";
import { spinLock, spinUnlock } from "./qspinlock.ts";
import { enqueueAndSleep, handOver, sleepAcquired, sleepBegin, sleepReleased } from "./sleep-queue.ts";

/**
 * Linux's sleeping mutex (kernel/locking/mutex.c), as rtnl_mutex is one:
 * - fast path: cmpxchg of the owner word from 0;
 * - optimistic spinning (mutex_optimistic_spin): a contender that has nothing else to run
 *   (!need_resched()) joins the osq, an MCS queue of spinners (a qspinlock class here), so only
 *   its head spins on the owner word; it spins while the owner runs (the word says neither that
 *   the owner sleeps nor that sleepers queued) and tries again once the word is free;
 * - otherwise (something else is ready on the CPU, the owner sleeps, or others already sleep)
 *   it takes wait_lock, tries once more, joins the wait list and sleeps (sleep-queue.ts);
 * - mutex_unlock: frees the word if nobody sleeps, else hands the mutex to the first sleeper.
 * An owner that sleeps inside its section (mutexOwnerSleeps) marks the word, as owner->on_cpu
 * turning 0 tells spinners in Linux. Not modelled: the spinner's bail-out when need_resched()
 * becomes true during the spin (it is checked once, before spinning), ww_mutex, lockdep.
 */
const T_FAST = (TAG_OWNER_MUTEX << 4) + 0;
const T_SPUN = (TAG_OWNER_MUTEX << 4) + 1;
const T_SPIN_TRY = (TAG_OWNER_MUTEX << 4) + 2;
const T_SLOW = (TAG_OWNER_MUTEX << 4) + 3;
const T_UNLOCK = (TAG_OWNER_MUTEX << 4) + 4;

export function mutexLock(h: LockHost, w: StepWriter, lock: number): void {
  sleepBegin(w, lock);
  w.access(h.locks.classes[lock].word, RMW_MUTEX_TRYLOCK, 0, T_FAST, lock);
}

export function mutexUnlock(h: LockHost, w: StepWriter, lock: number): void {
  w.access(h.locks.classes[lock].word, RMW_MUTEX_UNLOCK, 0, T_UNLOCK, lock);
}

/** The owner is about to sleep in its section (spinners stop spinning) / runs again. */
export function mutexOwnerSleeps(h: LockHost, w: StepWriter, lock: number): void {
  w.access(h.locks.classes[lock].word, RMW_LOCK_OR, M_OWNER_ASLEEP);
}
export function mutexOwnerRuns(h: LockHost, w: StepWriter, lock: number): void {
  w.access(h.locks.classes[lock].word, RMW_LOCK_ANDNOT, M_OWNER_ASLEEP);
}

function slowPath(h: LockHost, w: StepWriter, lock: number): void {
  const c = h.locks.classes[lock];
  spinLock(h, w, c.waitLock);
  w.access(c.word, RMW_MUTEX_LOCK_OR_WAIT, 0, T_SLOW, lock);
}

export function mutexResult(h: LockHost, program: Program, step: Step, result: number, w: StepWriter): void {
  const lock = step.obj;
  const c = h.locks.classes[lock];
  const task = program.taskId;
  switch (step.tag) {
    case T_FAST:
      if (result === 0) {
        sleepAcquired(h, lock, task, c.word, false, false);
        return;
      }
      if (h.needResched(h.currentCpu) || (result & (M_WAITERS | M_OWNER_ASLEEP)) !== 0) {
        slowPath(h, w, lock);
        return;
      }
      spinLock(h, w, c.osq as number);
      w.spin(c.word, UNTIL_MUTEX_SPIN_OVER, 0, T_SPUN, lock);
      return;
    case T_SPUN:
      if (result === 0) {
        w.access(c.word, RMW_MUTEX_TRYLOCK, 0, T_SPIN_TRY, lock);
        return;
      }
      spinUnlock(h, w, c.osq as number);
      slowPath(h, w, lock);
      return;
    case T_SPIN_TRY:
      if (result === 0) {
        sleepAcquired(h, lock, task, c.word, false, true);
        spinUnlock(h, w, c.osq as number);
        return;
      }
      if (result === M_LOCKED) {
        // Another CPU took it first (its fast path): spin on the new owner.
        w.spin(c.word, UNTIL_MUTEX_SPIN_OVER, 0, T_SPUN, lock);
        return;
      }
      spinUnlock(h, w, c.osq as number);
      slowPath(h, w, lock);
      return;
    case T_SLOW:
      if ((result & M_LOCKED) === 0) {
        sleepAcquired(h, lock, task, c.word, false, true);
        spinUnlock(h, w, c.waitLock);
        return;
      }
      enqueueAndSleep(h, w, program, lock, true);
      return;
    case T_UNLOCK:
      if (result < 0) {
        h.violation("lock-two-holders", lock, `${c.name}: unlocked while not locked`);
        return;
      }
      sleepReleased(h, lock, task, c.word, false);
      if ((result & M_WAITERS) !== 0) handOver(h, w, lock);
      return;
    default:
      throw new RangeError(`unknown mutex tag ${step.tag}`);
  }
}
