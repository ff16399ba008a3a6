import { EV_SLAB_GRANT, EV_SLAB_PUT, EV_SLAB_REFILL, PRIO_ARRIVAL, RMW_ATOMIC_ADD, RMW_NONE } from "../coherence/protocol.ts";
import type { Engine } from "../engine/engine.ts";
import type { Machine } from "../machine/machine.ts";
import type { StepWriter } from "../kernel/program.ts";

/**
 * Slab-like reuse of object memory (SLUB's model, mm/slub.c, reduced to what decides where a
 * new object's lines are): each CPU keeps a list of free objects per cache (its cpu slab and
 * per-CPU partial slabs), each node a partial list per cache (kmem_cache_node->partial).
 *
 * - A new object takes the most recently freed object of the CPU's list (LIFO, so it is usually
 *   still in that CPU's cache); an empty list means fresh memory (a new slab: its lines come
 *   from DRAM, as every object's did before reuse).
 * - A free on a CPU of the object's home node goes to that CPU's list; past the cache's limit
 *   the oldest half moves to the node's partial list (one list operation: an atomic on the
 *   node's list line for the cache, n->list_lock).
 * - A free on another node (a remote free) goes back to the object's own node: an atomic on that
 *   node's list line (the slab's freelist cmpxchg in __slab_free), then the object joins the
 *   node's partial list. It is never reused by the freeing CPU.
 * - A CPU whose list runs empty asks its node for a refill: it reads the node's list line (the
 *   unlocked n->nr_partial check of get_partial_node(), a hit while nobody wrote the line) and
 *   sends the node a message; the node answers with up to half the limit, the most recent first.
 *   The list_lock taken to move them is not charged (an assumption: one acquisition per refill).
 *
 * The node's lists live with its home node (the partition that holds the node), and reach CPUs
 * only through events with a latency, so the reuse is the same in every partition.
 * Lists hold (id, generation) pairs, flattened.
 */
export interface SlabCpuState {
  /** Per cache: free objects, flattened id, gen; the most recently freed last. */
  lists: number[][];
  /** Per cache: a refill was asked for and its last grant has not arrived. */
  refilling: boolean[];
}

export interface SlabNodeState {
  /** Per cache: the node's partial list, flattened id, gen. */
  partial: number[][];
}

/** What the slab model needs of the kernel around it. */
export interface SlabHost {
  readonly engine: Engine;
  readonly machine: Machine;
  readonly cpuCount: number;
  /** Each cache's per-CPU limit (objects). */
  readonly slabLimits: readonly number[];
  /** The line standing for a node's list of a cache (list_lock, the slab freelists), homed there. */
  slabListLine(cache: number, node: number): number;
}

export function newSlabCpu(caches: number): SlabCpuState {
  return { lists: Array.from({ length: caches }, () => []), refilling: new Array<boolean>(caches).fill(false) };
}

export function newSlabNode(caches: number): SlabNodeState {
  return { partial: Array.from({ length: caches }, () => []) };
}

/**
 * A free object for `cache` from `cpu`'s list, as [id, gen], or null (fresh memory). Asks for a
 * refill (writing its cost into `w`) when the list is left empty.
 */
export function slabTake(h: SlabHost, st: SlabCpuState, cpu: number, cache: number, w: StepWriter): [number, number] | null {
  const list = st.lists[cache];
  let got: [number, number] | null = null;
  if (list.length > 0) {
    const gen = list.pop() as number;
    got = [list.pop() as number, gen];
  }
  if (list.length === 0 && !st.refilling[cache]) {
    const node = h.machine.topology.nodeOf(cpu);
    st.refilling[cache] = true;
    w.access(h.slabListLine(cache, node), RMW_NONE);
    h.engine.send(legToNode(h, cpu, node), PRIO_ARRIVAL, cpu, h.cpuCount + node, EV_SLAB_REFILL, cache, cpu, 0, 0);
  }
  return got;
}

/** `cpu` frees object `id` (generation `gen`) of `cache`, homed on `home`; list costs go into `w`. */
export function slabFree(h: SlabHost, st: SlabCpuState, cpu: number, cache: number, id: number, gen: number, home: number, w: StepWriter): void {
  const node = h.machine.topology.nodeOf(cpu);
  if (home !== node) {
    w.access(h.slabListLine(cache, home), RMW_ATOMIC_ADD, 1);
    h.engine.send(legToNode(h, cpu, home), PRIO_ARRIVAL, cpu, h.cpuCount + home, EV_SLAB_PUT, cache, id, gen, 0);
    return;
  }
  const list = st.lists[cache];
  list.push(id, gen);
  const limit = h.slabLimits[cache];
  if (list.length / 2 <= limit) return;
  // Past the limit: the oldest half goes to the node's partial list, in one list operation.
  const move = Math.max(1, Math.floor(limit / 2));
  w.access(h.slabListLine(cache, node), RMW_ATOMIC_ADD, 1);
  const leg = legToNode(h, cpu, node);
  for (let i = 0; i < move; i++) h.engine.send(leg, PRIO_ARRIVAL, cpu, h.cpuCount + node, EV_SLAB_PUT, cache, list[2 * i], list[2 * i + 1], 0);
  list.splice(0, 2 * move);
}

/** EV_SLAB_PUT at `node`: an object joins its partial list. */
export function slabNodePut(ns: SlabNodeState, cache: number, id: number, gen: number): void {
  ns.partial[cache].push(id, gen);
}

/** EV_SLAB_REFILL at `node` from `cpu`: grants up to half the limit, the most recent first; the last grant says so. */
export function slabNodeRefill(h: SlabHost, ns: SlabNodeState, node: number, cache: number, cpu: number): void {
  const list = ns.partial[cache];
  const n = Math.min(list.length / 2, Math.max(1, Math.floor(h.slabLimits[cache] / 2)));
  const leg = legToNode(h, cpu, node);
  const from = h.cpuCount + node;
  if (n === 0) {
    h.engine.send(leg, PRIO_ARRIVAL, from, cpu, EV_SLAB_GRANT, cache, -1, 0, 1);
    return;
  }
  for (let i = 0; i < n; i++) {
    const gen = list.pop() as number;
    const id = list.pop() as number;
    h.engine.send(leg, PRIO_ARRIVAL, from, cpu, EV_SLAB_GRANT, cache, id, gen, i === n - 1 ? 1 : 0);
  }
}

/** EV_SLAB_GRANT at `cpu`: a refilled object (id -1: none was left), `last` ends the refill. */
export function slabGranted(st: SlabCpuState, cache: number, id: number, gen: number, last: boolean): void {
  if (id >= 0) {
    // Older than anything the CPU freed since it asked: under its own frees, so those go first.
    st.lists[cache].unshift(id, gen);
  }
  if (last) st.refilling[cache] = false;
}

function legToNode(h: SlabHost, cpu: number, node: number): number {
  return h.machine.costs.legPs[h.machine.topology.nodeDistance(cpu, node)];
}
