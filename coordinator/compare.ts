import type { RunResult } from "../shared/metrics/result.ts";
import { mean, sampleStdDev, tQuantile95 } from "../shared/metrics/stats.ts";
import type { ResultsDocument } from "./output.ts";
import { cpusText } from "./figures.ts";
import { sig3 } from "./table.ts";

/** One scheme at one CPU count (of one machine and workload), as two result folders hold it. */
export interface Comparison {
  machine: string;
  workload: string;
  scheme: string;
  cpus: number;
  a: number[];
  b: number[];
  /** Mean throughput of B over A's (> 1: B is faster). */
  ratio: number;
  /** 95% interval of the difference B - A as a share of A's mean (Welch), when both have 2+ seeds. */
  interval: { low: number; high: number } | null;
}

const key = (r: RunResult) => `${r.machine}\u0000${r.workload}\u0000${r.scheme}\u0000${r.cpus}`;

function group(runs: readonly RunResult[]): Map<string, RunResult[]> {
  const out = new Map<string, RunResult[]>();
  for (const r of runs) out.set(key(r), [...(out.get(key(r)) ?? []), r]);
  return out;
}

/** Welch's 95% interval of mean(b) - mean(a), or null below two values on either side. */
export function differenceInterval(a: readonly number[], b: readonly number[]): { low: number; high: number } | null {
  if (a.length < 2 || b.length < 2) return null;
  const va = sampleStdDev(a) ** 2 / a.length;
  const vb = sampleStdDev(b) ** 2 / b.length;
  const se = Math.sqrt(va + vb);
  const df = se === 0 ? a.length + b.length - 2 : (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const d = mean(b) - mean(a);
  const h = tQuantile95(Math.max(1, Math.floor(df))) * se;
  return { low: d - h, high: d + h };
}

/** Every scheme and CPU count both documents ran, in A's order, and what only one of them has. */
export function compareDocuments(a: ResultsDocument, b: ResultsDocument): { rows: Comparison[]; onlyA: string[]; onlyB: string[] } {
  const ga = group(a.runs);
  const gb = group(b.runs);
  const rows: Comparison[] = [];
  const label = (rs: RunResult[]) => `${rs[0].scheme} @ ${cpusText(rs[0].cpus)} (${rs[0].machine}, ${rs[0].workload})`;
  for (const [k, ra] of ga) {
    const rb = gb.get(k);
    if (rb === undefined) continue;
    const xa = ra.map((r) => r.throughputOpsPerSec);
    const xb = rb.map((r) => r.throughputOpsPerSec);
    const ma = mean(xa);
    const d = differenceInterval(xa, xb);
    rows.push({
      machine: ra[0].machine,
      workload: ra[0].workload,
      scheme: ra[0].scheme,
      cpus: ra[0].cpus,
      a: xa,
      b: xb,
      ratio: ma === 0 ? NaN : mean(xb) / ma,
      interval: d === null || ma === 0 ? null : { low: d.low / ma, high: d.high / ma },
    });
  }
  return {
    rows,
    onlyA: [...ga].filter(([k]) => !gb.has(k)).map(([, rs]) => label(rs)),
    onlyB: [...gb].filter(([k]) => !ga.has(k)).map(([, rs]) => label(rs)),
  };
}

function pct(x: number): string {
  return `${x >= 0 ? "+" : ""}${sig3(x * 100)}%`;
}

/** The comparison as a terminal table: throughput of A and B, the change, and its 95% interval. */
export function formatComparison(c: ReturnType<typeof compareDocuments>, names: { a: string; b: string }): string {
  const mixed = new Set(c.rows.map((r) => `${r.machine}|${r.workload}`)).size > 1;
  const header = [...(mixed ? ["machine", "workload"] : []), "scheme", "cpus", "A ops/s", "B ops/s", "B vs A", "95% interval", "seeds"];
  const rows = c.rows.map((r) => [
    ...(mixed ? [r.machine, r.workload] : []),
    r.scheme,
    String(r.cpus),
    sig3(mean(r.a)),
    sig3(mean(r.b)),
    Number.isNaN(r.ratio) ? "-" : pct(r.ratio - 1),
    r.interval === null ? "(needs 2+ seeds)" : `${pct(r.interval.low)} .. ${pct(r.interval.high)}${r.interval.low > 0 || r.interval.high < 0 ? " *" : ""}`,
    `${r.a.length}/${r.b.length}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const text = (cells: string[]) => cells.map((x, i) => (i < header.length - 6 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join("  ");
  const lines = [`A: ${names.a}`, `B: ${names.b}`, "", text(header), text(widths.map((w) => "-".repeat(w))), ...rows.map(text)];
  if (c.rows.some((r) => r.interval !== null)) lines.push("", "* the 95% interval of the change (Welch, over seeds) excludes zero");
  if (c.onlyA.length > 0) lines.push("", `only in A: ${c.onlyA.join("; ")}`);
  if (c.onlyB.length > 0) lines.push("", `only in B: ${c.onlyB.join("; ")}`);
  if (c.rows.length === 0) lines.push("", "A and B have no scheme and CPU count in common.");
  return lines.join("\n");
}
