import type { LockResult, ViolationRecord } from "../metrics/result.ts";
import { LOCK_KIND_NAMES, LOCK_STAT_FIELDS, STAT_ACQUIRED, STAT_CONTENDED, STAT_HOLD_PS, STAT_WAIT_PS } from "./lock-host.ts";

interface CpuLockReport {
  id: number;
  lockStats: number[];
  spinningOn: number;
  /** Tasks whose programs still sleep (or were woken but never ran again) at the end. */
  asleep?: number[];
}

/**
 * Lock statistics of a run by lock class, summed over CPUs. `latencyPs` is the total latency
 * of the operations measured, so each lock's wait reads as a share of what operations cost.
 */
export function lockResults(classes: ReadonlyArray<{ name: string; kind: number }>, cpus: readonly CpuLockReport[], latencyPs: number): LockResult[] {
  return classes.map((c, i) => {
    const at = i * LOCK_STAT_FIELDS;
    let acquisitions = 0;
    let contended = 0;
    let waitPs = 0;
    let holdPs = 0;
    for (const cpu of cpus) {
      acquisitions += cpu.lockStats[at + STAT_ACQUIRED];
      contended += cpu.lockStats[at + STAT_CONTENDED];
      waitPs += cpu.lockStats[at + STAT_WAIT_PS];
      holdPs += cpu.lockStats[at + STAT_HOLD_PS];
    }
    return {
      name: c.name,
      kind: LOCK_KIND_NAMES[c.kind],
      acquisitions,
      contended,
      contendedShare: acquisitions > 0 ? round6(contended / acquisitions) : 0,
      waitNsPerAcquisition: acquisitions > 0 ? round3(waitPs / acquisitions / 1000) : 0,
      holdNsPerAcquisition: acquisitions > 0 ? round3(holdPs / acquisitions / 1000) : 0,
      waitShareOfLatency: latencyPs > 0 ? round6(waitPs / latencyPs) : 0,
    };
  });
}

/**
 * The lock invariants at the end of a run: every lock word is free (no holder, no pending bit,
 * no queue) and no CPU still spins (a waiter nobody woke). `value` reads a line's final value.
 */
export function lockViolations(
  classes: ReadonlyArray<{ name: string; word: number; head?: number }>,
  cpus: readonly CpuLockReport[],
  value: (line: number) => number,
  endPs: number,
): ViolationRecord[] {
  const out: ViolationRecord[] = [];
  classes.forEach((c, i) => {
    if (c.word >= 0 && value(c.word) !== 0) {
      out.push({ kind: "lock-held-at-end", obj: i, cpu: -1, timePs: endPs, detail: `${c.name}: its word is ${value(c.word)} at the end, not free` });
    }
    if (c.head !== undefined && c.head >= 0 && value(c.head) !== 0) {
      out.push({ kind: "lock-held-at-end", obj: i, cpu: -1, timePs: endPs, detail: `${c.name}: task ${value(c.head) - 1} is still in its wait list at the end` });
    }
  });
  for (const cpu of cpus) {
    for (const task of cpu.asleep ?? []) out.push({ kind: "lock-held-at-end", obj: -1, cpu: cpu.id, timePs: endPs, detail: `task ${task} on cpu ${cpu.id} still sleeps at the end (a waiter nobody woke)` });
    if (cpu.spinningOn !== -1) out.push({ kind: "lock-held-at-end", obj: -1, cpu: cpu.id, timePs: endPs, detail: `cpu ${cpu.id} still spins on line ${cpu.spinningOn}` });
  }
  return out;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
