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

/** BullMQ options of every point job: a worker that dies or a lost connection is retried. */
export const POINT_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: "exponential", delay: 2000 },
  removeOnComplete: false,
  removeOnFail: false,
} as const;
