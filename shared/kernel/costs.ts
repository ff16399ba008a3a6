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
  refcacheLocal: "62ns",
  nsCreate: "5us",
  netnsCreate: "2.6ms",
  mntnsCreate: "30us",
  utsnsCreate: "1us",
  ipcnsCreate: "20us",
  pidnsCreate: "3us",
  usernsCreate: "10us",
  cgroupnsCreate: "2us",
  timensCreate: "3us",
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
  refcacheLocal:
    "RadixVM (Clements, Kaashoek, Zeldovich, EuroSys 2013), reference-counting figure, 1-core points (an input, uncontended): refcache's get or put beside the shared counter's. sv6's refcache::referenced::inc and dec (include/refcache.hh) disable interrupts (scoped_cli), find the object's way in the per-core cache (hash_way, get_way, evicting another object's delta on a conflict) and change the delta inside the way's seqcount write section; no locked instruction. 1 core: refcache 0.871M, shared counter 1.077M iterations/s of 2 gets and 2 puts, so refcache's get or put costs (1/0.871M - 1/1.077M) / 4 = 54.9 ns more than the shared counter's lock xadd on an owned line; refsim charges that RMW 9.4 ns on xeon-80 (localAtomic) and refcache's own add of the delta 2.3 ns (a local hit), so the rest of refcache's path is 54.9 + 9.4 - 2.3 = 62 ns (charged by the refcache scheme on every get and put)",
  nsCreate: "assumed: kernel: refcounts-only only: creating a namespace other than net (mnt, uts, ipc, pid, user, cgroup, time); linux-6 gives each kind its own figure (the *nsCreate costs below)",
  netnsCreate:
    "E. Dumazet, Linux commit d7d99872c144 ('netns: add pre_exit method to struct pernet_operations'): 1000 'unshare -n /bin/false' in 2.612 s, about 2.6 ms each (under linux-6 the whole of copy_net_ns, split into what runs under rtnl_mutex and net_rwsem and what runs in parallel: see the kernel path's netns figures). K. Tkhai's 2018 net-next series 'Replacing net_mutex with rw_semaphore' measured 10000 'unshare -n bash -c exit' in 1m40.4s before and 17.0s after (5.8x): since then pernet_ops_rwsem is taken for reading, so creations do not exclude each other on it",
  mntnsCreate:
    "assumed (linux-6): copy_mnt_ns(): copy_tree() of the caller's mount tree (one struct mount per mount, a few dozen on a container host) under namespace_sem, which the model does not serialise",
  utsnsCreate: "assumed (linux-6): copy_utsname(): one kmem_cache_alloc and a memcpy of struct new_utsname (390 bytes), ns_alloc_inum",
  ipcnsCreate: "assumed (linux-6): create_ipc_ns(): mq_init_ns() mounts a new mqueue filesystem instance, sem/msg/shm init and the ipc sysctl tables",
  pidnsCreate: "assumed (linux-6): create_pid_namespace(): kmem_cache_alloc, idr_init, ns_alloc_inum (the per-level pid cache exists after the first namespace of a level)",
  usernsCreate: "assumed (linux-6): create_user_ns(): kmem_cache_alloc, the uid/gid maps, setup_userns_sysctls() (one sysctl table registered)",
  cgroupnsCreate: "assumed (linux-6): copy_cgroup_ns(): kzalloc and get_css_set of the caller's css_set under css_set_lock",
  timensCreate: "assumed (linux-6): copy_time_ns(): kzalloc and alloc_page() for the namespace's vvar page",
};

/** The linux-6 creation cost of each namespace kind: its cost name. */
export const NS_CREATE_COST: Record<string, CostName> = {
  mnt: "mntnsCreate",
  uts: "utsnsCreate",
  ipc: "ipcnsCreate",
  pid: "pidnsCreate",
  net: "netnsCreate",
  user: "usernsCreate",
  cgroup: "cgroupnsCreate",
  time: "timensCreate",
};
