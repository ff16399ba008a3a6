import { isLockAtomic } from "../locks/lock-word.ts";

/**
 * Event types of the model. Every interaction between a CPU and a line's home directory is a
 * message with a latency, so a distributed run can carry the same events between workers
 * without changing any timing.
 */
export const EV_CPU_STEP = 1; // target cpu: continue the CPU's current program
export const EV_LINE_REQUEST = 2; // target home: a0 line, a1 requester cpu, a2 access kind, a3 the requester's request number
export const EV_LINE_RECALL = 3; // target token holder: a0 line, a1 new holder, a2 recallCode(kind, holder's request, contended), a3 grant time
export const EV_LINE_INVALIDATE = 4; // target sharer: a0 line, a1 the number of the request that gave the sharer its copy
export const EV_LINE_DATA = 5; // target requester: a0 line, a1 value, a2 access kind, a3 sourceCode(source, upgrade, contended)
export const EV_TASK_ARRIVE = 6; // target cpu: a0 task id, a1 1 = new child, 0 = migrated
export const EV_TIMER = 7; // target cpu: a0 timer kind, a1 object id, a2 argument
export const EV_CPU_WAKE = 8; // target cpu: look at the run queue
export const EV_TASK_WAKE = 10; // target cpu: a0 the task whose sleeping program may run again (try_to_wake_up)
export const EV_KWORK_QUEUED = 11; // target cpu: a0 work kind, a1 object: work for a kernel worker on that CPU (queue_work)
export const EV_LINE_FREE = 9; // target home (sent to itself): a0 line; the line's occupancy ended, serve a waiting request
// Object memory reuse (shared/slab/): a node's partial lists live with its home node.
export const EV_SLAB_PUT = 12; // target home: a0 cache, a1 object id, a2 its generation; the object joins the node's partial list
export const EV_SLAB_REFILL = 13; // target home: a0 cache, a1 the asking cpu
export const EV_SLAB_GRANT = 14; // target cpu: a0 cache, a1 object id (-1: none left), a2 its generation, a3 1 = the refill's last grant

/** Event priorities at equal time: coherence traffic first, then arrivals, then programs. */
export const PRIO_COHERENCE = 0;
export const PRIO_ARRIVAL = 1;
export const PRIO_TIMER = 2;
export const PRIO_STEP = 3;

/** What an access wants: a shared copy, or ownership for a write or read-modify-write. */
export const READ = 0;
export const WRITE = 1;

/**
 * Read-modify-write operations applied to a line's value by the CPU that holds it.
 * ATOMIC_* are LOCK-prefixed instructions; PLAIN_* are ordinary loads and stores (per-CPU data).
 */
export const RMW_NONE = 0; // a load
export const RMW_SET = 1; // store `arg`
export const RMW_ATOMIC_ADD = 2; // atomic add `arg`, result is the new value
export const RMW_PLAIN_ADD = 3; // this_cpu_add(arg): not atomic, on a per-CPU line
export const RMW_TAKE_SPARE = 4; // sloppy: if value >= 1 take one (result 1), else result 0
export const RMW_XCHG_ZERO = 5; // atomic exchange with 0, result is the old value
export const RMW_REFCACHE_FLUSH = 6; // refcache: add delta to a central count word (see refcache.ts)
export const RMW_REFCACHE_REVIEW = 7; // refcache: review a zero (see refcache.ts)
export const RMW_PLAIN_TAKE = 8; // read and zero a per-CPU word (not atomic), result is the old value

/**
 * EV_LINE_RECALL's a2: the access kind the new holder wants, whether others still wait for the
 * line (the new holder must hand it on after one access), and the number of the request by which
 * the recalled CPU became the holder. A CPU still waiting for that very request must use the line
 * before passing it on; any other recall is ordered before its pending request.
 */
export function recallCode(kind: number, holderRequest: number, contended: boolean): number {
  return holderRequest * 4 + (contended ? 2 : 0) + kind;
}
export function recallKind(code: number): number {
  return code % 2;
}
export function recallContended(code: number): boolean {
  return Math.floor(code / 2) % 2 === 1;
}
export function recallHolderRequest(code: number): number {
  return Math.floor(code / 4);
}

/** Whether an rmw needs ownership of the line. */
export function needsOwnership(rmw: number): boolean {
  return rmw !== RMW_NONE;
}

/** Whether an rmw is a LOCK-prefixed atomic (counted as an atomic operation). */
export function isAtomic(rmw: number): boolean {
  return rmw === RMW_ATOMIC_ADD || rmw === RMW_XCHG_ZERO || rmw === RMW_REFCACHE_FLUSH || rmw === RMW_REFCACHE_REVIEW || isLockAtomic(rmw);
}

/** The value a freed object's count line holds: any use of it afterwards is detected. */
export const FREED = -(2 ** 40);
export function isFreedValue(v: number): boolean {
  return v <= FREED / 2;
}
