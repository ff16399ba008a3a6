import { SWEEP_TTL_SECONDS } from "./keys.ts";
import type { PointDocument } from "./point-run.ts";

/** A point job: one run of a sweep. Its job id is the point id. */
export interface PointJob {
  sweepId: string;
  pointId: string;
  /** The code version the point id was computed with. */
  codeVersion: string;
  label: string;
  doc: PointDocument;
  /** Set for a point run as a distributed run over this many partitions of the partition queue. */
  distributed?: { partitions: number; partitionQueue: string };
}

/**
 * BullMQ options of every point job: a worker that dies or a lost connection is retried. A
 * finished point's job is kept as long as the sweep's keys (its result is in the sweep's results
 * hash too); runSweepOnCluster gives its keys that TTL when the sweep ends.
 */
export const POINT_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: "exponential", delay: 2000 },
  removeOnComplete: { age: SWEEP_TTL_SECONDS },
  removeOnFail: { age: SWEEP_TTL_SECONDS },
} as const;
