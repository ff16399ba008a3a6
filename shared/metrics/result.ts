import type { OpKindName } from "../kernel/program.ts";
import type { SchemeName } from "../schemes/scheme.ts";
import type { LatencyBreakdown } from "./attribution.ts";

export interface LatencySummary {
  p50Ns: number;
  p99Ns: number;
  maxNs: number;
}

/** Counts by where a line came from: a local hit, another cache at a distance class, or DRAM. */
export interface SourceCounts {
  hit: number;
  smt: number;
  die: number;
  package: number;
  hop1: number;
  hop2: number;
  "dram-local": number;
  "dram-remote": number;
}

export interface TransferCounts {
  smt: number;
  die: number;
  package: number;
  hop1: number;
  hop2: number;
  total: number;
}

export interface ViolationRecord {
  kind: string;
  obj: number;
  cpu: number;
  timePs: number;
  detail: string;
}

/** One lock class's statistics over a run's measured window. */
export interface LockResult {
  name: string;
  kind: string;
  acquisitions: number;
  /** Acquisitions that left the fast path (the lock was held or others waited). */
  contended: number;
  contendedShare: number;
  waitNsPerAcquisition: number;
  holdNsPerAcquisition: number;
  /** Time CPUs waited for this lock, as a share of the latency of every operation measured. */
  waitShareOfLatency: number;
}

/** What the linux-6 kernel path adds to a run's result (absent under `kernel: refcounts-only`). */
export interface KernelPathResult {
  profile: string;
  locks: LockResult[];
  /**
   * Share of fork and of exit latency spent in the scheme's own steps: its namespace reference
   * counting (the rest is the kernel's path: locks, pids, creds, cgroups, and the fixed cost).
   */
  namespaceRefShare: { fork: number; exit: number };
  /** Share of fork and of exit latency spent waiting for any lock. */
  lockWaitShare: { fork: number; exit: number };
  /** Where fork's and exit's latency went, every class of time (metrics/attribution.ts); the shares sum to 1. */
  latencyBreakdown: { fork: LatencyBreakdown; exit: LatencyBreakdown };
  /**
   * The operations still in flight when the measured window ended (they completed afterwards, in
   * the drain, and are not counted), and how long after the window the last of them completed.
   * More of them than operations counted: one operation takes longer than the window.
   */
  drain: { operations: number; afterWindowNs: number };
}

/**
 * The `access` operations (reads and increments of per-container variables) of a run's measured
 * window: lines touched per access, the lines that came from another CPU's cache (transfers) and
 * from memory, per access, and every line access by source (shared/container-vars).
 */
export interface VarAccessResult {
  operations: number;
  /** Distinct lines an access touches. */
  linesPerAccess: number;
  /** Line accesses (loads, increments) an access makes. */
  lineAccessesPerAccess: number;
  transfersPerAccess: number;
  dramPerAccess: number;
  bySource: SourceCounts;
}

/** One run: one scheme, on one machine with one CPU count, under one workload and seed. */
export interface RunResult {
  scheme: SchemeName;
  machine: string;
  cpus: number;
  workload: string;
  seed: number;
  /** The measured window (duration minus warm-up), picoseconds. */
  measuredPs: number;
  operations: Partial<Record<OpKindName, number>>;
  totalOps: number;
  throughputOpsPerSec: number;
  latency: Partial<Record<OpKindName, LatencySummary>>;
  atomics: { total: number; shared: number; bySource: SourceCounts };
  atomicsPerOp: number;
  sharedAtomicsPerOp: number;
  accessesBySource: SourceCounts;
  access: VarAccessResult;
  lineTransfers: TransferCounts;
  /** Each class's share of the line transfers (0 with no transfer): where contended lines went. */
  lineTransferShare: Omit<TransferCounts, "total">;
  transfersPerOp: number;
  dramFetches: { local: number; remote: number };
  invalidations: number;
  /** Time CPUs waited for lines, picoseconds, and its share of their busy time. */
  coherenceStallPs: number;
  stallShare: number;
  /** Time requests queued behind a busy line at its home, picoseconds. */
  lineQueueWaitPs: number;
  memory: {
    bytesPerTask: number;
    /** Reference-count and bundle bytes of one container's objects. */
    refBytesPerContainer: number;
    /** Per-CPU structures the scheme keeps regardless of objects (refcache's delta caches). */
    fixedBytes: number;
    liveObjectsAtEnd: number;
    awaitingFreePeak: number;
    awaitingFreeAtEnd: number;
  };
  /** Throughput per CPU against the same scheme on one CPU (null without a 1-CPU run). */
  scalingEfficiency: number | null;
  engineEvents: number;
  invariants: { ok: boolean; violationCount: number; violations: ViolationRecord[] };
  kernelPath?: KernelPathResult;
}
