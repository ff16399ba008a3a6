import { RMW_ATOMIC_ADD, RMW_NONE, RMW_SET } from "../coherence/protocol.ts";
import { SimulationError } from "../engine/errors.ts";
import { objectLine, SLOT_READ } from "../kernel/objects.ts";
import type { Program, Step, StepWriter } from "../kernel/program.ts";
import { LOCK_RWSEM, LOCK_STAT_FIELDS, STAT_ACQUIRED, STAT_CONTENDED, STAT_HOLD_PS, STAT_WAIT_PS, TAG_OWNER_SLEEP, type LockHost } from "./lock-host.ts";
import { M_OWNER_ASLEEP, RMW_LIST_SWAP, RMW_LOCK_ANDNOT, RMW_LOCK_OR, RMW_NODE_SET_NEXT, RW_READER, RW_WAITERS, RW_WRITER } from "./lock-word.ts";
import { spinLock, spinUnlock } from "./qspinlock.ts";

/**
 * The wait list of a sleeping lock (struct mutex / struct rw_semaphore: wait_list under
 * wait_lock), kept in lines so it travels between caches and workers like the lock word: a head
 * and a tail line (the first and last waiting task + 1) and, per waiting task, a node line of
 * its own (struct mutex_waiter / rwsem_waiter live on the waiter's stack: a line of the task,
 * homed where the task was created). A node holds the next waiter, whether this one writes
 * (an rwsem's writer or any mutex waiter) and the CPU it sleeps on, so the waker knows where to
 * send the wake-up. Every change is made under the lock's wait_lock (a qspinlock).
 *
 * Hand-over: the releaser of a lock with waiters does not free it; it takes wait_lock, dequeues
 * the head (a writer alone; for an rwsem, the readers at the head up to the first writer),
 * grants it the lock in the word (a mutex's new owner is marked asleep until it runs, so
 * spinners go to sleep instead of waiting for it), clears the waiters flag when the list
 * empties, and wakes the waiters it granted. Linux's mutex and rwsem usually let a woken waiter compete with spinners
 * and only hand over once a waiter starved (MUTEX_FLAG_HANDOFF, RWSEM_FLAG_HANDOFF); the model
 * always hands over, so it never loses a wake-up and a waiter never starves, at the price of the
 * lock staying with a sleeper for the wake-up's latency.
 */
const NODE_CPU = 2 ** 16;
const NODE_NEXT = 2 ** 17;

const T_TAIL = (TAG_OWNER_SLEEP << 4) + 0;
const T_HEAD = (TAG_OWNER_SLEEP << 4) + 1;
const T_FIRST = (TAG_OWNER_SLEEP << 4) + 2;
const T_MORE = (TAG_OWNER_SLEEP << 4) + 3;
const A_WOKEN = (TAG_OWNER_SLEEP << 4) + 4;
const A_TIMED = (TAG_OWNER_SLEEP << 4) + 5;
const A_BEGIN = (TAG_OWNER_SLEEP << 4) + 6;

/** A waiting task's node line. */
export function waiterLine(task: number): number {
  return objectLine(task, SLOT_READ);
}

function encodeNode(next1: number, writer: boolean, cpu: number): number {
  const v = next1 * NODE_NEXT + (writer ? NODE_CPU : 0) + cpu;
  if (!Number.isSafeInteger(v)) throw new RangeError(`wait-list node of task ${next1 - 1} does not fit a line value`);
  return v;
}
function nodeCpu(v: number): number {
  return v % NODE_CPU;
}
function nodeWriter(v: number): boolean {
  return Math.floor(v / NODE_CPU) % 2 === 1;
}
function nodeNext1(v: number): number {
  return Math.floor(v / NODE_NEXT);
}

function key(h: LockHost, lock: number, task: number): number {
  return lock + h.locks.classes.length * task;
}

/** A sleeping lock's acquisition begins (its wait, if any, starts now). */
export function sleepBegin(w: StepWriter, lock: number): void {
  w.action(A_BEGIN, lock);
}

/** Records that `task` on the current CPU got `lock` (now, or at its hand-over). */
export function sleepAcquired(h: LockHost, lock: number, task: number, word: number, shared: boolean, contended: boolean): void {
  const st = h.lockState(h.currentCpu);
  const k = key(h, lock, task);
  const now = h.nowPs;
  const since = st.taskWaitSincePs.get(k) ?? now;
  st.taskWaitSincePs.delete(k);
  if (h.measured(now)) {
    const at = lock * LOCK_STAT_FIELDS;
    st.stats[at + STAT_ACQUIRED]++;
    if (contended) st.stats[at + STAT_CONTENDED]++;
    st.stats[at + STAT_WAIT_PS] += now - since;
    st.taskHeldSincePs.set(k, now);
  } else {
    st.taskHeldSincePs.set(k, -1);
  }
  st.waiting--;
  st.holding++;
  h.lockLog?.push(word, h.currentCpu, now, shared ? 2 : 1);
}

export function sleepReleased(h: LockHost, lock: number, task: number, word: number, shared: boolean): void {
  const st = h.lockState(h.currentCpu);
  const k = key(h, lock, task);
  const since = st.taskHeldSincePs.get(k);
  if (since === undefined) throw new SimulationError(`${h.locks.classes[lock].name}: released by task ${task}, which does not hold it`, h.nowPs, `cpu ${h.currentCpu}`);
  st.taskHeldSincePs.delete(k);
  if (since >= 0) st.stats[lock * LOCK_STAT_FIELDS + STAT_HOLD_PS] += h.nowPs - since;
  st.holding--;
  h.lockLog?.push(word, h.currentCpu, h.nowPs, shared ? -2 : -1);
}

