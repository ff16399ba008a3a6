import { parseDurationPs } from "../spec/duration.ts";

/**
 * How the linux-6 profile splits a network namespace's creation (costs.netnsCreate, the whole
 * of copy_net_ns) and what its cleanup costs in the single netns worker. Shares are of
 * costs.netnsCreate, so a spec that overrides it scales the serialised part with it.
 */
export const NETNS_COSTS = {
  rtnlShareOfCreate: "25%",
  netRwsemHold: "200ns",
  cleanupUnlistPerNet: "300ns",
  cleanupPreExitPerNet: "20us",
  cleanupRtnlPerNet: "200us",
  cleanupExitPerNet: "300us",
  synchronizeRcuExpedited: "50us",
} as const;
export type NetnsCostName = keyof typeof NETNS_COSTS;

const WHY = "assumed (no published per-section figure found)";
export const NETNS_COST_SOURCES: Record<NetnsCostName, string> = {
  rtnlShareOfCreate: `${WHY}: the part of setup_net()'s pernet init run under rtnl_lock(): register_netdev() of the loopback device with the netdevice notifier chain (inetdev_init and addrconf's ipv6_add_dev, each registering its per-device sysctl tables), which per-netns RTNL work (K. Iwashima, 2024) aims to take out of the global RTNL`,
  netRwsemHold: `${WHY}: setup_net(): list_add_tail_rcu of the new net to net_namespace_list under down_write(&net_rwsem)`,
  cleanupUnlistPerNet: `${WHY}: cleanup_net(): list_del_rcu of each net under down_write(&net_rwsem)`,
  cleanupPreExitPerNet: `${WHY}: cleanup_net(): unhash_nsid() (walks every live net's nsid idr) and the pre_exit methods, per net`,
  cleanupRtnlPerNet: `${WHY}: ops_exit_rtnl_list(): the exit_rtnl methods and unregister_netdevice_many() of the net's devices under rtnl_lock, per net`,
  cleanupExitPerNet: `${WHY}: ops_exit_list() and ops_free_list() of every pernet subsystem (tcp, ipv6 routes, netfilter...), per net; Dumazet's 'net: speedup netns create/delete time' series measured ~5 ms per create/delete pair before its batching`,
  synchronizeRcuExpedited: `${WHY}: the expedited grace period cleanup_net() waits for (ops_undo_list), and again in unregister_netdevice_many() (synchronize_net() with RTNL held is expedited): IPIs to every CPU, tens of microseconds; once per batch. rcu_barrier() afterwards waits a normal grace period (options.rcuGracePeriod)`,
};

export interface NetnsCostsPs {
  rtnlShareOfCreate: number;
  netRwsemHoldPs: number;
  cleanupUnlistPerNetPs: number;
  cleanupPreExitPerNetPs: number;
  cleanupRtnlPerNetPs: number;
  cleanupExitPerNetPs: number;
  synchronizeRcuExpeditedPs: number;
}

export function netnsCostsPs(): NetnsCostsPs {
  const p = (s: string) => parseDurationPs(s) as number;
  return {
    rtnlShareOfCreate: Number.parseFloat(NETNS_COSTS.rtnlShareOfCreate) / 100,
    netRwsemHoldPs: p(NETNS_COSTS.netRwsemHold),
    cleanupUnlistPerNetPs: p(NETNS_COSTS.cleanupUnlistPerNet),
    cleanupPreExitPerNetPs: p(NETNS_COSTS.cleanupPreExitPerNet),
    cleanupRtnlPerNetPs: p(NETNS_COSTS.cleanupRtnlPerNet),
    cleanupExitPerNetPs: p(NETNS_COSTS.cleanupExitPerNet),
    synchronizeRcuExpeditedPs: p(NETNS_COSTS.synchronizeRcuExpedited),
  };
}
