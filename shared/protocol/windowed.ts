import { Machine } from "../machine/machine.ts";
import type { RunResult } from "../metrics/result.ts";
import { Partition, type EventBatch, type PartitionOptions } from "./partition.ts";
import { lookaheadPs, type Ownership } from "./partitioning.ts";
import { nextBoundaryPs } from "./reclaim.ts";
import { mergeReports } from "../report.ts";
import type { RunConfig } from "../spec/resolve.ts";

/** How a windowed run went (not part of the result: it depends on the partition). */
export interface WindowStats {
  windows: number;
  lookaheadPs: number;
  /** Events that crossed partitions. */
  crossEvents: number;
}

/** What each partition reports at a barrier (Infinity for "none"). */
export interface BarrierReport {
  /** Its next pending event. */
  nextPs: number;
  /** A lower bound on its next event for another partition, absent inbound (Partition.earliestSendPs). */
  earliestSendPs: number;
  /** The earliest event it sent each partition in the window just ended. */
  minSentTo: readonly number[];
}

/**
 * The next window from every partition's barrier report; null when nothing is left anywhere.
 * It starts at the earliest pending or just-sent event (skipping idle time) and ends one
 * lookahead after the earliest time any partition could send another one something: its own
 * bound, or the earliest event reaching it now (which it may answer at once). So no event sent
 * in the window can be due inside it; partitions that cannot reach each other run long windows.
 */
export function nextWindow(reports: readonly BarrierReport[], lookahead: number, reclaimPeriodPs: number | null = null): { startPs: number; endPs: number } | null {
  let start = Infinity;
  let earliest = Infinity;
  for (let q = 0; q < reports.length; q++) {
    const r = reports[q];
    if (r.nextPs < start) start = r.nextPs;
    let e = r.earliestSendPs;
    for (const p of reports) {
      const t = p.minSentTo[q] ?? Infinity;
      if (t < start) start = t;
      if (t < e) e = t;
    }
    if (e < earliest) earliest = e;
  }
  if (start === Infinity) return null;
  // One partition has no lookahead, and isolated partitions need none: run to the end.
  let endPs = earliest === Infinity || lookahead === Infinity ? Number.MAX_SAFE_INTEGER : earliest + lookahead;
  // A window never crosses a reclaim boundary (see reclaim.ts): every partition reaches it at the
  // same barrier, with the notices of everything retired before it.
  if (reclaimPeriodPs !== null) endPs = Math.min(endPs, nextBoundaryPs(start, reclaimPeriodPs));
  return { startPs: start, endPs };
}

/** The earliest event time per destination in a partition's batches (Infinity where none). */
export function minSentTo(batches: readonly EventBatch[], partitions: number): number[] {
  const out = new Array<number>(partitions).fill(Infinity);
  for (const b of batches) for (let i = 0; i < b.events.length; i += 8) if (b.events[i] < out[b.to]) out[b.to] = b.events[i];
  return out;
}

/**
 * Runs one configuration split into partitions, all in this process, with conservative
 * synchronous windows: each window starts at the earliest pending event of any partition and
 * lasts the static lookahead, so no event sent in a window can be due inside it. Batches, and
 * the notices of retired memory, move between partitions at each barrier. The result is the
 * embedded run's, byte for byte.
 */
export function runWindowed(
  config: RunConfig,
  ownership: Ownership,
  options: PartitionOptions = {},
  exchange: (batches: EventBatch[]) => EventBatch[] = (b) => b,
  /** Called on each partition after each barrier; tests return it restored from a checkpoint. */
  afterBarrier: (window: number, p: Partition) => Partition = (_, p) => p,
): { result: RunResult; stats: WindowStats } {
  const parts = Array.from({ length: ownership.partitions }, (_, i) => new Partition(config, ownership, i, options));
  const lookahead = lookaheadPs(new Machine(config.machine, config.cpuCount), ownership);
  for (const p of parts) p.start();
  let windows = 0;
  let crossEvents = 0;
  let endPs = 0;
  for (;;) {
    for (const p of parts) p.runUntil(endPs);
    windows++;
    const reports: BarrierReport[] = [];
    const batches: EventBatch[] = [];
    const retired: number[][] = [];
    for (const p of parts) {
      const out = p.takeBatches();
      reports.push({ nextPs: p.nextEventTime(), earliestSendPs: p.earliestSendPs(), minSentTo: minSentTo(out, parts.length) });
      for (const b of out) batches.push(b);
      retired.push(p.takeRetired());
    }
    for (const b of exchange(batches)) {
      crossEvents += b.events.length / 8;
      parts[b.to].deliver(b);
    }
    for (let from = 0; from < parts.length; from++) for (const p of parts) if (p.index !== from) p.learnRetired(from, retired[from]);
    for (let i = 0; i < parts.length; i++) parts[i] = afterBarrier(windows - 1, parts[i]);
    const next = nextWindow(reports, lookahead, parts[0].reclaimPeriodPs);
    if (next === null) break;
    endPs = next.endPs;
  }
  const result = mergeReports(config, parts.map((p) => p.report()));
  return { result, stats: { windows, lookaheadPs: lookahead, crossEvents } };
}
