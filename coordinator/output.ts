import { mkdirSync } from "node:fs";
import { KERNEL_PATH_LOCKS } from "../shared/kernel-path/setup.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { join } from "node:path";
import { machineOf } from "../shared/spec/resolve.ts";
import { isCountedOp, OP_KINDS } from "../shared/kernel/program.ts";
import { SOURCE_NAMES } from "../shared/coherence/source.ts";
import type { RunResult } from "../shared/metrics/result.ts";
import { BREAKDOWN_PARTS } from "../shared/metrics/attribution.ts";
import type { ExperimentResult } from "./experiment.ts";
import { verdict, type Verdict } from "./verdict.ts";
import type { ChallengeEvidence } from "./challenge.ts";

/** Version of the results.json layout; bump it when a field changes meaning or moves. */
export const RESULTS_SCHEMA_VERSION = 1;

/** results.json: see README "results.json" for each field. */
export interface ResultsDocument {
  schemaVersion: number;
  tool: "refsim";
  codeVersion: string;
  seed: number;
  spec: ExperimentResult["spec"];
  machine: { name: string; summary: string; source: string; occupancy: string };
  workload: { name: string; description: string };
  verdict: Verdict;
  runs: RunResult[];
  /**
   * Present only when the command stopped before every run finished (interrupted, or a failure):
   * how many of how many are here, and the command that runs the rest.
   */
  incomplete?: Incomplete;
}

export interface Incomplete {
  reason: string;
  done: number;
  total: number;
  continueWith: string;
}

/**
 * `evidence`: the 2006 challenge's counterfactual runs (challenge.ts), which `refsim run` makes
 * for a complete experiment; a sweep's document has none.
 */
export function resultsDocument(result: ExperimentResult, version: string, evidence: readonly ChallengeEvidence[] = []): ResultsDocument {
  const m = machineOf(result.spec);
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: "refsim",
    codeVersion: version,
    seed: result.spec.seed,
    spec: result.spec,
    machine: { name: m.name, summary: m.summary, source: m.source, occupancy: m.occupancySource },
    workload: { name: result.spec.workloadName, description: result.spec.workload.description },
    verdict: verdict(result.runs, evidence),
    runs: result.runs,
  };
}

const COUNTED_OPS = OP_KINDS.filter((_, i) => isCountedOp(i));

