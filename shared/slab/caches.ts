import { OBJ_CONTAINER, OBJ_NAMESPACE, OBJ_NSPROXY, OBJ_TASK } from "../kernel/objects.ts";

/**
 * The slab caches (kmem_cache) the model's objects come from: one per object kind, as in Linux
 * (task_struct_cachep, nsproxy_cachep, one cache per namespace type), so memory is only reused by
 * an object of the same kind. Index: 0 task, 1 nsproxy, 2 container, 3 + k namespace kind k.
 */
export const CACHE_TASK = 0;
export const CACHE_NSPROXY = 1;
export const CACHE_CONTAINER = 2;
const CACHE_NAMESPACE_BASE = 3;

/** The cache of an object kind, or -1 for objects that are never freed (global kernel data). */
export function cacheOf(type: number, nsKind: number): number {
  if (type === OBJ_TASK) return CACHE_TASK;
  if (type === OBJ_NSPROXY) return CACHE_NSPROXY;
  if (type === OBJ_CONTAINER) return CACHE_CONTAINER;
  if (type === OBJ_NAMESPACE) return CACHE_NAMESPACE_BASE + nsKind;
  return -1;
}

export function cacheCount(kindCount: number): number {
  return CACHE_NAMESPACE_BASE + kindCount;
}

/**
 * Object sizes in bytes on x86_64 Linux 6.x, for the per-CPU limit below. Assumed: rounded
 * figures of the kind `pahole` prints for a distribution kernel (they vary with the
 * configuration; only which of SLUB's size classes an object falls in matters here).
 */
export const OBJECT_BYTES: Record<string, number> = {
  task: 9600,
  nsproxy: 72,
  container: 72,
  mnt: 120,
  uts: 432,
  ipc: 1500,
  pid: 160,
  net: 4800,
  user: 600,
  cgroup: 48,
  time: 64,
};
const SOURCE_SIZES =
  "assumed object sizes (x86_64 6.x, approximate): task_struct ~9.6 KB, nsproxy 72 B (the model's container object taken as nsproxy-sized), mnt 120 B, uts 432 B, ipc ~1.5 KB, pid 160 B, net ~4.8 KB, user 600 B, cgroup 48 B, time 64 B";

/**
 * How many free objects a CPU keeps for a cache before it hands some to its node's partial list:
 * mm/slub.c set_cpu_partial() (Linux 6.x, before sheaves), by object size: >= PAGE_SIZE 6,
 * >= 1024 B 24, >= 256 B 52, else 120 objects.
 */
export function cpuPartialObjects(bytes: number): number {
  if (bytes >= 4096) return 6;
  if (bytes >= 1024) return 24;
  if (bytes >= 256) return 52;
  return 120;
}

/** The cache's name: the object kind, or the namespace kind. */
export function cacheName(cache: number, kinds: readonly string[]): string {
  if (cache === CACHE_TASK) return "task";
  if (cache === CACHE_NSPROXY) return "nsproxy";
  if (cache === CACHE_CONTAINER) return "container";
  return kinds[cache - CACHE_NAMESPACE_BASE];
}

/** Each cache's per-CPU limit, for a run's namespace kinds. */
export function cpuPartialLimits(kinds: readonly string[]): number[] {
  const out: number[] = [];
  for (let c = 0; c < cacheCount(kinds.length); c++) out.push(cpuPartialObjects(OBJECT_BYTES[cacheName(c, kinds)] ?? 64));
  return out;
}

/** Where the figures of the slab model come from (refsim presets prints them). */
export const SLAB_SOURCES: ReadonlyArray<[string, string]> = [
  ["per-CPU free objects", "mm/slub.c set_cpu_partial() (Linux 6.x): 6 objects for objects of a page or more, 24 from 1 KB, 52 from 256 B, 120 below"],
  ["object sizes", SOURCE_SIZES],
  [
    "refill",
    "assumed: a CPU whose list runs empty asks its node's partial list for half its limit (get_partial_node() fills the per-CPU partial list to about half of cpu_partial_slabs)",
  ],
  [
    "remote free",
    "mm/slub.c __slab_free(): an object freed on another node than its slab's goes back to its own slab (cmpxchg on the slab's freelist), modelled as an atomic on its node's list line and the object joining that node's partial list",
  ],
];
