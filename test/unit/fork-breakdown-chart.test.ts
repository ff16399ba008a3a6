import { describe, expect, it } from "vitest";
import { forkBreakdownFigure, forkBreakdownRows, forkBreakdownSpec } from "../../coordinator/report/fork-breakdown-chart.ts";
import { renderSvgs } from "../../coordinator/report/render-charts.ts";
import { renderReport } from "../../coordinator/report/write-report.ts";
import { resultsDocument } from "../../coordinator/output.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { simulate } from "../../shared/simulation.ts";

const SPEC = { machine: "small-4", workload: "fork-storm", duration: "60us", warmup: "10us", cpus: [1, 4], schemes: ["none", "nsproxy"] };

function experiment(doc: Record<string, unknown>) {
  const spec = resolveSpec(parseSpec(doc));
  return { spec, runs: planRuns(spec).map((c) => simulate(c)) };
}

describe("the chart of where a fork's time goes", () => {
  const linux = experiment(SPEC);

  it("has a bar per scheme and CPU count whose segments are the run's breakdown: they add up to the whole fork", () => {
    const rows = forkBreakdownRows(linux.runs);
    const bars = new Map<string, typeof rows>();
    for (const r of rows) bars.set(`${r.scheme}@${r.cpus}`, [...(bars.get(`${r.scheme}@${r.cpus}`) ?? []), r]);
    expect([...bars.keys()]).toEqual(["none@1", "none@4", "nsproxy@1", "nsproxy@4"]);
    for (const [key, segments] of bars) {
      const run = linux.runs.find((r) => `${r.scheme}@${r.cpus}` === key)!;
      const b = run.kernelPath!.latencyBreakdown.fork;
      expect(Math.abs(segments.reduce((s, x) => s + x.share, 0) - 1)).toBeLessThan(1e-5);
      expect(Math.abs(segments.reduce((s, x) => s + x.nsPerFork, 0) - b.meanNs)).toBeLessThan(0.01 * b.meanNs);
      expect(segments.find((x) => x.part === "namespace references (scheme)")!.share).toBe(b.namespaceRefs);
      expect(segments.find((x) => x.part === "waiting for tasklist_lock")!.share).toBe(b.lockWaitByLock.tasklist_lock);
      expect(segments.every((x) => x.forks === b.operations && x.forkMeanNs === b.meanNs)).toBe(true);
    }
    expect(rows.filter((r) => r.scheme === "none" && r.part === "namespace references (scheme)").every((r) => r.share === 0)).toBe(true);
  });

  it("renders to SVG with a panel per scheme, and the report carries it; a refcounts-only report has none", async () => {
    const rows = forkBreakdownRows(linux.runs);
    const spec = forkBreakdownSpec(rows) as { data: { values: unknown[] }; facet: { column: { field: string } } };
    expect(spec.data.values).toHaveLength(rows.length);
    expect(spec.facet.column.field).toBe("scheme");
    const [svg] = await renderSvgs([forkBreakdownSpec(rows)]);
    expect(svg).toContain("nsproxy");
    expect(svg).toContain("waiting for pidmap_lock");
    expect(forkBreakdownFigure(rows, svg)).toContain('data-chart="fork-breakdown"');
    const html = await renderReport(resultsDocument({ spec: linux.spec, runs: linux.runs }, "test"));
    expect(html).toContain('id="chart-fork-breakdown"');

    const old = experiment({ ...SPEC, kernel: "refcounts-only" });
    expect(forkBreakdownRows(old.runs)).toEqual([]);
    expect(forkBreakdownFigure([], null)).toBe("");
  });
});
