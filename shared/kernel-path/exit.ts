import { RMW_ATOMIC_ADD, RMW_PLAIN_ADD } from "../coherence/protocol.ts";
import type { Kernel, Task } from "../kernel/kernel.ts";
import type { StepWriter } from "../kernel/program.ts";
import { spinLock, spinUnlock } from "../locks/qspinlock.ts";
import { writeLock, writeUnlock } from "../locks/qrwlock.ts";
import { siglockLine } from "./fork.ts";
import type { TaskLevels } from "./levels.ts";
import type { KernelPathState } from "./setup.ts";

/** As forkParallelPs: `costs.exit` is an exit in the initial namespaces; deeper levels add theirs. */
function exitParallelPs(k: Kernel): number {
  const c = k.pathCosts;
  const held = c.cssSetExitHold + c.tasklistExitNotifyHold + 2 * c.siglockHold + c.tasklistReleaseHold + c.pidFreePerLevel;
  return Math.max(0, k.costs.exitPs - held);
}

/**
 * do_exit() up to exit_task_namespaces() (kernel/exit.c, Linux 6.12): exit_mm, exit_files,
 * exit_fs... in parallel.
 */
export function exitBeforeNamespaces(k: Kernel, w: StepWriter): void {
  w.compute(exitParallelPs(k));
}

/**
 * The rest of do_exit() for a child whose parent does not wait for it (autoreap: release_task
 * runs in the exiting task itself; a parent in wait4() would take tasklist_lock for reading and
 * run release_task instead):
 * cgroup_exit() (css_set_lock), exit_notify() (tasklist_lock for writing, the parent's siglock
 * in do_notify_parent), release_task(): dec_rlimit_ucounts per user-namespace level, then
 * tasklist_lock for writing with the own siglock inside for __exit_signal/__unhash_process,
 * and free_pid() under pidmap_lock from __change_pid (still inside tasklist_lock in 6.12);
 * then the puts of the css_set, the pid namespace and the cred's references.
 */
export function exitAfterNamespaces(k: Kernel, w: StepWriter, p: KernelPathState, task: Task, levels: TaskLevels): void {
  const c = k.pathCosts;
  spinLock(k, w, p.cssSet);
  w.compute(c.cssSetExitHold);
  w.access(p.cssSetTasks, RMW_PLAIN_ADD, -1);
  spinUnlock(k, w, p.cssSet);

  writeLock(k, w, p.tasklist);
  w.compute(c.tasklistExitNotifyHold);
  if (task.parent >= 0) {
    spinLock(k, w, p.siglock, siglockLine(task.parent));
    w.compute(c.siglockHold);
    spinUnlock(k, w, p.siglock, siglockLine(task.parent));
  }
  writeUnlock(k, w, p.tasklist);

  for (let level = levels.user; level >= 0; level--) w.access(p.ucountsNproc[level], RMW_ATOMIC_ADD, -1);
  writeLock(k, w, p.tasklist);
  spinLock(k, w, p.siglock, siglockLine(task.id));
  w.compute(c.tasklistReleaseHold);
  w.access(p.taskList, RMW_PLAIN_ADD, -1);
  w.access(p.forkCounters, RMW_PLAIN_ADD, -1);
  spinLock(k, w, p.pidmap);
  for (let level = levels.pid; level >= 0; level--) {
    w.compute(c.pidFreePerLevel);
    w.access(p.pidIdr[level], RMW_PLAIN_ADD, -1);
  }
  spinUnlock(k, w, p.pidmap);
  w.compute(c.siglockHold);
  spinUnlock(k, w, p.siglock, siglockLine(task.id));
  writeUnlock(k, w, p.tasklist);

  w.access(p.cssSetRef, RMW_ATOMIC_ADD, -1);
  if (levels.pid > 0) w.access(p.pidNsCount, RMW_ATOMIC_ADD, -1);
  w.access(p.userStruct, RMW_ATOMIC_ADD, -1);
  w.access(p.userNs, RMW_ATOMIC_ADD, -1);
  w.access(p.groupInfo, RMW_ATOMIC_ADD, -1);
  w.access(p.ucountsCount, RMW_ATOMIC_ADD, -1);
}
