import { describe, expect, it } from "vitest";
import { challengeEvidence } from "../../coordinator/challenge.ts";
import { runExperiment } from "../../coordinator/experiment.ts";
import { resultsDocument } from "../../coordinator/output.ts";
import { reportCharts } from "../../coordinator/report/report-data.ts";
import { renderSvgs } from "../../coordinator/report/render-charts.ts";
import { renderReport } from "../../coordinator/report/write-report.ts";
import { verdict } from "../../coordinator/verdict.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { resolveSpec } from "../../shared/spec/resolve.ts";
import { runResult as run } from "./support/run-result.ts";

// The report rendered by vega (seconds per test: kept apart from the tests of the figures the
// charts draw, report-data and challenge, which the mutation run repeats for every mutant).

describe("rendering", () => {
  it("vega renders every chart to SVG with each scheme's name as legend text", async () => {
    const schemes = ["none", "clone-flags", "nsproxy"] as const;
    const runs = schemes.flatMap((scheme) => [1, 2, 4].flatMap((cpus) => [1, 2].map((seed) => run({ scheme, cpus, seed, throughputOpsPerSec: 1000 * cpus + seed }))));
    const svgs = await renderSvgs(reportCharts(runs).map((c) => c.spec));
    expect(svgs).toHaveLength(6);
    for (const svg of svgs) {
      expect(svg.startsWith("<svg")).toBe(true);
      for (const scheme of schemes) expect(svg).toContain(`>${scheme}</text>`);
      expect(svg).toContain(">CPUs (log2 scale)</text>");
    }
  });

  it("results.json's verdict carries the split and its evidence, and the report draws the chart from them", async () => {
    const spec = resolveSpec(parseSpec({ machine: "small-4", cpus: [2], schemes: ["clone-flags", "container"], workload: "net-heavy", duration: "100us", warmup: "10us" }));
    const result = runExperiment(spec);
    const doc = resultsDocument(result, "test", challengeEvidence(spec, result.runs));
    expect(doc.verdict.challenge).toHaveLength(1);
    expect(doc.verdict.challengeEvidence).toHaveLength(2);
    const html = await renderReport(doc);
    expect(html).toContain('<section id="challenge">');
    expect(html).toMatch(/<figure class="chart" id="chart-challenge"[\s\S]*<svg role="img"/);
    const without = await renderReport({ ...doc, verdict: verdict(doc.runs) });
    expect(without).toContain("Not answered here: the split needs counterfactual runs");
  });
});
