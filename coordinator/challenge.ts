import type { RunResult } from "../shared/metrics/result.ts";
import { withChaseOf, type ChaseModel } from "../shared/schemes/chase.ts";
import { SCHEMES } from "../shared/schemes/index.ts";
import { planRuns, type ResolvedSpec, type RunConfig } from "../shared/spec/resolve.ts";
import { simulate } from "../shared/simulation.ts";
import { cpusText, factor } from "./figures.ts";

/**
 * The 2006 challenge: the container model must do better than the clone model "or it is
 * gratuitous change". For each machine and workload, at its largest CPU count, refsim compares
 * `container` (the proposal, idealised) with `clone-flags` (the clone model) and with `nsproxy`
 * (what Linux did instead), and splits the throughput ratio into the proposal's three parts with
 * counterfactual runs of `container`, changing one part at a time towards the other model:
 *   L = container with the other model's variable layout (its native one: scattered in the
 *       namespace structures; the same as container's when the spec fixes one layout for all)
 *   P = L with the other model's pointer chase as well (shared/schemes/chase.ts)
 * With T the throughput:
 *   ratio              = T(container) / T(other)
 *   variables' layout  = T(container) / T(L)
 *   pointer chase      = T(L) / T(P)
 *   reference count    = T(P) / T(other)
 * so ratio = layout x pointer chase x reference count exactly. The reference count part is
 * everything the two reference rules do differently (the counts a fork, an exit, an unshare or a
 * setns changes, and the objects they create and free); the pointer chase is the lines an access
 * goes through to reach the variables (thread_info's econtainer against task_struct's pointers,
 * and nsproxy's bundle); the layout is where the variables sit once reached (packed in one area,
 * or scattered over the namespace structures). The split depends on the order the parts are
 * changed in; this one goes from the variables outwards.
 */

export const CHALLENGE_VERSUS: readonly ChaseModel[] = ["clone-flags", "nsproxy"];

/** Which counterfactual: `layout` is L, `chase` is P (see above). */
export type ChallengeStep = "layout" | "chase";

/** One counterfactual run's outcome, for the comparison with `versus`. */
export interface ChallengeEvidence {
  machine: string;
  workload: string;
  cpus: number;
  seed: number;
  versus: ChaseModel;
  step: ChallengeStep;
  throughputOpsPerSec: number;
  invariantsOk: boolean;
}

export type ChallengePartName = "referenceCount" | "pointerChase" | "layout";

export const CHALLENGE_PART_LABELS: Record<ChallengePartName, string> = {
  layout: "the per-container variables' layout",
  pointerChase: "the pointer chase",
  referenceCount: "the reference count",
};

/** The answer for one machine, workload and comparison. */
export interface ChallengeGroup {
  machine: string;
  workload: string;
  cpus: number;
  versus: ChaseModel;
  /** T(container) / T(versus): above 1 the container model does better. */
  ratio: number;
  /** Factors whose product is `ratio`. */
  parts: Record<ChallengePartName, number>;
  /**
   * How far a throughput of these runs moves from where the measured window ends alone: the
   * slowest operation's median latency over the window (a CPU finishes that operation just
   * before or just after the end). Ratios and parts closer to 1 than this are not told apart.
   */
  noise: number;
  summary: string;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

function groupKey(machine: string, workload: string): string {
  return `${machine}\u0000${workload}`;
}

/** The largest CPU count at which container and `versus` both ran, per machine and workload. */
function comparable(runs: readonly RunResult[], versus: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of runs) {
    if (r.scheme !== "container") continue;
    if (!runs.some((x) => x.scheme === versus && x.cpus === r.cpus && x.machine === r.machine && x.workload === r.workload)) continue;
    const k = groupKey(r.machine, r.workload);
    out.set(k, Math.max(out.get(k) ?? 0, r.cpus));
  }
  return out;
}

/** The layout the other model's runs used: its native one is scattered (VarHome `namespaces`). */
function otherLayout(config: RunConfig): RunConfig["vars"]["layout"] {
  return config.vars.layout === "native" ? "scattered" : config.vars.layout;
}

/**
 * Runs the counterfactuals an experiment's verdict needs (in this process): for each machine and
 * workload where container and clone-flags (or nsproxy) ran, at the largest CPU count both ran
 * and with each seed the container run had, L and P of the comparison (L is shared by both
 * comparisons and run once).
 */
