import { findMachinePreset } from "../shared/machine/presets.ts";
import type { RunResult } from "../shared/metrics/result.ts";
import type { LatencyBreakdown } from "../shared/metrics/attribution.ts";
import { cpusText, forkBreakdownOf, percent } from "./figures.ts";

/**
 * A scheme's namespace reference counting "matters" to fork when it is at least this share of a
 * fork's latency at some CPU count run (a threshold of the verdict's wording, not of the model).
 */
export const MATTERS_SHARE = 0.05;

/** Fewer forks than this at a CPU count and the sentence says its shares are rough. */
const FEW_FORKS = 20;

/** One CPU count the sentence names: the fewest CPUs run, the most within one socket, all. */
export interface SharePoint {
  cpus: number;
  /** "1 CPU", "one socket", "all CPUs": why this count is named. */
  role: string;
  /** Mean over seeds of the share of fork latency in the scheme's own steps, by scheme. */
  namespaceRefs: Record<string, number>;
  /** The same for lock waits, and the lock waited for longest. */
  lockWait: Record<string, number>;
  topLock: Record<string, string>;
  /** Forks measured at this count, by scheme (summed over seeds). */
  forks: Record<string, number>;
}

/** The answer to the seed's question for one machine and workload: how much of fork is the scheme's counting. */
export interface NamespaceShareGroup {
  machine: string;
  workload: string;
  points: SharePoint[];
  /** Largest share of nsproxy's fork latency in its namespace reference, over every CPU count run. */
  nsproxyMaxShare: number | null;
  summary: string;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The CPU counts to name: the smallest, the largest that fits in one socket, and the largest. */
function namedCounts(machine: string, counts: readonly number[]): Array<[number, string]> {
  const sorted = [...new Set(counts)].sort((a, b) => a - b);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const out: Array<[number, string]> = [[first, first === 1 ? "1 CPU" : "fewest CPUs"]];
  const preset = findMachinePreset(machine);
  if (preset !== undefined) {
    const s = preset.shape;
    const perSocket = s.diesPerSocket * s.coresPerDie * s.threadsPerCore;
    const socket = sorted.filter((c) => c <= perSocket).pop();
    if (socket !== undefined && socket !== first && socket !== last) out.push([socket, socket === perSocket ? "one socket" : "within one socket"]);
  }
  if (last !== first) out.push([last, "all CPUs"]);
  return out;
}

function point(runs: readonly RunResult[], cpus: number, role: string): SharePoint {
  const p: SharePoint = { cpus, role, namespaceRefs: {}, lockWait: {}, topLock: {}, forks: {} };
  const bySchemes = new Map<string, RunResult[]>();
  for (const r of runs) if (r.cpus === cpus && r.kernelPath !== undefined) bySchemes.set(r.scheme, [...(bySchemes.get(r.scheme) ?? []), r]);
  for (const [scheme, rs] of bySchemes) {
    const forks = rs.map(forkBreakdownOf).filter((b) => b !== undefined);
    p.forks[scheme] = forks.reduce((s, b) => s + b.operations, 0);
    if (forks.length === 0) continue;
    p.namespaceRefs[scheme] = mean(forks.map((b) => b.namespaceRefs));
    p.lockWait[scheme] = mean(forks.map((b) => b.lockWait));
    const waits = new Map<string, number>();
    for (const b of forks) for (const [name, share] of Object.entries(b.lockWaitByLock)) waits.set(name, (waits.get(name) ?? 0) + share);
    const top = [...waits].sort((a, b) => b[1] - a[1])[0];
    if (top !== undefined && top[1] > 0) p.topLock[scheme] = top[0];
  }
  return p;
}

/** "0.061% at 1 CPU, 0.34% at 10 CPUs (one socket) and 0.079% at 80 CPUs (all CPUs)" */
function listShares(points: readonly SharePoint[], pick: (p: SharePoint) => number | undefined): string {
  const parts = points.map((p) => {
    const v = pick(p);
    const at = p.role === "1 CPU" ? "at 1 CPU" : `at ${p.cpus} CPUs (${p.role})`;
    return `${v === undefined ? "no fork measured" : percent(v)} ${at}`;
  });
  return parts.length <= 1 ? parts.join("") : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/**
 * The sentence for one machine and workload under a kernel path: whether nsproxy's one reference
 * (and clone-flags' one per kind) matters once the rest of fork is modelled, from the measured
 * shares of fork latency at the fewest CPUs, one socket's worth and all CPUs. Null when no run
 * of the group has the kernel path or forks.
 */
export function namespaceShareGroup(runs: readonly RunResult[]): NamespaceShareGroup | null {
  const withPath = runs.filter((r) => forkBreakdownOf(r) !== undefined);
  if (withPath.length === 0) return null;
  const machine = runs[0].machine;
  const workload = runs[0].workload;
  const points = namedCounts(machine, withPath.map((r) => r.cpus)).map(([cpus, role]) => point(runs, cpus, role));
  const all = withPath.filter((r) => r.scheme === "nsproxy").map((r) => (forkBreakdownOf(r) as LatencyBreakdown).namespaceRefs);
  const nsproxyMaxShare = all.length > 0 ? Math.max(...all) : null;
  const schemes = [...new Set(withPath.map((r) => r.scheme))];
  const last = points[points.length - 1];
  const lockAtLast = (scheme: string) => {
    const w = last.lockWait[scheme];
    if (w === undefined) return "";
    const top = last.topLock[scheme];
    return `, while lock waits are ${percent(w)} of ${scheme}'s fork latency at ${cpusText(last.cpus)}${top === undefined ? "" : ` (${top} the longest)`}`;
  };
  const parts: string[] = [];
  const lead = `under kernel ${withPath[0].kernelPath!.profile}`;
  if (nsproxyMaxShare !== null) {
    const matters = nsproxyMaxShare >= MATTERS_SHARE;
    parts.push(
      `${lead}, nsproxy's one namespace reference is ${listShares(points, (p) => p.namespaceRefs.nsproxy)} of a fork's latency${lockAtLast("nsproxy")}: ` +
        (matters
          ? `it matters (at least ${percent(MATTERS_SHARE)} of fork at some CPU count, up to ${percent(nsproxyMaxShare)}) even with the rest of fork modelled.`
          : `once the rest of fork is modelled it does not matter (under ${percent(MATTERS_SHARE)} at every CPU count run, at most ${percent(nsproxyMaxShare)}).`),
    );
  }
  const others = schemes.filter((s) => s !== "nsproxy" && s !== "none");
  if (others.length > 0) {
    const clauses = others.map((s) => `${s} ${listShares(points, (p) => p.namespaceRefs[s])}`);
    parts.push(`${nsproxyMaxShare === null ? `${lead}, the` : "The"} schemes' own reference counting takes: ${clauses.join("; ")} of fork latency.`);
  }
  if (parts.length === 0) {
    const none = points.map((p) => p.lockWait.none).filter((x) => x !== undefined);
    if (none.length === 0) return null;
    parts.push(`${lead}, no scheme counts references; lock waits are ${listShares(points, (p) => p.lockWait.none)} of none's fork latency.`);
  }
  const thin = points.filter((p) => Object.values(p.forks).some((n) => n < FEW_FORKS));
  if (thin.length > 0) {
    const counts = thin.map((p) => p.cpus);
    parts.push(`(Fewer than ${FEW_FORKS} forks measured at ${counts.join(", ")} ${counts.length === 1 && counts[0] === 1 ? "CPU" : "CPUs"} for some scheme: those shares are rough; give a longer --duration.)`);
  }
  return { machine, workload, points, nsproxyMaxShare, summary: parts.join(" ") };
}
