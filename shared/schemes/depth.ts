import type { KernelApi } from "./scheme.ts";
import { hasKind } from "./namespaces.ts";

/**
 * How deep pid and user namespaces may nest, as Linux checks it. The initial namespaces (which
 * refsim does not model) are level 0; a namespace created from none is a child of them, level 1;
 * each namespace created from another is one level below it.
 * - pid: kernel/pid_namespace.c create_pid_namespace computes `level = parent_pid_ns->level + 1`
 *   and fails with -ENOSPC when `level > MAX_PID_NS_LEVEL`, 32 (include/linux/pid_namespace.h).
 * - user: kernel/user_namespace.c create_user_ns fails with -ENOSPC when `parent_ns->level > 32`,
 *   so the new level may be 33: the check is on the parent, one level more than pid allows.
 * Other kinds do not nest (a new one holds nothing), so they have no limit.
 */
export const MAX_PID_NS_LEVEL = 32;
export const MAX_USER_NS_PARENT_LEVEL = 32;

/**
 * Past this many levels a chain cannot be Linux's: the deepest namespace the limits allow is at
 * level MAX_USER_NS_PARENT_LEVEL + 1. Only a broken scheme gets there, one whose namespace was
 * freed while held and whose memory was reused by one of its own descendants (a cycle); the
 * invariants report that run, and the walk stops here instead of going round for ever.
 */
const LEVEL_CAP = MAX_USER_NS_PARENT_LEVEL + 2;

/** The level of a namespace: 1 plus the level of the namespace it holds, if it nests. */
export function namespaceLevel(k: KernelApi, ns: number): number {
  let level = 1;
  for (let o = k.object(ns); level < LEVEL_CAP && o.holds.length > 0 && k.hierarchical[o.nsKind]; o = k.object(o.holds[0])) level++;
  return level;
}

/** Whether a new namespace of `kind` may be created from `from` (null: from the initial one). */
export function mayNest(k: KernelApi, kind: number, from: number | null): boolean {
  const parentLevel = from === null ? 0 : namespaceLevel(k, from);
  switch (k.kindNames[kind]) {
    case "pid":
      return parentLevel + 1 <= MAX_PID_NS_LEVEL;
    case "user":
      return parentLevel <= MAX_USER_NS_PARENT_LEVEL;
    default:
      return true;
  }
}

/**
 * Whether unshare or clone of `kinds` from the namespaces `current` (by kind) passes Linux's
 * depth checks; when it does not, the call fails with -ENOSPC and nothing changes.
 */
export function withinNestingLimits(k: KernelApi, current: readonly number[], kinds: number): boolean {
  if (current.length === 0) return true;
  for (let kind = 0; kind < k.kindCount; kind++) {
    if (hasKind(kinds, kind) && k.hierarchical[kind] && !mayNest(k, kind, current[kind])) return false;
  }
  return true;
}
