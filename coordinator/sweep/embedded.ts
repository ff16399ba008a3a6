import { SpecError } from "../../shared/engine/errors.ts";
import { SILENT_PROGRESS, type PointOutcome, type SweepProgress } from "./outcome.ts";
import { PointPool, PointThreadDiedError } from "./point-pool.ts";
import type { SweepPlan } from "./points.ts";

/** Attempts of a point whose thread died, as a cluster point job's (see worker/point-worker.ts). */
export const POINT_ATTEMPTS = 3;

/**
 * Runs every point of a sweep in this process, `workers` points at a time, each in a worker
 * thread running `simulate` (distributed points too: the result is the same). A point whose
 * thread died is tried again, up to POINT_ATTEMPTS times; an invalid spec or a simulation error
 * fails at once. Returns each point's outcome by point id. A `pool` given is used (and left
 * open) instead of a new one of `workers` threads.
 */
export async function runSweepEmbedded(
  plan: SweepPlan,
  o: { workers: number; progress?: SweepProgress; pool?: PointPool },
): Promise<Map<string, PointOutcome>> {
  const progress = o.progress ?? SILENT_PROGRESS;
  const outcomes = new Map<string, PointOutcome>();
  const pool = o.pool ?? new PointPool(Math.max(1, Math.min(o.workers, plan.points.length)));
  progress.start(plan.points.length, 0);
  try {
    await Promise.all(
      plan.points.map(async (point) => {
        let outcome: PointOutcome | undefined;
        for (let attempt = 1; outcome === undefined; attempt++) {
          try {
            outcome = { status: "done", result: await pool.run(point.doc), earlier: false };
          } catch (e) {
            const err = e as Error;
            const retry = err instanceof PointThreadDiedError && attempt < POINT_ATTEMPTS;
            if (!retry) outcome = { status: "failed", error: err instanceof SpecError ? `invalid spec: ${err.message}` : err.message, attempts: attempt };
          }
        }
        outcomes.set(point.id, outcome);
        progress.point(point, outcome);
      }),
    );
  } finally {
    progress.stop();
    if (o.pool === undefined) await pool.close();
  }
  return outcomes;
}
