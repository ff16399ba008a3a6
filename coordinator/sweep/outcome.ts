import type { RunResult } from "../../shared/metrics/result.ts";
import type { SweepPoint } from "./points.ts";

/**
 * How a point ended: its result (and whether an earlier submission of the sweep had already
 * produced it), or its failure. A failure is a recorded state, not an exception.
 */
export type PointOutcome =
  | { status: "done"; result: RunResult; earlier: boolean }
  | { status: "failed"; error: string; attempts: number };

/** What a sweep runner reports as points end (a progress bar, log lines, nothing). */
export interface SweepProgress {
  /** The sweep starts with `done` of `total` points already done (a resumed sweep). */
  start(total: number, done: number): void;
  point(point: SweepPoint, outcome: PointOutcome): void;
  /** Informational lines (where the sweep runs, what it is waiting for). */
  note(line: string): void;
  stop(): void;
}

export const SILENT_PROGRESS: SweepProgress = { start() {}, point() {}, note() {}, stop() {} };
