/**
 * Fixed CPU costs of kernel operations (the part that is not memory traffic). Every value is
 * a default that a spec may override under `costs:`; the sources say where each comes from,
 * and which are assumptions.
 */
export const DEFAULT_COSTS = {
  fork: "15us",
  exit: "8us",
  migrate: "3us",
  unshare: "2us",
  setns: "2us",
  access: "20ns",
  containerCreate: "10us",
  containerDestroy: "2us",
  containerAlloc: "300ns",
  nsproxyCreate: "300ns",
  free: "200ns",
  nsCreate: "5us",
  netnsCreate: "2.6ms",
} as const;

export type CostName = keyof typeof DEFAULT_COSTS;

export const COST_SOURCES: Record<CostName, string> = {
  fork: "assumed: fork() of a small process, order of tens of microseconds (lmbench lat_proc fork measures it; no citable current figure was found)",
  exit: "assumed: about half of fork",
  migrate: "assumed: moving a task between runqueues, a few microseconds",
  unshare: "assumed: the syscall's own cost, beside the namespaces it creates",
  setns: "assumed: the syscall's own cost (older kernels also waited for an RCU grace period, ~5 ms, Wind River LIN5-19232)",
  access: "assumed: a few instructions beside the loads the scheme implies",
  containerCreate:
    "assumed: the create call's own cost, charged once per container cycle for every scheme (the objects it allocates are charged apart: containerAlloc or nsproxyCreate, and nsCreate per namespace)",
  containerDestroy: "assumed: the destroy syscall's own cost",
  containerAlloc:
    "assumed: the same work as a new nsproxy (one slab object, its count set, K namespace pointers and a parent pointer written); the container schemes charge it once per new container",
  nsproxyCreate:
    "assumed: kernel/nsproxy.c create_nsproxy (kmem_cache_alloc + refcount_set; 2.6.19's clone_namespaces: kmalloc + memcpy + atomic_set) plus writing its K pointers in create_new_namespaces",
  free: "assumed: kmem_cache_free of one object",
  nsCreate: "assumed: creating a namespace other than net (mnt, uts, ipc, pid, user, cgroup, time)",
  netnsCreate:
    "E. Dumazet, Linux commit d7d99872c144 ('netns: add pre_exit method to struct pernet_operations'): 1000 'unshare -n /bin/false' in 2.612 s, about 2.6 ms each",
};
