import type { StepWriter } from "../kernel/program.ts";
import type { ViolationKind } from "../schemes/scheme.ts";
import type { SleepCostsPs } from "./sleep-costs.ts";

/** How a lock's waiters behave. */
export const LOCK_SPIN = 0; // qspinlock (kernel/locking/qspinlock.c)
export const LOCK_RW = 1; // qrwlock (kernel/locking/qrwlock.c)
export const LOCK_MUTEX = 2; // sleeping mutex (kernel/locking/mutex.c)
export const LOCK_RWSEM = 3; // sleeping rw_semaphore (kernel/locking/rwsem.c)
/** Not a lock: a single-threaded work queue's backlog (wait: queued to started; hold: the work item's run). */
export const LOCK_WORKQUEUE = 4;
export const LOCK_KIND_NAMES = ["spinlock", "rwlock", "mutex", "rwsem", "workqueue"] as const;

/** A class of lock (one name in the statistics); one word, or one per object (a task's siglock). */
export interface LockClass {
  name: string;
  kind: number;
  /** The lock word's line for a single lock; -1 when each object has its own (passed per call). */
  word: number;
  /** A queued rwlock's or a sleeping lock's wait_lock: the index of its spinlock class, else -1. */
  waitLock: number;
  /** A sleeping lock's wait list: the lines of its head and tail (see sleep-queue.ts); -1 otherwise. */
  head?: number;
  tail?: number;
  /** A mutex's optimistic-spin queue (osq): the index of a spinlock class standing for it, else -1. */
  osq?: number;
}

/**
 * The locks of a kernel profile: their classes, and the object whose per-CPU lines are the
 * CPUs' MCS queue nodes (kernel/locking/qspinlock.c: `qnodes`, one line per CPU, homed on its node).
 */
export interface LockTable {
  classes: LockClass[];
  nodesObject: number;
}

/** Fields per lock class in LockCpuState.stats. */
export const LOCK_STAT_FIELDS = 4;
export const STAT_ACQUIRED = 0;
export const STAT_CONTENDED = 1;
export const STAT_WAIT_PS = 2;
export const STAT_HOLD_PS = 3;

/**
 * What one CPU knows of its lock acquisitions, by lock class. A CPU waits for at most one lock
 * of a class at a time, and holds at most one (a write or read hold) of a class at a time.
 */
export interface LockCpuState {
  /** LOCK_STAT_FIELDS numbers per class: acquisitions, contended ones, wait and hold time (ps). */
  stats: Float64Array;
  waitSincePs: Float64Array;
  heldSincePs: Float64Array;
  /** 1 while the acquisition in progress left the fast path. */
  contended: Float64Array;
  /** The line of the lock word being acquired (per-object locks). */
  wordLine: Float64Array;
  /** A qspinlock queue waiter: its successor's CPU once it has seen one, else -1. */
  successor: Float64Array;
  /** 1 if the hold being recorded started inside the measured window. */
  countedHold: Float64Array;
  /**
   * What the CPU is doing with locks, for the attribution of its time (metrics/attribution.ts):
   * acquisitions begun and not yet held, the lock class the outermost of them is for (a
   * rwlock's wait_lock is taken inside its rwlock's acquisition, so the rwlock's), and holds.
   */
  waiting: number;
  waitingFor: number;
  holding: number;
  /**
   * Sleeping locks, by task (lock class + classes * task): when its wait and its hold began
   * (-1: a hold begun outside the measured window). Several tasks of one CPU may wait for, or
   * hold for reading, one sleeping lock at a time.
   */
  taskWaitSincePs: Map<number, number>;
  taskHeldSincePs: Map<number, number>;
}

export function newLockCpuState(classCount: number): LockCpuState {
  return {
    stats: new Float64Array(classCount * LOCK_STAT_FIELDS),
    waitSincePs: new Float64Array(classCount),
    heldSincePs: new Float64Array(classCount),
    contended: new Float64Array(classCount),
    wordLine: new Float64Array(classCount),
    successor: new Float64Array(classCount).fill(-1),
    countedHold: new Float64Array(classCount),
    waiting: 0,
    waitingFor: -1,
    holding: 0,
    taskWaitSincePs: new Map(),
    taskHeldSincePs: new Map(),
  };
}

/** What lock algorithms ask of the kernel around them. */
export interface LockHost {
  readonly locks: LockTable;
  readonly currentCpu: number;
  readonly nowPs: number;
  lockState(cpu: number): LockCpuState;
  /** The MCS node line of a CPU. */
  nodeLine(cpu: number): number;
  /** Whether a time falls in the measured window. */
  measured(timePs: number): boolean;
  violation(kind: ViolationKind, obj: number, detail: string): void;
  /**
   * Test hook: every acquisition and release of a lock word as (word, cpu, time, change): +1 / -1
   * for an exclusive hold, +2 / -2 for a shared (read) hold.
   */
  lockLog: number[] | null;
  readonly sleepCosts: SleepCostsPs;
  /** need_resched() as a lock spinner sees it: other work is ready on the CPU. */
  needResched(cpu: number): boolean;
  /** try_to_wake_up(task) on `cpu`, the wake-up arriving after `delayPs`. */
  wakeTask(task: number, cpu: number, delayPs: number): void;
}

/**
 * Lock steps carry tags of their algorithm's owner (sleep-queue 11, mutex 12, rwsem 13 as well) (kernel.ts routes them here): 14 for spinlocks, 15 for
 * rwlocks; the step's `obj` is the lock class.
 */
export const TAG_OWNER_SLEEP = 11;
export const TAG_OWNER_MUTEX = 12;
export const TAG_OWNER_RWSEM = 13;
export const TAG_OWNER_SPIN = 14;
export const TAG_OWNER_RW = 15;

export function beginWait(h: LockHost, lock: number): void {
  const st = h.lockState(h.currentCpu);
  st.waitSincePs[lock] = h.nowPs;
  st.contended[lock] = 0;
  if (st.waiting++ === 0) st.waitingFor = lock;
}

/** Records an acquisition that just happened on the current CPU. */
export function acquired(h: LockHost, lock: number, word: number, shared = false): void {
  const st = h.lockState(h.currentCpu);
  const now = h.nowPs;
  st.heldSincePs[lock] = now;
  st.countedHold[lock] = h.measured(now) ? 1 : 0;
  if (st.countedHold[lock] === 1) {
    const at = lock * LOCK_STAT_FIELDS;
    st.stats[at + STAT_ACQUIRED]++;
    st.stats[at + STAT_CONTENDED] += st.contended[lock];
    st.stats[at + STAT_WAIT_PS] += now - st.waitSincePs[lock];
  }
  st.waiting--;
  st.holding++;
  h.lockLog?.push(word, h.currentCpu, now, shared ? 2 : 1);
}

export function released(h: LockHost, lock: number, word: number, shared = false): void {
  const st = h.lockState(h.currentCpu);
  if (st.countedHold[lock] === 1) st.stats[lock * LOCK_STAT_FIELDS + STAT_HOLD_PS] += h.nowPs - st.heldSincePs[lock];
  st.countedHold[lock] = 0;
  st.holding--;
  h.lockLog?.push(word, h.currentCpu, h.nowPs, shared ? -2 : -1);
}

/** The line of the lock word a call names: the class's own word, or the object's. */
export function wordOf(h: LockHost, lock: number, objectWord: number): number {
  const w = h.locks.classes[lock].word;
  return w >= 0 ? w : objectWord;
}

export type LockWriter = (h: LockHost, w: StepWriter, lock: number, objectWord?: number) => void;
