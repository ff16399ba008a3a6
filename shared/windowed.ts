import { Machine } from "./machine/machine.ts";
import type { RunResult } from "./metrics/result.ts";
import { Partition, type EventBatch, type PartitionOptions } from "./partition.ts";
import { lookaheadPs, type Ownership } from "./partitioning.ts";
import { mergeReports } from "./report.ts";
import type { RunConfig } from "./spec/resolve.ts";

/** How a windowed run went (not part of the result: it depends on the partition). */
export interface WindowStats {
  windows: number;
  lookaheadPs: number;
  /** Events that crossed partitions. */
  crossEvents: number;
}

/** The next window, from every partition's next event time: [start, start + lookahead); null when all are idle. */
export function nextWindowEnd(nextEventTimes: readonly number[], lookahead: number): number | null {
  const start = Math.min(...nextEventTimes);
  return start === Infinity ? null : start + lookahead;
}

/**
 * Runs one configuration split into partitions, all in this process, with conservative
 * synchronous windows: each window starts at the earliest pending event of any partition and
 * lasts the static lookahead, so no event sent in a window can be due inside it. Batches move
 * between partitions at each barrier. The result is the embedded run's, byte for byte.
 */
export function runWindowed(
  config: RunConfig,
  ownership: Ownership,
  options: PartitionOptions = {},
  exchange: (batches: EventBatch[]) => EventBatch[] = (b) => b,
): { result: RunResult; stats: WindowStats } {
  const parts = Array.from({ length: ownership.partitions }, (_, i) => new Partition(config, ownership, i, options));
  const lookahead = lookaheadPs(new Machine(config.machine, config.cpuCount), ownership);
  for (const p of parts) p.start();
  let windows = 0;
  let crossEvents = 0;
  for (;;) {
    const end = nextWindowEnd(parts.map((p) => p.nextEventTime()), lookahead);
    if (end === null) break;
    for (const p of parts) p.runUntil(end);
    const batches = exchange(parts.flatMap((p) => p.takeBatches()));
    for (const b of batches) {
      crossEvents += b.events.length / 8;
      parts[b.to].deliver(b);
    }
    windows++;
  }
  const result = mergeReports(config, parts.map((p) => p.report()));
  return { result, stats: { windows, lookaheadPs: lookahead, crossEvents } };
}
