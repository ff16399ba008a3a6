import { EV_KWORK_QUEUED, PRIO_ARRIVAL, RMW_XCHG_ZERO } from "../coherence/protocol.ts";
import { TAG_FREED, type Kernel } from "../kernel/kernel.ts";
import { OP_KWORK, StepWriter, type Program } from "../kernel/program.ts";
import { LOCK_STAT_FIELDS, STAT_ACQUIRED, STAT_HOLD_PS, STAT_WAIT_PS } from "../locks/lock-host.ts";
import { mutexLock, mutexOwnerRuns, mutexOwnerSleeps, mutexUnlock } from "../locks/mutex.ts";
import { downRead, downWrite, upRead, upWrite } from "../locks/rwsem.ts";
import { sleepFor } from "../locks/sleep-queue.ts";
import { ATTR_CAPACITY } from "../metrics/attribution.ts";
import type { KernelPathState } from "./setup.ts";

/** EV_KWORK_QUEUED's work kind: a net namespace for cleanup_net. */
export const KWORK_NETNS = 1;
/** Kernel actions of the netns worker's program. */
export const TAG_NETNS_BATCH = 8;
export const TAG_NETNS_DONE = 9;

/**
 * The netns workqueue's state, on the worker's CPU: the nets queued since the last batch (and
 * when), whether a batch runs, and the one running.
 */
export interface NetnsWorkerState {
  pending: number[];
  queuedPs: number[];
  running: boolean;
  batch: number[];
  batchStartPs: number;
  batchCounted: boolean;
}

export function newNetnsWorkerState(): NetnsWorkerState {
  return { pending: [], queuedPs: [], running: false, batch: [], batchStartPs: 0, batchCounted: false };
}

/**
 * The TAG_NETNS_PUT action on the putting CPU: queue_work() wakes the netns worker, which
 * learns of the net `wakeLatency` after the put (the model carries the net in the event; the
 * llist's line traffic is the put's atomic and the worker's llist_del_all).
 */
export function queueNetnsCleanup(k: Kernel, p: KernelPathState, net: number): void {
  const delay = k.sleepCosts.wakeupPs + k.sleepCosts.wakeLatencyPs;
  k.engine.send(delay, PRIO_ARRIVAL, k.currentCpu, p.netnsWorkerCpu, EV_KWORK_QUEUED, KWORK_NETNS, net);
}

/** EV_KWORK_QUEUED on the worker's CPU: the net joins the next batch; a batch starts if none runs. */
export function netnsQueued(k: Kernel, cpu: number, net: number): void {
  const st = k.perCpu[cpu].netnsWorker;
  st.pending.push(net);
  st.queuedPs.push(k.nowPs);
  if (!st.running) startBatch(k, cpu);
}

/**
 * netns_wq is an ordered workqueue (create_singlethread_workqueue): one cleanup_net() at a
 * time, on one worker (the model keeps it on one CPU; an unbound worker runs where the scheduler
 * puts it). Its program is kernel work of a task of its own, so it may sleep on locks and RCU.
 */
function startBatch(k: Kernel, cpu: number): void {
  const p = k.path as KernelPathState;
  const st = k.perCpu[cpu].netnsWorker;
  st.running = true;
  const w = new StepWriter([]);
  w.access(p.cleanupList, RMW_XCHG_ZERO, 0);
  w.action(TAG_NETNS_BATCH, -1);
  const program: Program = { op: OP_KWORK, taskId: p.netnsWorker, startPs: 0, steps: w.steps, pc: 0, scratch: 0 };
  k.perCpu[cpu].ready.push({ program, timePs: new Float64Array(ATTR_CAPACITY), sleepClass: -1, sleptAtPs: 0, waiting: 0, waitingFor: -1, holding: 0, inScheme: false });
}

/**
 * cleanup_net() for the nets queued so far (llist_del_all), Linux 6.12: down_read
 * pernet_ops_rwsem; unlist every net under down_write(&net_rwsem); unhash_nsid and the pre_exit
 * methods; synchronize_rcu_expedited(); under rtnl_lock the exit_rtnl methods and
 * unregister_netdevice_many() (whose synchronize_net() sleeps with RTNL held); the exit and
 * free methods; up_read; rcu_barrier(); then each net is freed. Grace periods are paid once per
 * batch, the rest once per net, all of it on the one worker.
 */
export function netnsBatch(k: Kernel, w: StepWriter): void {
  const p = k.path as KernelPathState;
  const c = k.netnsCosts;
  const st = k.perCpu[k.currentCpu].netnsWorker;
  const now = k.nowPs;
  st.batch = st.pending.splice(0);
  const queued = st.queuedPs.splice(0);
  st.batchStartPs = now;
  st.batchCounted = k.measured(now);
  if (st.batchCounted) {
    const stats = k.perCpu[k.currentCpu].locks.stats;
    const at = p.netnsWq * LOCK_STAT_FIELDS;
    stats[at + STAT_ACQUIRED] += st.batch.length;
    for (const t of queued) stats[at + STAT_WAIT_PS] += now - t;
  }
  const n = st.batch.length;
  downRead(k, w, p.pernetOps);
  downWrite(k, w, p.netRwsem);
  w.compute(n * c.cleanupUnlistPerNetPs);
  upWrite(k, w, p.netRwsem);
  w.compute(n * c.cleanupPreExitPerNetPs);
  sleepFor(k, w, c.synchronizeRcuExpeditedPs);
  mutexLock(k, w, p.rtnl);
  w.compute(n * c.cleanupRtnlPerNetPs);
  mutexOwnerSleeps(k, w, p.rtnl);
  sleepFor(k, w, c.synchronizeRcuExpeditedPs);
  mutexOwnerRuns(k, w, p.rtnl);
  mutexUnlock(k, w, p.rtnl);
  w.compute(n * c.cleanupExitPerNetPs);
  upRead(k, w, p.pernetOps);
  sleepFor(k, w, k.options.rcuGracePeriodPs);
  for (const net of st.batch) {
    w.compute(k.costs.freePs);
    w.action(TAG_FREED, net);
    for (const held of k.object(net).holds) k.put(w, held);
  }
  w.action(TAG_NETNS_DONE, -1);
}

/** The batch is done: its hold is recorded per net, and the next batch starts if nets are queued. */
export function netnsBatchDone(k: Kernel): void {
  const p = k.path as KernelPathState;
  const cpu = k.currentCpu;
  const st = k.perCpu[cpu].netnsWorker;
  if (st.batchCounted) k.perCpu[cpu].locks.stats[p.netnsWq * LOCK_STAT_FIELDS + STAT_HOLD_PS] += (k.nowPs - st.batchStartPs) * st.batch.length;
  st.batch = [];
  st.running = false;
  if (st.pending.length > 0) startBatch(k, cpu);
}