/** parallelCompute -> parallel_compute */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The CSV columns, in order, with how to read each from a run. */
const COLUMNS: Array<[string, (r: RunResult) => string | number | boolean | null]> = [
  ["scheme", (r) => r.scheme],
  ["machine", (r) => r.machine],
  ["cpus", (r) => r.cpus],
  ["workload", (r) => r.workload],
  ["seed", (r) => r.seed],
  ["measured_ps", (r) => r.measuredPs],
  ["total_ops", (r) => r.totalOps],
  ["throughput_ops_per_sec", (r) => r.throughputOpsPerSec],
  ["scaling_efficiency", (r) => r.scalingEfficiency],
  ...COUNTED_OPS.map((op): [string, (r: RunResult) => number] => [`ops_${op}`, (r) => r.operations[op] ?? 0]),
  ...COUNTED_OPS.flatMap((op): Array<[string, (r: RunResult) => number | null]> => [
    [`p50_ns_${op}`, (r) => r.latency[op]?.p50Ns ?? null],
    [`p99_ns_${op}`, (r) => r.latency[op]?.p99Ns ?? null],
    [`max_ns_${op}`, (r) => r.latency[op]?.maxNs ?? null],
  ]),
  ["atomics_total", (r) => r.atomics.total],
  ["atomics_shared", (r) => r.atomics.shared],
  ["atomics_per_op", (r) => r.atomicsPerOp],
  ["shared_atomics_per_op", (r) => r.sharedAtomicsPerOp],
  ...SOURCE_NAMES.map((s): [string, (r: RunResult) => number] => [`atomics_from_${s}`, (r) => r.atomics.bySource[s]]),
  ...SOURCE_NAMES.map((s): [string, (r: RunResult) => number] => [`accesses_from_${s}`, (r) => r.accessesBySource[s]]),
  ["transfers_smt", (r) => r.lineTransfers.smt],
  ["transfers_die", (r) => r.lineTransfers.die],
  ["transfers_package", (r) => r.lineTransfers.package],
  ["transfers_hop1", (r) => r.lineTransfers.hop1],
  ["transfers_hop2", (r) => r.lineTransfers.hop2],
  ["transfers_total", (r) => r.lineTransfers.total],
  ...(["smt", "die", "package", "hop1", "hop2"] as const).map((c): [string, (r: RunResult) => number] => [`transfer_share_${c}`, (r) => r.lineTransferShare[c]]),
  ["transfers_per_op", (r) => r.transfersPerOp],
  ["access_lines_per_access", (r) => r.access.linesPerAccess],
  ["access_line_accesses_per_access", (r) => r.access.lineAccessesPerAccess],
  ["access_transfers_per_access", (r) => r.access.transfersPerAccess],
  ["access_dram_per_access", (r) => r.access.dramPerAccess],
  ["dram_local", (r) => r.dramFetches.local],
  ["dram_remote", (r) => r.dramFetches.remote],
  ["invalidations", (r) => r.invalidations],
  ["coherence_stall_ps", (r) => r.coherenceStallPs],
  ["stall_share", (r) => r.stallShare],
  ["line_queue_wait_ps", (r) => r.lineQueueWaitPs],
  ["bytes_per_task", (r) => r.memory.bytesPerTask],
  ["ref_bytes_per_container", (r) => r.memory.refBytesPerContainer],
  ["fixed_bytes", (r) => r.memory.fixedBytes],
  ["live_objects_at_end", (r) => r.memory.liveObjectsAtEnd],
  ["awaiting_free_peak", (r) => r.memory.awaitingFreePeak],
  ["awaiting_free_at_end", (r) => r.memory.awaitingFreeAtEnd],
  ["engine_events", (r) => r.engineEvents],
  ["invariants_ok", (r) => r.invariants.ok],
  ["violation_count", (r) => r.invariants.violationCount],
  ["kernel", (r) => r.kernelPath?.profile ?? "refcounts-only"],
  ["namespace_ref_share_fork", (r) => r.kernelPath?.namespaceRefShare.fork ?? null],
  ["namespace_ref_share_exit", (r) => r.kernelPath?.namespaceRefShare.exit ?? null],
  ["lock_wait_share_fork", (r) => r.kernelPath?.lockWaitShare.fork ?? null],
  ["lock_wait_share_exit", (r) => r.kernelPath?.lockWaitShare.exit ?? null],
  ...(["fork", "exit"] as const).flatMap((op): Array<[string, (r: RunResult) => number | null]> => [
    [`${op}_mean_ns`, (r) => r.kernelPath?.latencyBreakdown[op].meanNs ?? null],
    ...BREAKDOWN_PARTS.map(([part]): [string, (r: RunResult) => number | null] => [`${op}_share_${snake(part)}`, (r) => r.kernelPath?.latencyBreakdown[op][part] ?? null]),
  ]),
  ...KERNEL_PATH_LOCKS.flatMap(([name, column]): Array<[string, (r: RunResult) => number | null]> => {
    const lock = (r: RunResult) => r.kernelPath?.locks.find((l) => l.name === name);
    return [
      [`lock_${column}_acquisitions`, (r) => lock(r)?.acquisitions ?? null],
      [`lock_${column}_contended_share`, (r) => lock(r)?.contendedShare ?? null],
      [`lock_${column}_wait_ns`, (r) => lock(r)?.waitNsPerAcquisition ?? null],
      [`lock_${column}_hold_ns`, (r) => lock(r)?.holdNsPerAcquisition ?? null],
      [`lock_${column}_wait_share`, (r) => lock(r)?.waitShareOfLatency ?? null],
      [`lock_${column}_wait_share_fork`, (r) => r.kernelPath?.latencyBreakdown.fork.lockWaitByLock[name] ?? null],
      [`lock_${column}_wait_share_exit`, (r) => r.kernelPath?.latencyBreakdown.exit.lockWaitByLock[name] ?? null],
    ];
  }),
];

/**
 * One CSV cell (RFC 4180): quoted when it holds a quote, comma, CR or LF. A text cell that a
 * spreadsheet would take for a formula (it starts with =, +, -, @, a tab or a CR: a workload's
 * name comes from the spec) gets a leading apostrophe, as OWASP's CSV-injection advice says;
 * numbers are written as they are.
 */
export function csvField(v: string | number | boolean | null): string {
  if (v === null) return "";
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Tidy CSV: one row per run, one column per metric; nothing that varies between identical runs. */
export function resultsCsv(runs: readonly RunResult[]): string {
  const lines = [COLUMNS.map(([name]) => name).join(",")];
  for (const r of runs) lines.push(COLUMNS.map(([, get]) => csvField(get(r))).join(","));
  return `${lines.join("\n")}\n`;
}

/** Writes results.json and results.csv, each whole or not at all (OutputError names the file). */
export function writeResults(dir: string, doc: ResultsDocument): { json: string; csv: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, "results.json");
  const csv = join(dir, "results.csv");
  writeFileAtomic(json, `${JSON.stringify(doc, null, 2)}\n`);
  writeFileAtomic(csv, resultsCsv(doc.runs));
  return { json, csv };
}
