/**
 * Kernel profiles: how much of the kernel's own fork and exit path the model runs beside the
 * schemes' namespace reference counts.
 * - `linux-6`: the path of Linux 6.12 (see fork.ts and exit.ts): tasklist_lock, pidmap_lock and
 *   the pid allocation per pid-namespace level, css_set_lock and the css_set reference, the
 *   cred references and ucounts per user-namespace level, the parent's siglock; network
 *   namespaces created under pernet_ops_rwsem, rtnl_mutex and net_rwsem and cleaned up by the
 *   single netns worker (netns.ts, netns-cleanup.ts); each namespace kind's own creation cost.
 * - `refcounts-only`: the namespace counts are the only shared memory a fork or exit touches;
 *   the rest is a fixed cost that runs in parallel (the model before the kernel path existed,
 *   kept byte for byte so the isolated comparison stays available).
 */
export const KERNEL_PROFILES = ["linux-6", "refcounts-only"] as const;
export type KernelProfile = (typeof KERNEL_PROFILES)[number];
export const DEFAULT_KERNEL_PROFILE: KernelProfile = "linux-6";
