import { parseDurationPs } from "../spec/duration.ts";

/**
 * What sleeping on a lock costs beside the lock's own line traffic: the waker's
 * try_to_wake_up(), the wake-up reaching the sleeper's CPU, and the two context switches (the
 * sleeper's schedule() away, and back in once woken). Fixed figures, the same in every run.
 */
export const SLEEP_COSTS = {
  contextSwitch: "1500ns",
  wakeup: "1us",
  wakeLatency: "2us",
} as const;
export type SleepCostName = keyof typeof SLEEP_COSTS;

export const SLEEP_COST_SOURCES: Record<SleepCostName, string> = {
  contextSwitch:
    "assumed: one schedule() between two kernel tasks, charged to the sleeper's CPU when it leaves and again when it comes back (lmbench lat_ctx measures a switch between two processes at a few microseconds; no current figure for a kernel-to-kernel switch was found)",
  wakeup: "assumed: try_to_wake_up() on the waker: the wakee's state, its runqueue lock and enqueue (wake_up_q after the wait_lock is released)",
  wakeLatency: "assumed: from try_to_wake_up() to the wakee's CPU noticing it (a reschedule IPI, or the wakelist of a remote CPU), before its switch back in",
};

export interface SleepCostsPs {
  contextSwitchPs: number;
  wakeupPs: number;
  wakeLatencyPs: number;
}

export function sleepCostsPs(): SleepCostsPs {
  const p = (s: string) => parseDurationPs(s) as number;
  return { contextSwitchPs: p(SLEEP_COSTS.contextSwitch), wakeupPs: p(SLEEP_COSTS.wakeup), wakeLatencyPs: p(SLEEP_COSTS.wakeLatency) };
}