export function challengeEvidence(spec: ResolvedSpec, runs: readonly RunResult[]): ChallengeEvidence[] {
  const out: ChallengeEvidence[] = [];
  const plan = planRuns(spec);
  const layoutRuns = new Map<string, RunResult>();
  for (const versus of CHALLENGE_VERSUS) {
    const at = comparable(runs, versus);
    for (const r of runs) {
      if (r.scheme !== "container" || at.get(groupKey(r.machine, r.workload)) !== r.cpus) continue;
      const config = plan.find((c) => c.scheme === "container" && c.cpuCount === r.cpus && c.seed === r.seed && c.machine.name === r.machine && c.workload.name === r.workload);
      if (config === undefined) continue;
      const base = { machine: r.machine, workload: r.workload, cpus: r.cpus, seed: r.seed, versus };
      const layoutConfig: RunConfig = { ...config, vars: { ...config.vars, layout: otherLayout(config) } };
      const lk = `${groupKey(r.machine, r.workload)}\u0000${r.cpus}\u0000${r.seed}`;
      let l = layoutRuns.get(lk);
      if (l === undefined) {
        // The native container layout is packed: the same as the other's only when the spec fixes one.
        l = config.vars.layout === "native" ? simulate(layoutConfig) : r;
        layoutRuns.set(lk, l);
      }
      out.push({ ...base, step: "layout", throughputOpsPerSec: l.throughputOpsPerSec, invariantsOk: l.invariants.ok });
      const p = simulate(layoutConfig, { schemeOverride: withChaseOf(SCHEMES.container, versus) });
      out.push({ ...base, step: "chase", throughputOpsPerSec: p.throughputOpsPerSec, invariantsOk: p.invariants.ok });
    }
  }
  return out;
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Within 2% counts as no difference (as the rest of the verdict reads ratios). */
const SAME = 0.02;

function partsText(p: ChallengeGroup["parts"]): string {
  return (["layout", "pointerChase", "referenceCount"] as const).map((n) => `${CHALLENGE_PART_LABELS[n]} ${factor(p[n])}`).join(", ");
}

/** Whether a factor is told apart from 1: beyond 2% and beyond the window-edge noise. */
function differs(f: number, noise: number): boolean {
  return Math.abs(Math.log(f)) > Math.log(1 + Math.max(SAME, noise));
}

function groupSummary(g: Omit<ChallengeGroup, "summary">): string {
  const head = `container vs ${g.versus} (${g.workload} on ${g.machine}, ${cpusText(g.cpus)})`;
  const parts = partsText(g.parts);
  const noisy = g.noise > SAME ? `; the window's end alone moves these runs' throughput by up to ${(g.noise * 100).toFixed(0)}%, so simulate longer to tell smaller factors apart` : "";
  if (!differs(g.ratio, g.noise)) {
    if (g.noise > SAME) return `${head}: not told apart, ${factor(g.ratio)} the throughput (${parts}${noisy}).`;
    return `${head}: no better, ${factor(g.ratio)} the throughput (${parts}): by the 2006 test, gratuitous change here.`;
  }
  const main = (["referenceCount", "pointerChase", "layout"] as const).reduce((m, n) => (Math.abs(Math.log(g.parts[n])) > Math.abs(Math.log(g.parts[m])) ? n : m));
  const verb = g.ratio > 1 ? "better" : "worse";
  return `${head}: ${verb}, ${factor(g.ratio)} the throughput, mostly because of ${CHALLENGE_PART_LABELS[main]} (${parts}${noisy}).`;
}

/** The slowest operation's median latency over the measured window (see ChallengeGroup.noise). */
function edgeNoise(r: RunResult): number {
  const slowest = Object.values(r.latency).reduce((m, l) => Math.max(m, l?.p50Ns ?? 0), 0);
  return r.measuredPs > 0 ? (slowest * 1000) / r.measuredPs : Infinity;
}

/** The challenge's answer from the runs and their counterfactuals (pure: `refsim report` recomputes it). */
export function challengeGroups(runs: readonly RunResult[], evidence: readonly ChallengeEvidence[]): ChallengeGroup[] {
  const out: ChallengeGroup[] = [];
  const seen = new Set<string>();
  for (const e of evidence) {
    const k = `${groupKey(e.machine, e.workload)}\u0000${e.versus}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const same = (r: { machine: string; workload: string; cpus: number }) => r.machine === e.machine && r.workload === e.workload && r.cpus === e.cpus;
    const t = (scheme: string) => mean(runs.filter((r) => same(r) && r.scheme === scheme).map((r) => r.throughputOpsPerSec));
    const cf = (step: ChallengeStep) => mean(evidence.filter((x) => same(x) && x.versus === e.versus && x.step === step).map((x) => x.throughputOpsPerSec));
    const [tc, tx, tl, tp] = [t("container"), t(e.versus), cf("layout"), cf("chase")];
    if (!(tc > 0 && tx > 0 && tl > 0 && tp > 0)) continue;
    const g = {
      machine: e.machine,
      workload: e.workload,
      cpus: e.cpus,
      versus: e.versus,
      ratio: round4(tc / tx),
      parts: { layout: round4(tc / tl), pointerChase: round4(tl / tp), referenceCount: round4(tp / tx) },
      noise: round4(Math.max(...runs.filter((r) => same(r) && (r.scheme === "container" || r.scheme === e.versus)).map(edgeNoise))),
    };
    out.push({ ...g, summary: groupSummary(g) });
  }
  return out;
}
