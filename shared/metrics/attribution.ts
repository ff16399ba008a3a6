/**
 * Where an operation's latency goes. Every picosecond between an operation's start and its end
 * falls in exactly one class, decided when the step that takes the time begins (kernel/cpu.ts
 * asks the kernel, which knows whether the CPU waits for a lock, runs the scheme's steps or
 * holds a lock; the CPU knows whether the step computes or touches memory):
 * - `namespaceRefs`: the scheme's own steps (its namespace reference counting, and the
 *   namespaces and bundles it creates), between the markers the workload driver writes;
 * - `lockWait` by lock: from the start of an acquisition until the lock is held (the fast-path
 *   cmpxchg included, so an uncontended acquisition costs its one atomic here);
 * - `lockedSections`: holding a kernel lock (its critical section: fixed costs and accesses);
 * - `kernelMemory`: the kernel's memory accesses outside locks and outside the scheme: the cred
 *   references, ucounts, the css_set and pid-namespace counts, the new task's own lines;
 * - `parallelCompute`: fixed CPU cost outside locks (the part of fork and exit that runs in
 *   parallel on every CPU);
 * - `interrupted`: the operation was set aside while kernel work ran (RCU callbacks, epochs).
 * A lock wait inside the scheme's steps counts as a lock wait (no scheme takes a lock today).
 */
export const ATTR_NAMESPACE_REFS = 0;
export const ATTR_LOCKED = 1;
export const ATTR_KERNEL_MEMORY = 2;
export const ATTR_COMPUTE = 3;
export const ATTR_INTERRUPTED = 4;
/** Waiting for lock class c is class ATTR_LOCK_WAIT + c. */
export const ATTR_LOCK_WAIT = 5;
/** Classes a CPU can tell apart: the fixed ones and up to 27 lock classes. */
export const ATTR_CAPACITY = 32;

/** Shares of one operation kind's latency, over the operations completed in the measured window. */
export interface LatencyBreakdown {
  /** Operations the shares are over, and their mean latency (ns). */
  operations: number;
  meanNs: number;
  namespaceRefs: number;
  /** Waiting for any lock, and by lock name (a qrwlock's wait_lock counts in its rwlock's). */
  lockWait: number;
  lockWaitByLock: Record<string, number>;
  lockedSections: number;
  kernelMemory: number;
  parallelCompute: number;
  interrupted: number;
}

/** The classes of a breakdown in the order a stacked chart draws them (bottom first), with labels. */
export const BREAKDOWN_PARTS = [
  ["parallelCompute", "parallel compute"],
  ["kernelMemory", "kernel memory outside locks"],
  ["lockedSections", "in locked sections"],
  ["lockWait", "lock wait"],
  ["namespaceRefs", "namespace references (scheme)"],
  ["interrupted", "interrupted by kernel work"],
] as const satisfies ReadonlyArray<readonly [keyof LatencyBreakdown, string]>;

/**
 * The breakdown of one operation kind from the picoseconds of each class summed over CPUs.
 * `lockNames[c]` names lock class c, or is null for a class whose wait counts elsewhere (a
 * wait_lock). Shares are of the summed latency, so they add up to 1 (to rounding).
 */
export function latencyBreakdown(classPs: ArrayLike<number>, lockNames: ReadonlyArray<string | null>, operations: number, latencyPs: number): LatencyBreakdown {
  const share = (ps: number) => (latencyPs > 0 ? round6(ps / latencyPs) : 0);
  let waitPs = 0;
  const lockWaitByLock: Record<string, number> = {};
  lockNames.forEach((name, c) => {
    const ps = classPs[ATTR_LOCK_WAIT + c] ?? 0;
    waitPs += ps;
    if (name !== null) lockWaitByLock[name] = share(ps);
  });
  return {
    operations,
    meanNs: operations > 0 ? Math.round(latencyPs / operations) / 1000 : 0,
    namespaceRefs: share(classPs[ATTR_NAMESPACE_REFS]),
    lockWait: share(waitPs),
    lockWaitByLock,
    lockedSections: share(classPs[ATTR_LOCKED]),
    kernelMemory: share(classPs[ATTR_KERNEL_MEMORY]),
    parallelCompute: share(classPs[ATTR_COMPUTE]),
    interrupted: share(classPs[ATTR_INTERRUPTED]),
  };
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
