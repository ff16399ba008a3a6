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
 * open) instead of a new one of `workers` threads. Points in `done` (finished before) are not
 * run; once `stopped()` says so, a point that ends with an error has no outcome.
 */
export async function runSweepEmbedded(
  plan: SweepPlan,
  o: { workers: number; progress?: SweepProgress; pool?: PointPool; done?: ReadonlySet<string>; stopped?: () => boolean },
): Promise<Map<string, PointOutcome>> {
  const progress = o.progress ?? SILENT_PROGRESS;
  const outcomes = new Map<string, PointOutcome>();
  const todo = plan.points.filter((p) => o.done?.has(p.id) !== true);
  const pool = o.pool ?? new PointPool(Math.max(1, Math.min(o.workers, todo.length)));
  progress.start(plan.points.length, plan.points.length - todo.length);
  try {
    await Promise.all(
      todo.map(async (point) => {
        let outcome: PointOutcome | undefined;
        for (let attempt = 1; outcome === undefined; attempt++) {
          try {
            outcome = { status: "done", result: await pool.run(point.doc), earlier: false };
          } catch (e) {
            // A sweep being stopped closes the pool: its running points end with no outcome.
            if (o.stopped?.() === true) return;
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
