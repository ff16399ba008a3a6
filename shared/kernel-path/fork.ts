import { RMW_ATOMIC_ADD, RMW_PLAIN_ADD } from "../coherence/protocol.ts";
import type { Kernel, Task } from "../kernel/kernel.ts";
import { objectLine, SLOT_VARS } from "../kernel/objects.ts";
import type { StepWriter } from "../kernel/program.ts";
import { spinLock, spinUnlock } from "../locks/qspinlock.ts";
import { writeLock, writeUnlock } from "../locks/qrwlock.ts";
import type { TaskLevels } from "./levels.ts";
import type { KernelPathState } from "./setup.ts";

/** A task's sighand->siglock word: a line of the task's own object. */
export function siglockLine(task: number): number {
  return objectLine(task, SLOT_VARS);
}

/**
 * The part of a fork that runs in parallel: the whole fixed cost (`costs.fork`, a fork in the
 * initial namespaces: one pid level) minus what fork.ts spends under locks there (never below
 * zero). Each pid-namespace level below the initial one adds its pid allocation on top, as it
 * adds work to a fork in Linux.
 */
function forkParallelPs(k: Kernel): number {
  const c = k.pathCosts;
  const held = c.tasklistForkHold + c.siglockHold + c.pidAllocPerLevel + c.pidPublishPerLevel + c.cssSetForkHold + c.cssSetPostForkHold + c.credCopy;
  return Math.max(0, k.costs.forkPs - held);
}

/**
 * copy_process() up to copy_namespaces() (kernel/fork.c, Linux 6.12): dup_task_struct, copy_mm,
 * copy_files... in parallel, and copy_creds() -> prepare_creds(): get_uid, get_user_ns,
 * get_group_info, get_ucounts, then inc_rlimit_ucounts(RLIMIT_NPROC) at every user-namespace
 * level (kernel/ucount.c walks ucounts->ns->ucounts up to the initial namespace).
 */
export function forkBeforeNamespaces(k: Kernel, w: StepWriter, p: KernelPathState, levels: TaskLevels): void {
  w.compute(k.pathCosts.credCopy);
  w.access(p.userStruct, RMW_ATOMIC_ADD, 1);
  w.access(p.userNs, RMW_ATOMIC_ADD, 1);
  w.access(p.groupInfo, RMW_ATOMIC_ADD, 1);
  w.access(p.ucountsCount, RMW_ATOMIC_ADD, 1);
  for (let level = levels.user; level >= 0; level--) w.access(p.ucountsNproc[level], RMW_ATOMIC_ADD, 1);
  w.compute(forkParallelPs(k));
}

/**
 * copy_process() after copy_namespaces(): alloc_pid() (kernel/pid.c: pidmap_lock once per level
 * for idr_alloc_cyclic, get_pid_ns, pidmap_lock once more to publish every level),
 * cgroup_can_fork() -> cgroup_css_set_fork() (css_set_lock, get_css_set), the tasklist_lock
 * write section with the parent's siglock inside, and cgroup_post_fork() (css_set_lock again).
 */
export function forkAfterNamespaces(k: Kernel, w: StepWriter, p: KernelPathState, parent: Task, levels: TaskLevels): void {
  const c = k.pathCosts;
  for (let level = levels.pid; level >= 0; level--) {
    spinLock(k, w, p.pidmap);
    w.compute(c.pidAllocPerLevel);
    w.access(p.pidIdr[level], RMW_PLAIN_ADD, 1);
    spinUnlock(k, w, p.pidmap);
  }
  if (levels.pid > 0) w.access(p.pidNsCount, RMW_ATOMIC_ADD, 1);
  spinLock(k, w, p.pidmap);
  for (let level = levels.pid; level >= 0; level--) {
    w.compute(c.pidPublishPerLevel);
    w.access(p.pidIdr[level], RMW_PLAIN_ADD, 1);
  }
  spinUnlock(k, w, p.pidmap);

  spinLock(k, w, p.cssSet);
  w.access(p.cssSetRef, RMW_ATOMIC_ADD, 1);
  w.compute(c.cssSetForkHold);
  spinUnlock(k, w, p.cssSet);

  writeLock(k, w, p.tasklist);
  w.compute(c.tasklistForkHold);
  spinLock(k, w, p.siglock, siglockLine(parent.id));
  w.compute(c.siglockHold);
  w.access(p.taskList, RMW_PLAIN_ADD, 1);
  w.access(p.forkCounters, RMW_PLAIN_ADD, 1);
  spinUnlock(k, w, p.siglock, siglockLine(parent.id));
  writeUnlock(k, w, p.tasklist);

  spinLock(k, w, p.cssSet);
  w.compute(c.cssSetPostForkHold);
  w.access(p.cssSetTasks, RMW_PLAIN_ADD, 1);
  spinUnlock(k, w, p.cssSet);
}
