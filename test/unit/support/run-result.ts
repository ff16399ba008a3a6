import type { RunResult } from "../../../shared/metrics/result.ts";
import type { SchemeName } from "../../../shared/schemes/scheme.ts";

const SOURCES = { hit: 0, smt: 0, die: 0, package: 0, hop1: 0, hop2: 0, "dram-local": 0, "dram-remote": 0 };

/**
 * A made-up run result: a small-4 fork storm of 200 operations in 1 ms with plausible zeros
 * everywhere but what a test sets (tests of the figures computed from results).
 */
export function runResult(fields: Partial<RunResult> & { scheme: SchemeName; cpus: number }): RunResult {
  return {
    machine: "small-4",
    workload: "fork-storm",
    seed: 1,
    measuredPs: 1_000_000_000,
    operations: { fork: 100, exit: 100 },
    totalOps: 200,
    throughputOpsPerSec: 200_000,
    latency: { fork: { p50Ns: 15_000, p99Ns: 16_000, maxNs: 20_000 }, exit: { p50Ns: 8_000, p99Ns: 9_000, maxNs: 10_000 } },
    atomics: { total: 0, shared: 0, bySource: { ...SOURCES } },
    atomicsPerOp: 0,
    sharedAtomicsPerOp: 0,
    accessesBySource: { ...SOURCES },
    access: { operations: 0, linesPerAccess: 0, lineAccessesPerAccess: 0, transfersPerAccess: 0, dramPerAccess: 0, bySource: { ...SOURCES } },
    lineTransfers: { smt: 0, die: 0, package: 0, hop1: 0, hop2: 0, total: 0 },
    lineTransferShare: { smt: 0, die: 0, package: 0, hop1: 0, hop2: 0 },
    transfersPerOp: 0,
    dramFetches: { local: 0, remote: 0 },
    invalidations: 0,
    coherenceStallPs: 0,
    stallShare: 0,
    lineQueueWaitPs: 0,
    memory: { bytesPerTask: 8, refBytesPerContainer: 36, fixedBytes: 0, liveObjectsAtEnd: 0, awaitingFreePeak: 0, awaitingFreeAtEnd: 0 },
    scalingEfficiency: 1,
    engineEvents: 0,
    invariants: { ok: true, violationCount: 0, violations: [] },
    ...fields,
  };
}
