import { z } from "zod";

/**
 * The shape of a results.json as `refsim report` reads it (README "results.json"): what the
 * report uses must be there with the right type, so a crafted or damaged file fails with the
 * field's path instead of a TypeError deep in a chart. Fields it does not read may be anything
 * (a newer writer may add some); what it reads is checked.
 */

const count = z.number().min(0);
const finite = z.number();
/** A ratio over no operations is NaN, which JSON writes as null. */
const ratio = z.number().nullable();
const sources = z.looseObject({ hit: count, smt: count, die: count, package: count, hop1: count, hop2: count, "dram-local": count, "dram-remote": count });

/** A breakdown of fork or exit latency (shared/metrics/attribution.ts): shares between 0 and 1. */
const share = z.number().min(0).max(1.001);
const breakdownSchema = z.looseObject({
  operations: count,
  meanNs: count,
  namespaceRefs: share,
  lockWait: share,
  lockWaitByLock: z.record(z.string(), share),
  lockedSections: share,
  kernelMemory: share,
  parallelCompute: share,
  interrupted: share,
});

const runSchema = z.looseObject({
  scheme: z.string(),
  machine: z.string(),
  cpus: z.int().min(1),
  workload: z.string(),
  seed: z.int().min(0),
  measuredPs: count,
  operations: z.record(z.string(), count),
  totalOps: count,
  throughputOpsPerSec: ratio,
  latency: z.record(z.string(), z.looseObject({ p50Ns: finite, p99Ns: finite, maxNs: finite })),
  atomics: z.looseObject({ total: count, shared: count, bySource: sources }),
  atomicsPerOp: ratio,
  sharedAtomicsPerOp: ratio,
  accessesBySource: sources,
  lineTransfers: z.looseObject({ smt: count, die: count, package: count, hop1: count, hop2: count, total: count }),
  transfersPerOp: ratio,
  dramFetches: z.looseObject({ local: count, remote: count }),
  invalidations: count,
  coherenceStallPs: count,
  stallShare: ratio,
  lineQueueWaitPs: count,
  memory: z.looseObject({ bytesPerTask: count, refBytesPerContainer: count, fixedBytes: count, liveObjectsAtEnd: count, awaitingFreePeak: count, awaitingFreeAtEnd: count }),
  scalingEfficiency: ratio,
  engineEvents: count,
  // Files written before the breakdown existed have a kernelPath without it.
  kernelPath: z.looseObject({ profile: z.string(), latencyBreakdown: z.looseObject({ fork: breakdownSchema, exit: breakdownSchema }).optional() }).optional(),
  invariants: z.looseObject({
    ok: z.boolean(),
    violationCount: count,
    violations: z.array(z.looseObject({ kind: z.string(), obj: finite, cpu: finite, timePs: finite, detail: z.string() })),
  }),
});

const verdictSchema = z.looseObject({
  cpus: count,
  baseline: z.string(),
  comparisons: z.array(z.looseObject({ scheme: z.string(), throughputRatio: ratio, atomicsPerOp: ratio, transfersPerOp: ratio })),
  summary: z.array(z.string()),
  failedRuns: z.array(z.looseObject({ scheme: z.string(), cpus: count, violations: count })),
});

export const resultsDocumentSchema = z.looseObject({
  schemaVersion: z.literal(1),
  tool: z.literal("refsim"),
  codeVersion: z.string(),
  seed: z.int().min(0),
  spec: z.looseObject({
    name: z.string(),
    seed: z.int().min(0),
    cpus: z.array(z.int().min(1)),
    schemes: z.array(z.string()),
    namespaces: z.array(z.string()),
    layout: z.string(),
    duration: z.string(),
    warmup: z.string(),
    costs: z.record(z.string(), z.unknown()),
    options: z.record(z.string(), z.unknown()),
  }),
  machine: z.looseObject({ name: z.string(), summary: z.string(), source: z.string(), occupancy: z.string() }),
  workload: z.looseObject({ name: z.string(), description: z.string() }),
  verdict: verdictSchema,
  runs: z.array(runSchema).min(1, { message: "holds no runs" }),
});

/** Null when `doc` is a results document the report can read, else the first bad field and why. */
export function resultsDocumentProblem(doc: unknown): string | null {
  const r = resultsDocumentSchema.safeParse(doc);
  if (r.success) return null;
  const issue = r.error.issues[0];
  const path = issue.path.map(String).join(".");
  const missing = issue.code === "invalid_type" && /received undefined$/.test(issue.message);
  return `${path === "" ? "(document)" : path}: ${missing ? "missing" : issue.message}`;
}
