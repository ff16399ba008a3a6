import type { RunResult } from "../../shared/metrics/result.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";

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
}

/**
 * fork-storm under the linux-6 kernel path at each CPU count (model output: no published
 * fork-throughput curve of these machines is entered yet, so nothing here is compared or fitted).
 */
export function forkStormCurve(machine: string, cpus: readonly number[], duration = "400us", warmup = "100us"): ForkStormPoint[] {
  const runs = planRuns(resolveSpec(parseSpec({ machine, cpus: [...cpus], schemes: [...FORK_SCHEMES], workload: "fork-storm", duration, warmup, kernel: "linux-6" }))).map((c) => simulate(c));
  const at = (scheme: string, n: number) => runs.find((r) => r.scheme === scheme && r.cpus === n) as RunResult;
  return cpus.map((n) => ({
    machine,
    cpus: n,
    throughput: { none: at("none", n).throughputOpsPerSec, nsproxy: at("nsproxy", n).throughputOpsPerSec, "clone-flags": at("clone-flags", n).throughputOpsPerSec },
    nsproxyRefShare: at("nsproxy", n).kernelPath?.namespaceRefShare.fork ?? NaN,
    cloneFlagsRefShare: at("clone-flags", n).kernelPath?.namespaceRefShare.fork ?? NaN,
    lockWaitShare: at("none", n).kernelPath?.lockWaitShare.fork ?? NaN,
  }));
}

export function formatForkStorm(points: readonly ForkStormPoint[]): string {
  const header = ["machine", "cpus", "none kops/s", "nsproxy kops/s", "clone-flags kops/s", "nsproxy ref share", "clone-flags ref share", "lock wait share", "published"];
  const rows = points.map((p) => [
    p.machine,
    String(p.cpus),
    (p.throughput.none / 1e3).toFixed(0),
    (p.throughput.nsproxy / 1e3).toFixed(0),
    (p.throughput["clone-flags"] / 1e3).toFixed(0),
    p.nsproxyRefShare.toFixed(4),
    p.cloneFlagsRefShare.toFixed(4),
    p.lockWaitShare.toFixed(3),
    "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
