import { parseDurationPs } from "../spec/duration.ts";

/**
 * The fixed CPU costs of the linux-6 fork and exit path that run under a lock (or touch a
 * shared line), each with its source. The rest of `costs.fork` / `costs.exit` runs in parallel:
 * the parallel part is the whole minus these, so `costs.fork` keeps meaning the whole fixed cost.
 * Per-level figures are paid once per pid- or user-namespace level.
 */
export const KERNEL_PATH_COSTS = {
  tasklistForkHold: "300ns",
  tasklistExitNotifyHold: "200ns",
  tasklistReleaseHold: "250ns",
  siglockHold: "60ns",
  pidAllocPerLevel: "120ns",
  pidPublishPerLevel: "30ns",
  pidFreePerLevel: "50ns",
  cssSetForkHold: "60ns",
  cssSetPostForkHold: "120ns",
  cssSetExitHold: "120ns",
  credCopy: "400ns",
} as const;
export type KernelPathCostName = keyof typeof KERNEL_PATH_COSTS;

const WHY_ASSUMED = "assumed (no published per-section hold time found)";
export const KERNEL_PATH_COST_SOURCES: Record<KernelPathCostName, string> = {
  tasklistForkHold: `${WHY_ASSUMED}: copy_process() under write_lock_irq(&tasklist_lock): the fatal-signal recheck, init_task_pid x3, attach_pid x4 (hlist adds), list_add_tail_rcu to init_task.tasks and the parent's children, nr_threads++, total_forks++, about 1000 instructions`,
  tasklistExitNotifyHold: `${WHY_ASSUMED}: exit_notify(): forget_original_parent() with no children, do_notify_parent() building the SIGCHLD siginfo`,
  tasklistReleaseHold: `${WHY_ASSUMED}: release_task() -> __exit_signal(): accounting into signal_struct, __unhash_process() (detach_pid x4, list_del_rcu x2, nr_threads--)`,
  siglockHold: `${WHY_ASSUMED}: a few stores under sighand->siglock (recalc_sigpending, the pending-signal check in copy_process, __group_send_sig_info in do_notify_parent)`,
  pidAllocPerLevel: `${WHY_ASSUMED}: alloc_pid(): idr_alloc_cyclic() under spin_lock_irq(&pidmap_lock), one radix-tree slot, per pid-namespace level`,
  pidPublishPerLevel: `${WHY_ASSUMED}: alloc_pid(): idr_replace() and pid_allocated++ under pidmap_lock, per level`,
  pidFreePerLevel: `${WHY_ASSUMED}: free_pid(): idr_remove() under pidmap_lock (taken inside tasklist_lock from __change_pid in 6.12), per level`,
  cssSetForkHold: `${WHY_ASSUMED}: cgroup_css_set_fork(): task_css_set + get_css_set under spin_lock_irq(&css_set_lock)`,
  cssSetPostForkHold: `${WHY_ASSUMED}: cgroup_post_fork(): css_set_move_task (list_add_tail to cset->tasks, nr_tasks++) under css_set_lock`,
  cssSetExitHold: `${WHY_ASSUMED}: cgroup_exit(): css_set_move_task to NULL and the dying_tasks list under css_set_lock`,
  credCopy: `${WHY_ASSUMED}: prepare_creds(): kmem_cache_alloc and copying struct cred (in parallel; its shared references are modelled as atomics)`,
};

/** The kernel path's costs in picoseconds. */
export type KernelPathCostsPs = Record<KernelPathCostName, number>;

export function kernelPathCostsPs(): KernelPathCostsPs {
  const out = {} as KernelPathCostsPs;
  for (const [name, text] of Object.entries(KERNEL_PATH_COSTS)) out[name as KernelPathCostName] = parseDurationPs(text) as number;
  return out;
}
