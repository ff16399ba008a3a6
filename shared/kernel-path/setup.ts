import type { Kernel } from "../kernel/kernel.ts";
import { COUNTER_NONE, OBJ_GLOBAL } from "../kernel/objects.ts";
import { OBJ_TASK } from "../kernel/objects.ts";
import { LOCK_MUTEX, LOCK_RW, LOCK_RWSEM, LOCK_SPIN, LOCK_WORKQUEUE, type LockClass } from "../locks/lock-host.ts";

/**
 * The kernel's own shared state that the linux-6 fork and exit path touches: its locks and the
 * lines of the objects every task of the workload shares. Plain data, the same in every
 * partition (built at set-up, before time starts). Lock fields are lock-class indices; the
 * other fields are lines.
 */
export interface KernelPathState {
  /**
   * The deepest pid- or user-namespace level a task of the run can reach (levels.ts): the
   * per-level lines exist for 0..levels. Each task pays for its own levels (TaskLevels).
   */
  levels: number;
  tasklist: number;
  pidmap: number;
  cssSet: number;
  /** Every task's sighand->siglock (the word is a line of the task). */
  siglock: number;
  /** init_task.tasks, the list every fork appends to and every exit unlinks from. */
  taskList: number;
  /** nr_threads and total_forks. */
  forkCounters: number;
  /**
   * Per pid-namespace level 0..levels: the namespace's idr and pid_allocated. One line per level,
   * shared by every pid namespace at that level (an assumption: in Linux each namespace has its
   * own idr, so tasks of different containers at one level would not share it).
   */
  pidIdr: number[];
  /** The task's pid namespace's reference count (get_pid_ns skips init_pid_ns), paid by tasks below level 0; -1 when none is. */
  pidNsCount: number;
  /** struct cred's shared references: user_struct, the user namespace, group_info, ucounts. */
  userStruct: number;
  userNs: number;
  groupInfo: number;
  ucountsCount: number;
  /** Per user-namespace level 0..levels: ucounts->rlimit[UCOUNT_RLIMIT_NPROC] (shared per level, as pidIdr). */
  ucountsNproc: number[];
  cssSetRef: number;
  cssSetTasks: number;
  /** Network namespaces (netns.ts, netns-cleanup.ts): their locks (class indices)... */
  pernetOps: number;
  netRwsem: number;
  rtnl: number;
  /** ...the netns workqueue's statistics class (not a lock: its wait is the backlog)... */
  netnsWq: number;
  /** ...net_namespace_list, cleanup_list (an llist head), and the netns worker: its task object and CPU. */
  netList: number;
  cleanupList: number;
  netnsWorker: number;
  netnsWorkerCpu: number;
}

/** The kernel path's lock classes, with a short name for table columns. */
export const KERNEL_PATH_LOCKS: ReadonlyArray<[name: string, column: string]> = [
  ["tasklist_lock", "tasklist"],
  ["pidmap_lock", "pidmap"],
  ["css_set_lock", "css_set"],
  ["sighand->siglock", "siglock"],
  ["pernet_ops_rwsem", "pernet"],
  ["rtnl_mutex", "rtnl"],
  ["netns_wq (cleanup_net)", "netns_wq"],
];

/**
 * Builds the kernel path's objects on CPU 0 (kernel data and boot-time allocations sit on node
 * 0) and registers its locks. `levels` is the deepest pid- or user-namespace level a task can
 * reach (levels.ts deepestLevel; 0 for a scheme without namespaces).
 */
export function setUpKernelPath(k: Kernel, levels: number): KernelPathState {
  return k.setup(0, (sw) => {
    const line = () => k.countLine(k.create(sw, OBJ_GLOBAL, -1, [], COUNTER_NONE));
    const classes: LockClass[] = [];
    const lock = (name: string, kind: number, word: number, waitLock = -1) => {
      classes.push({ name, kind, word, waitLock });
      return classes.length - 1;
    };
    const sleeping = (name: string, kind: number) => {
      const waitLock = lock(`${name}.wait_lock`, LOCK_SPIN, line());
      const osq = kind === LOCK_MUTEX ? lock(`${name}.osq`, LOCK_SPIN, line()) : -1;
      classes.push({ name, kind, word: line(), waitLock, head: line(), tail: line(), osq });
      return classes.length - 1;
    };
    const tasklistWait = lock("tasklist_lock.wait_lock", LOCK_SPIN, line());
    const state: KernelPathState = {
      levels,
      tasklist: lock("tasklist_lock", LOCK_RW, line(), tasklistWait),
      pidmap: lock("pidmap_lock", LOCK_SPIN, line()),
      cssSet: lock("css_set_lock", LOCK_SPIN, line()),
      siglock: lock("sighand->siglock", LOCK_SPIN, -1),
      taskList: line(),
      forkCounters: line(),
      pidIdr: Array.from({ length: levels + 1 }, line),
      pidNsCount: levels > 0 ? line() : -1,
      userStruct: line(),
      userNs: line(),
      groupInfo: line(),
      ucountsCount: line(),
      ucountsNproc: Array.from({ length: levels + 1 }, line),
      cssSetRef: line(),
      cssSetTasks: line(),
      pernetOps: sleeping("pernet_ops_rwsem", LOCK_RWSEM),
      netRwsem: sleeping("net_rwsem", LOCK_RWSEM),
      rtnl: sleeping("rtnl_mutex", LOCK_MUTEX),
      netnsWq: lock("netns_wq (cleanup_net)", LOCK_WORKQUEUE, -1),
      netList: line(),
      cleanupList: line(),
      netnsWorker: k.create(sw, OBJ_TASK, -1, [], COUNTER_NONE),
      netnsWorkerCpu: 0,
    };
    k.locks.classes = classes;
    k.locks.nodesObject = k.create(sw, OBJ_GLOBAL, -1, [], COUNTER_NONE);
    return state;
  });
}

