import { RMW_ATOMIC_ADD, RMW_PLAIN_ADD, RMW_SET, FREED } from "../coherence/protocol.ts";
import type { Kernel } from "../kernel/kernel.ts";
import type { StepWriter } from "../kernel/program.ts";
import { mutexLock, mutexUnlock } from "../locks/mutex.ts";
import { downRead, downWrite, upRead, upWrite } from "../locks/rwsem.ts";
import type { KernelPathState } from "./setup.ts";

/** Kernel action: a net namespace's last reference went (__put_net): queue it for cleanup_net. */
export const TAG_NETNS_PUT = 7;

/**
 * copy_net_ns() with CLONE_NEWNET (net/core/net_namespace.c, Linux 6.12): net_alloc() and
 * preinit_net() in parallel, then down_read(&pernet_ops_rwsem) around setup_net(): every pernet
 * subsystem's init (in parallel, readers do not exclude each other) except the part that takes
 * rtnl_lock (the loopback device's registration and its notifiers), then the new net is added
 * to net_namespace_list under down_write(&net_rwsem). `totalPs` is the whole creation
 * (costs.netnsCreate); its parts are shares of it (netns-costs.ts).
 */
export function createNetns(k: Kernel, w: StepWriter, p: KernelPathState, totalPs: number): void {
  const c = k.netnsCosts;
  const rtnlPs = Math.round(totalPs * c.rtnlShareOfCreate);
  const listPs = Math.min(c.netRwsemHoldPs, totalPs - rtnlPs);
  const parallelPs = Math.max(0, totalPs - rtnlPs - listPs);
  const beforePs = Math.floor(parallelPs / 4);
  w.compute(beforePs);
  downRead(k, w, p.pernetOps);
  w.compute(parallelPs - beforePs);
  mutexLock(k, w, p.rtnl);
  w.compute(rtnlPs);
  mutexUnlock(k, w, p.rtnl);
  downWrite(k, w, p.netRwsem);
  w.compute(listPs);
  w.access(p.netList, RMW_PLAIN_ADD, 1);
  upWrite(k, w, p.netRwsem);
  upRead(k, w, p.pernetOps);
}

/**
 * put_net() reached zero: __put_net() adds the net to cleanup_list (an llist: one atomic on its
 * head) and queues net_cleanup_work on the single netns workqueue; the net is freed there
 * (netns-cleanup.ts), not here.
 */
export function putNetns(k: Kernel, w: StepWriter, p: KernelPathState, net: number, countAlreadyPoisoned: boolean): void {
  if (!countAlreadyPoisoned) w.access(k.countLine(net), RMW_SET, FREED);
  w.access(p.cleanupList, RMW_ATOMIC_ADD, 1);
  w.action(TAG_NETNS_PUT, net);
}
