import type { RunResult } from "../shared/metrics/result.ts";
import { cpusText, factor, sig3, windowTooShortNote } from "./figures.ts";
import { namespaceShareGroup, type NamespaceShareGroup } from "./namespace-share-verdict.ts";
import { challengeGroups, type ChallengeEvidence, type ChallengeGroup } from "./challenge.ts";

export interface SchemeComparison {
  scheme: string;
  /** Throughput against clone-flags at the same CPU count (> 1 is better). */
  throughputRatio: number;
  atomicsPerOp: number;
  transfersPerOp: number;
}

/** The comparison of one machine and workload at its largest CPU count (means over seeds). */
export interface VerdictGroup {
  machine: string;
  workload: string;
  cpus: number;
  comparisons: SchemeComparison[];
}

/**
 * The answer to the 2006 challenge at the largest CPU count, for each machine and workload of
 * the experiment (a sweep's are never blended). `cpus` and `comparisons` are the first group's.
 */
export interface Verdict {
  cpus: number;
  baseline: "clone-flags";
  comparisons: SchemeComparison[];
  groups: VerdictGroup[];
  summary: string[];
  /**
   * Under a kernel path, per machine and workload: the share of fork latency in each scheme's own
   * namespace reference counting at the fewest CPUs, one socket's worth and all CPUs.
   */
  namespaceShares: NamespaceShareGroup[];
  /** Runs whose invariants failed: a failure of that scheme, listed so nobody misses it. */
  failedRuns: Array<{ scheme: string; cpus: number; violations: number }>;
  /**
   * The 2006 challenge (challenge.ts): container against clone-flags and nsproxy per machine and
   * workload, the ratio split into its parts; empty when container and either were not both run.
   */
  challenge: ChallengeGroup[];
  /** The counterfactual runs the split came from (kept so the report can recompute it). */
  challengeEvidence: ChallengeEvidence[];
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

function compareGroup(runs: readonly RunResult[]): VerdictGroup {
  const cpus = runs.reduce((m, r) => Math.max(m, r.cpus), 0);
  const atMax = runs.filter((r) => r.cpus === cpus);
  const mean = (scheme: string, pick: (r: RunResult) => number) => {
    const rs = atMax.filter((r) => r.scheme === scheme);
    return rs.length === 0 ? NaN : rs.reduce((s, r) => s + pick(r), 0) / rs.length;
  };
  const base = mean("clone-flags", (r) => r.throughputOpsPerSec);
  const comparisons = [...new Set(atMax.map((r) => r.scheme))].map((scheme) => ({
    scheme,
    throughputRatio: round4(mean(scheme, (r) => r.throughputOpsPerSec) / base),
    atomicsPerOp: round4(mean(scheme, (r) => r.atomicsPerOp)),
    transfersPerOp: round4(mean(scheme, (r) => r.transfersPerOp)),
  }));
  return { machine: runs[0]?.machine ?? "", workload: runs[0]?.workload ?? "", cpus, comparisons };
}

function groupSummary(g: VerdictGroup, throughput: (scheme: string) => number): string[] {
  const { cpus, comparisons } = g;
  const cf = comparisons.find((x) => x.scheme === "clone-flags");
  if (cf === undefined) return ["clone-flags was not run: no comparison with the 2006 baseline."];
  // (A measured window too short for one operation: ratios would be 0/0.)
  if (!(throughput("clone-flags") > 0)) return [`clone-flags completed no operation at ${cpusText(cpus)} in the measured window: no comparison (simulate longer).`];
  const lines: string[] = [];
  for (const name of ["container", "nsproxy"]) {
    const c = comparisons.find((x) => x.scheme === name);
    if (c === undefined || !Number.isFinite(c.throughputRatio)) continue;
    const r = c.throughputRatio;
    const traffic = `${sig3(c.atomicsPerOp)} vs ${sig3(cf.atomicsPerOp)} atomics/op, ${sig3(c.transfersPerOp)} vs ${sig3(cf.transfersPerOp)} line transfers/op`;
    if (r > 1.02) lines.push(`${name} beats clone-flags by ${factor(r)} in throughput at ${cpusText(cpus)} (${traffic}).`);
    else if (r < 0.98) lines.push(`${name} is slower than clone-flags at ${cpusText(cpus)}: ${factor(r)} its throughput (${traffic}).`);
    else lines.push(`${name} and clone-flags are within 2% in throughput at ${cpusText(cpus)} (${traffic}); the difference is in coherence traffic, not speed.`);
  }
  const ranked = comparisons.filter((c) => Number.isFinite(c.throughputRatio)).sort((a, b) => b.throughputRatio - a.throughputRatio);
  const best = ranked[0];
  const none = throughput("none");
  const vsNone = (scheme: string) => (Number.isFinite(none) && none > 0 ? `, ${factor(throughput(scheme) / none)} the no-namespace baseline's` : "");
  if (best.scheme === "none") {
    const counting = ranked.find((c) => c.scheme !== "none");
    lines.push(
      `Highest throughput at ${cpusText(cpus)}: the baseline without namespaces (none: no reference counting), ${factor(best.throughputRatio)} clone-flags` +
        (counting === undefined ? "." : `; the best scheme that counts is ${counting.scheme}, ${factor(counting.throughputRatio)} clone-flags${vsNone(counting.scheme)}.`),
    );
  } else {
    lines.push(`Highest throughput at ${cpusText(cpus)}: ${best.scheme}, ${factor(best.throughputRatio)} clone-flags${vsNone(best.scheme)}.`);
  }
  return lines;
}

export function verdict(runs: readonly RunResult[], evidence: readonly ChallengeEvidence[] = []): Verdict {
  const byGroup = new Map<string, RunResult[]>();
  for (const r of runs) {
    const k = `${r.machine}\u0000${r.workload}`;
    byGroup.set(k, [...(byGroup.get(k) ?? []), r]);
  }
  const groups = [...byGroup.values()].map((rs) => ({ runs: rs, group: compareGroup(rs) }));
  const failedRuns = runs.filter((r) => !r.invariants.ok).map((r) => ({ scheme: r.scheme, cpus: r.cpus, violations: r.invariants.violationCount }));
  const summary: string[] = [];
  const namespaceShares: NamespaceShareGroup[] = [];
  for (const { runs: rs, group } of groups) {
    const atMax = rs.filter((r) => r.cpus === group.cpus);
    const throughput = (scheme: string) => {
      const xs = atMax.filter((r) => r.scheme === scheme).map((r) => r.throughputOpsPerSec);
      return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const lines = groupSummary(group, throughput);
    const shares = namespaceShareGroup(rs);
    if (shares !== null) {
      namespaceShares.push(shares);
      lines.push(shares.summary.charAt(0).toUpperCase() + shares.summary.slice(1));
    }
    summary.push(...(groups.length > 1 ? lines.map((l) => `${group.machine}, ${group.workload}: ${l}`) : lines));
  }
  const challenge = challengeGroups(runs, evidence);
  for (const c of challenge) summary.push(`The 2006 challenge: ${c.summary}`);
  const brokenCounterfactuals = evidence.filter((e) => !e.invariantsOk).length;
  if (brokenCounterfactuals > 0) summary.push(`${brokenCounterfactuals} counterfactual run(s) of the 2006 split broke an invariant: their parts are suspect.`);
  const short = windowTooShortNote(runs);
  if (short !== null) summary.push(`${short.charAt(0).toUpperCase()}${short.slice(1)}.`);
  if (failedRuns.length > 0) summary.push(`${failedRuns.length} run(s) broke an invariant: see invariants in results.json.`);
  const first = groups[0]?.group ?? { cpus: 0, comparisons: [] };
  return {
    cpus: first.cpus,
    baseline: "clone-flags",
    comparisons: first.comparisons,
    groups: groups.map((g) => g.group),
    summary,
    namespaceShares,
    failedRuns,
    challenge,
    challengeEvidence: [...evidence],
  };
}
