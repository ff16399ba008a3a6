import type { RunResult } from "../../shared/metrics/result.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";
import { sig3, windowTooShort } from "../figures.ts";
import { peakAndFall } from "./fork-published.ts";

/** Schemes the fork-storm curve shows: the baseline, Linux's one nsproxy count, one count per kind. */
const FORK_SCHEMES = ["none", "nsproxy", "clone-flags"] as const;

export interface ForkStormPoint {
  machine: string;
  cpus: number;
  /** Forks + exits per second, by scheme. */
  throughput: Record<(typeof FORK_SCHEMES)[number], number>;
  /** Share of nsproxy's and clone-flags' fork latency in their own namespace reference counting. */
  nsproxyRefShare: number;
  cloneFlagsRefShare: number;
  /** Share of the baseline's fork latency spent waiting for kernel locks. */
  lockWaitShare: number;
  /** The lock the baseline's forks waited for longest. */
  topLock: string;
  /** Whether any scheme's window was shorter than one operation (windowTooShort): its figures are a transient. */
  windowTooShort: boolean;
}

/**
 * fork-storm under the linux-6 kernel path at each CPU count (model output: no published
 * fork-throughput curve of these machines was found, so nothing here is compared or fitted; see
 * fork-published.ts for the published process-creation curve beside the closest preset). 2 ms
 * with 300 us of warm-up: at 80 CPUs a fork takes about 160 us, and a window of 400 us saw only
 * the start-up herd (337k ops/s for none at 80 CPUs on xeon-80, against 489k over 1.7 ms).
 */
export function forkStormCurve(machine: string, cpus: readonly number[], duration = "2ms", warmup = "300us"): ForkStormPoint[] {
  const runs = planRuns(resolveSpec(parseSpec({ machine, cpus: [...cpus], schemes: [...FORK_SCHEMES], workload: "fork-storm", duration, warmup, kernel: "linux-6" }))).map((c) => simulate(c));
  const at = (scheme: string, n: number) => runs.find((r) => r.scheme === scheme && r.cpus === n) as RunResult;
  return cpus.map((n) => ({
    machine,
    cpus: n,
    throughput: { none: at("none", n).throughputOpsPerSec, nsproxy: at("nsproxy", n).throughputOpsPerSec, "clone-flags": at("clone-flags", n).throughputOpsPerSec },
    nsproxyRefShare: at("nsproxy", n).kernelPath?.namespaceRefShare.fork ?? NaN,
    cloneFlagsRefShare: at("clone-flags", n).kernelPath?.namespaceRefShare.fork ?? NaN,
    lockWaitShare: at("none", n).kernelPath?.lockWaitShare.fork ?? NaN,
    topLock: topLock(at("none", n)),
    windowTooShort: FORK_SCHEMES.some((s) => windowTooShort(at(s, n))),
  }));
}

function topLock(r: RunResult): string {
  const waits = Object.entries(r.kernelPath?.latencyBreakdown.fork.lockWaitByLock ?? {}).sort((a, b) => b[1] - a[1]);
  return waits.length > 0 && waits[0][1] > 0 ? waits[0][0] : "-";
}

/** Per machine and scheme: where throughput peaks and what is left of the peak at the most CPUs. */
export function forkStormPeaks(points: readonly ForkStormPoint[]): string[] {
  const lines: string[] = [];
  for (const machine of [...new Set(points.map((p) => p.machine))]) {
    const ps = points.filter((p) => p.machine === machine);
    const clauses = FORK_SCHEMES.map((scheme) => {
      const { peakCpus, peak, lastCpus, lastOverPeak } = peakAndFall(ps.map((p) => [p.cpus, p.throughput[scheme]] as const));
      const first = ps[0];
      const linear = (peak / first.throughput[scheme] / (peakCpus / first.cpus)) * 100;
      return `${scheme} peaks at ${peakCpus} CPUs (${sig3(peak)} ops/s, ${linear.toFixed(0)}% of linear from ${first.cpus}) and keeps ${(lastOverPeak * 100).toFixed(0)}% of it at ${lastCpus}`;
    });
    lines.push(`${machine}: ${clauses.join("; ")}.`);
  }
  return lines;
}

export function formatForkStorm(points: readonly ForkStormPoint[]): string {
  const header = ["machine", "cpus", "none kops/s", "nsproxy kops/s", "clone-flags kops/s", "nsproxy ref share", "clone-flags ref share", "lock wait share", "longest wait"];
  const rows = points.map((p) => [
    p.machine,
    String(p.cpus),
    (p.throughput.none / 1e3).toFixed(0),
    (p.throughput.nsproxy / 1e3).toFixed(0),
    (p.throughput["clone-flags"] / 1e3).toFixed(0),
    p.nsproxyRefShare.toFixed(4),
    p.cloneFlagsRefShare.toFixed(4),
    p.lockWaitShare.toFixed(3),
    p.topLock,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const short = points.filter((p) => p.windowTooShort).map((p) => `${p.machine} x ${p.cpus}`);
  const note = short.length === 0 ? [] : [`~ a fork took longer than the window at ${short.join(", ")}: those rows are a start-up transient`];
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map((r, i) => line(points[i].windowTooShort ? [...r.slice(0, 2), `${r[2]}~`, ...r.slice(3)] : r)), ...note].join("\n");
}
