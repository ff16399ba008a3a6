import type { RunResult } from "../shared/metrics/result.ts";
import { mean } from "../shared/metrics/stats.ts";
import { cpusText } from "./figures.ts";
import { UsageError } from "./usage-error.ts";

/**
 * Thresholds a run must meet, k6-style: `<scheme>.<metric>@<cpus> <op> <number>`, such as
 * `percpu.eff@64 >= 0.95` or `nsproxy.vs-clone-flags@64 > 1.5`. With several seeds the metric is
 * the mean over them. A failed threshold fails the command (exit code 1) after the results are
 * written.
 */
export interface Assertion {
  text: string;
  scheme: string;
  metric: MetricName;
  cpus: number;
  op: (typeof OPS)[number];
  bound: number;
}

const METRICS = {
  ops: (r: RunResult) => r.throughputOpsPerSec,
  eff: (r: RunResult) => r.scalingEfficiency,
  atomics: (r: RunResult) => r.atomicsPerOp,
  xfers: (r: RunResult) => r.transfersPerOp,
  "total-ops": (r: RunResult) => r.totalOps,
} as const;
type MetricName = keyof typeof METRICS | "vs-clone-flags" | "vs-none";

const METRIC_NAMES: readonly string[] = [...Object.keys(METRICS), "vs-clone-flags", "vs-none"];
const OPS = [">=", "<=", ">", "<", "=="] as const;
const SYNTAX = "<scheme>.<metric>@<cpus> <op> <number>, e.g. 'percpu.eff@64 >= 0.95'";

/** Parses one threshold; UsageError naming what is wrong. */
export function parseAssertion(text: string): Assertion {
  const m = /^\s*([a-z-]+)\.([a-z-]+)@(\d+)\s*(>=|<=|==|>|<)\s*([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*$/i.exec(text);
  if (m === null) throw new UsageError(`--assert '${text}': expected ${SYNTAX}`);
  if (!METRIC_NAMES.includes(m[2])) throw new UsageError(`--assert '${text}': unknown metric "${m[2]}" (metrics: ${METRIC_NAMES.join(", ")})`);
  return { text: text.trim(), scheme: m[1], metric: m[2] as MetricName, cpus: Number(m[3]), op: m[4] as Assertion["op"], bound: Number(m[5]) };
}

function value(a: Assertion, runs: readonly RunResult[]): number | null {
  const at = (scheme: string) => runs.filter((r) => r.scheme === scheme && r.cpus === a.cpus);
  const avg = (rs: readonly RunResult[], pick: (r: RunResult) => number | null) => {
    const vs = rs.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
    return vs.length === 0 ? null : mean(vs);
  };
  const own = at(a.scheme);
  if (a.metric === "vs-clone-flags" || a.metric === "vs-none") {
    const base = avg(at(a.metric.slice(3)), METRICS.ops);
    const mine = avg(own, METRICS.ops);
    return base === null || mine === null || base === 0 ? null : mine / base;
  }
  return avg(own, METRICS[a.metric]);
}

function holds(op: Assertion["op"], v: number, bound: number): boolean {
  switch (op) {
    case ">=":
      return v >= bound;
    case "<=":
      return v <= bound;
    case ">":
      return v > bound;
    case "<":
      return v < bound;
    case "==":
      return v === bound;
  }
}

export interface AssertionOutcome {
  assertion: Assertion;
  value: number | null;
  ok: boolean;
}

/** Checks every threshold against the runs; one with no run to measure fails. */
export function checkAssertions(assertions: readonly Assertion[], runs: readonly RunResult[]): AssertionOutcome[] {
  return assertions.map((assertion) => {
    const v = value(assertion, runs);
    return { assertion, value: v, ok: v !== null && holds(assertion.op, v, assertion.bound) };
  });
}

/** The k6-style lines: a tick or a cross, the threshold, and the value measured. */
export function formatAssertions(outcomes: readonly AssertionOutcome[]): string {
  const width = Math.max(...outcomes.map((o) => o.assertion.text.length));
  return [
    "Thresholds:",
    ...outcomes.map((o) => `  ${o.ok ? "✓" : "✗"} ${o.assertion.text.padEnd(width)}  ${o.value === null ? `no ${o.assertion.scheme} run at ${cpusText(o.assertion.cpus)}` : Number(o.value.toPrecision(3))}`),
  ].join("\n");
}

/** A run broke an invariant or missed a threshold: the results are written; exit code 1. */
export class GateFailedError extends Error {
  override readonly name = "GateFailedError";
}

/**
 * What fails a command whose results are written: runs that broke an invariant, and thresholds
 * not met (printed k6-style unless quiet). Throws GateFailedError saying which.
 */
export function gate(runs: readonly RunResult[], assertions: readonly Assertion[], print: (text: string) => void): void {
  const problems: string[] = [];
  const broken = runs.filter((r) => !r.invariants.ok);
  if (broken.length > 0) {
    const which = broken.slice(0, 5).map((r) => `${r.scheme} @ ${cpusText(r.cpus)}`).join(", ");
    problems.push(`${broken.length} run(s) broke an invariant (${which}${broken.length > 5 ? ", ..." : ""}; see invariants in results.json)`);
  }
  if (assertions.length > 0) {
    const outcomes = checkAssertions(assertions, runs);
    print(formatAssertions(outcomes));
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length > 0) problems.push(`${failed.length} of ${outcomes.length} threshold(s) not met: ${failed.map((o) => o.assertion.text).join("; ")}`);
  }
  if (problems.length > 0) throw new GateFailedError(problems.join("\nrefsim: "));
}
