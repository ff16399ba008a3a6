import type { Kernel } from "../kernel/kernel.ts";
import type { Ownership } from "./partitioning.ts";

/**
 * Whether a partition can never send to another one unless something reaches it first: a
 * sound, cheap test that lets partitions that do not interact (containers pinned to sockets,
 * like cpusets) run long windows instead of one lookahead at a time.
 *
 * It holds when (1) the workload cannot reach out by itself: children and migrations stay on
 * the parent's socket and the partition holds whole sockets, no setns (its target may be any
 * container), no hot-line counter or global variable (homed on node 0) unless node 0 is local,
 * no fork or exit under the linux-6 kernel path unless node 0 (its locks) is local,
 * and, for percpu and sloppy, no container is ever killed (the switch reads every CPU's
 * counter); and (2) every object the partition's tasks hold at the start is homed locally.
 * From then on the partition stays isolated for as long as no event has crossed its boundary
 * either way (Partition tracks that): until then every line it touches is local and held only
 * locally, and every new object it creates is homed locally.
 */
export function isolatedByDesign(k: Kernel, own: Ownership, index: number): boolean {
  if (own.partitions === 1) return true;
  const w = k.config.workload;
  const topo = k.machine.topology;
  const ownsCpu = (cpu: number) => own.cpuOwner[cpu] === index;
  const ownsNode = (node: number) => own.nodeOwner[node] === index;
  // Whole sockets only: a socket split between partitions lets "same-socket" cross.
  for (const cpus of k.socketCpus) {
    const owners = new Set(cpus.map((c) => own.cpuOwner[c]));
    if (owners.has(index) && owners.size > 1) return false;
  }
  const m = w.mix;
  if (m.fork > 0 || m.churn > 0) if (w.placement === "random") return false;
  if (m.migrate > 0 && w.migrateScope !== "socket") return false;
  if (m.setns > 0) return false;
  const globalLocal = k.globalObject >= 0 && ownsNode(k.object(k.globalObject).home);
  if (m.hotInc > 0 && !globalLocal) return false;
  if (m.access > 0 && k.config.scheme === "none" && !globalLocal) return false;
  // The kernel path's locks and shared counters (tasklist_lock, pidmap_lock...) sit on node 0.
  if (k.path !== null && (m.fork > 0 || m.churn > 0) && !ownsNode(topo.nodeOf(0))) return false;
  if ((k.config.scheme === "percpu" || k.config.scheme === "sloppy") && (m.churn > 0 || m.unshare > 0 || w.forkNewKinds !== 0)) return false;
  // Everything the partition's tasks hold, and what that holds, must be homed here.
  const seen = new Set<number>();
  const stack: number[] = [];
  for (const task of k.tasks.values()) {
    if (!ownsCpu(task.cpu)) continue;
    if (!ownsNode(k.object(task.id).home)) return false;
    for (const o of task.attach) stack.push(o);
  }
  while (stack.length > 0) {
    const id = stack.pop() as number;
    if (seen.has(id)) continue;
    seen.add(id);
    const o = k.object(id);
    if (!ownsNode(o.home)) return false;
    for (const h of o.holds) stack.push(h);
  }
  return true;
}