/**
 * Under the lock's wait_lock: appends the current task to the wait list, releases wait_lock and
 * sleeps (schedule() away and, once woken, back). When it runs again it holds the lock: the
 * releaser handed it over.
 */
export function enqueueAndSleep(h: LockHost, w: StepWriter, program: Program, lock: number, writer: boolean): void {
  const c = h.locks.classes[lock];
  const task = program.taskId;
  w.access(waiterLine(task), RMW_SET, encodeNode(0, writer, h.currentCpu));
  w.access(c.tail as number, RMW_LIST_SWAP, task + 1, T_TAIL, lock);
  spinUnlock(h, w, c.waitLock);
  w.compute(h.sleepCosts.contextSwitchPs);
  w.sleep();
  w.compute(h.sleepCosts.contextSwitchPs);
  w.action(A_WOKEN, lock, writer ? 1 : 0);
  if (c.kind !== LOCK_RWSEM) w.access(c.word, RMW_LOCK_ANDNOT, M_OWNER_ASLEEP);
}

/** The releaser of a lock with waiters: takes wait_lock and hands the lock to the head of the list. */
export function handOver(h: LockHost, w: StepWriter, lock: number): void {
  const c = h.locks.classes[lock];
  spinLock(h, w, c.waitLock);
  w.access(c.head as number, RMW_NONE, 0, T_HEAD, lock);
}

/** Sleeps for `ps` (a wait for an RCU grace period, say): a timer wakes the task. */
export function sleepFor(h: LockHost, w: StepWriter, ps: number): void {
  w.compute(h.sleepCosts.contextSwitchPs);
  w.action(A_TIMED, -1, ps);
  w.sleep();
  w.compute(h.sleepCosts.contextSwitchPs);
}

export function sleepQueueAction(h: LockHost, program: Program, step: Step): void {
  switch (step.tag) {
    case A_BEGIN: {
      const st = h.lockState(h.currentCpu);
      st.taskWaitSincePs.set(key(h, step.obj, program.taskId), h.nowPs);
      if (st.waiting++ === 0) st.waitingFor = step.obj;
      return;
    }
    case A_WOKEN: {
      const c = h.locks.classes[step.obj];
      sleepAcquired(h, step.obj, program.taskId, c.word, c.kind === LOCK_RWSEM && step.arg === 0, true);
      return;
    }
    case A_TIMED:
      h.wakeTask(program.taskId, h.currentCpu, Math.max(1, step.arg));
      return;
    default:
      throw new RangeError(`unknown sleep-queue action ${step.tag}`);
  }
}

export function sleepQueueResult(h: LockHost, _program: Program, step: Step, result: number, w: StepWriter): void {
  const lock = step.obj;
  const c = h.locks.classes[lock];
  switch (step.tag) {
    case T_TAIL: {
      const me = step.arg;
      if (result === 0) w.access(c.head as number, RMW_SET, me);
      else w.access(waiterLine(result - 1), RMW_NODE_SET_NEXT, me);
      return;
    }
    case T_HEAD:
      if (result <= 0) {
        h.violation("lock-two-holders", lock, `${c.name}: the waiters flag is set but the wait list is empty`);
        spinUnlock(h, w, c.waitLock);
        return;
      }
      w.access(waiterLine(result - 1), RMW_NONE, result, T_FIRST, lock);
      return;
    case T_FIRST:
    case T_MORE: {
      const writer = nodeWriter(result);
      if (step.tag === T_MORE && writer) {
        // A writer behind the readers just granted stays at the head.
        spinUnlock(h, w, c.waitLock);
        return;
      }
      grantAndWake(h, w, lock, step.arg - 1, nodeCpu(result), writer);
      const next1 = nodeNext1(result);
      if (next1 === 0) {
        w.access(c.head as number, RMW_SET, 0);
        w.access(c.tail as number, RMW_SET, 0);
        w.access(c.word, RMW_LOCK_ANDNOT, RW_WAITERS);
        spinUnlock(h, w, c.waitLock);
        return;
      }
      w.access(c.head as number, RMW_SET, next1);
      if (c.kind === LOCK_RWSEM && !writer) w.access(waiterLine(next1 - 1), RMW_NONE, next1, T_MORE, lock);
      else spinUnlock(h, w, c.waitLock);
      return;
    }
    default:
      throw new RangeError(`unknown sleep-queue tag ${step.tag}`);
  }
}

/**
 * Grants the lock to a dequeued waiter in the word (a mutex stays locked: the waiter is its
 * owner now) and wakes it: try_to_wake_up writes the waiter's task state (its node line) and
 * costs the waker `wakeup`; the wake-up reaches the waiter's CPU `wakeLatency` later.
 */
function grantAndWake(h: LockHost, w: StepWriter, lock: number, task: number, cpu: number, writer: boolean): void {
  const c = h.locks.classes[lock];
  if (c.kind === LOCK_RWSEM) w.access(c.word, RMW_ATOMIC_ADD, writer ? RW_WRITER : RW_READER);
  // A mutex's new owner is not on a CPU until its wake-up runs: spinners must not wait for it
  // (owner->on_cpu is 0), or one could spin on the very CPU the owner needs.
  else w.access(c.word, RMW_LOCK_OR, M_OWNER_ASLEEP);
  w.access(waiterLine(task), RMW_SET, 0);
  w.compute(h.sleepCosts.wakeupPs);
  h.wakeTask(task, cpu, h.sleepCosts.wakeupPs + h.sleepCosts.wakeLatencyPs);
}
