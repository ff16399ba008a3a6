import type { KernelApi } from "../schemes/scheme.ts";
import { MAX_PID_NS_LEVEL, MAX_USER_NS_PARENT_LEVEL, namespaceLevel } from "../schemes/depth.ts";
import { hasKind } from "../schemes/namespaces.ts";
import type { ResolvedWorkload } from "../workloads/workload.ts";

/**
 * How deep one task lives: the level of its pid namespace and of its user namespace (0: the
 * initial one). Linux pays a fork and an exit per level of each: alloc_pid() allocates a pid
 * number in the task's pid namespace and every ancestor (kernel/pid.c, `for (i = ns->level; i
 * >= 0; i--)`), free_pid() frees them all, and inc_rlimit_ucounts()/dec_rlimit_ucounts()
 * (kernel/ucount.c) walk the user namespace's ucounts up to the initial namespace.
 * A kind the run does not configure is not modelled: its level is 0 (the initial namespace).
 */
export interface TaskLevels {
  pid: number;
  user: number;
}

export const INITIAL_LEVELS: Readonly<TaskLevels> = { pid: 0, user: 0 };

function levelOf(k: KernelApi, namespaces: readonly number[], kindName: string, newKinds: number): number {
  const kind = k.kindNames.indexOf(kindName);
  if (kind < 0 || namespaces.length === 0) return 0;
  return namespaceLevel(k, namespaces[kind]) + (hasKind(newKinds, kind) ? 1 : 0);
}

/**
 * The levels of a task in `namespaces` (by kind, as Scheme.namespaces gives them; [] for a task
 * in the initial ones); with `newKinds`, of a child forked with those CLONE_NEW* flags.
 */
export function taskLevels(k: KernelApi, namespaces: readonly number[], newKinds = 0): TaskLevels {
  return { pid: levelOf(k, namespaces, "pid", newKinds), user: levelOf(k, namespaces, "user", newKinds) };
}

/**
 * The deepest level any task of the run can reach, for the kernel path's per-level lines: the
 * set-up nesting (tasks live in the deepest of `nesting + 1` levels), one more when forks pass
 * CLONE_NEWPID or CLONE_NEWUSER, Linux's limits when unshare creates them as the run goes.
 */
export function deepestLevel(kindNames: readonly string[], namespaced: boolean, w: ResolvedWorkload): number {
  if (!namespaced) return 0;
  const nests = (mask: number) => ["pid", "user"].some((name) => kindNames.includes(name) && hasKind(mask, kindNames.indexOf(name)));
  const limit = Math.max(MAX_PID_NS_LEVEL, MAX_USER_NS_PARENT_LEVEL + 1);
  // unshare may repeat (each new namespace one level below the last, up to the limit); a fork
  // with CLONE_NEW* puts only its child one level below its parent.
  if (w.mix.unshare > 0 && nests(w.unshareKinds)) return limit;
  if (w.mix.fork > 0 && nests(w.forkNewKinds)) return Math.min(limit, w.containers.nesting + 2);
  return w.containers.nesting + 1;
}
