/** The BullMQ queue that carries sweep points (tests use their own names). */
export const DEFAULT_POINT_QUEUE = "refsim-points";

/** The queue of a points queue's sweep parents: each waits there for its points (no worker takes them). */
export function sweepParentQueue(pointQueue: string): string {
  return `${pointQueue}-sweeps`;
}

/** How long a sweep's keys live after their last write: `--resume` works within this time. */
export const SWEEP_TTL_SECONDS = 30 * 24 * 3600;

/**
 * A sweep's Redis keys, namespaced by its points queue as its jobs are (each lives
 * SWEEP_TTL_SECONDS after its last write):
 * - `results`: hash, point id -> the point's RunResult JSON (written by the worker that ran it);
 * - `executions`: hash, point id -> how many times a simulation of the point started;
 * - `spec`: the sweep's spec document and code version, so `--resume` needs no file.
 */
export function sweepKeys(pointQueue: string, sweepId: string): { results: string; executions: string; spec: string } {
  const base = `refsim:${pointQueue}:sweep:${sweepId}`;
  return { results: `${base}:results`, executions: `${base}:executions`, spec: `${base}:spec` };
}
