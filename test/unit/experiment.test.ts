import { describe, expect, it } from "vitest";
import { runExperiment, runExperimentWith } from "../../coordinator/experiment.ts";
import type { RunConfig } from "../../shared/spec/resolve.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { resolveSpec } from "../../shared/spec/resolve.ts";
import { runResult } from "./support/run-result.ts";

// Running an experiment's plan: every configuration once, in plan order, progress after each,
// then scaling efficiency against each scheme's one-CPU run.

const SPEC = { machine: "small-4", cpus: [1, 2], schemes: ["none", "nsproxy"], workload: "fork-storm", duration: "30us", warmup: "5us" };

describe("an experiment's runs", () => {
  it("runExperimentWith runs each configuration with its index, reports progress after each, and fills the efficiency", async () => {
    const spec = resolveSpec(parseSpec(SPEC));
    const seen: Array<[number, string, number]> = [];
    const progress: Array<[number, number, string]> = [];
    // Throughput 100 per CPU for none (efficiency 1 at 2 CPUs), 100 then 150 for nsproxy (150 / (2 x 100) = 0.75).
    const result = await runExperimentWith(
      spec,
      async (s, i, config) => {
        expect(s).toBe(spec);
        seen.push([i, config.scheme, config.cpuCount]);
        const throughputOpsPerSec = config.scheme === "none" ? 100 * config.cpuCount : config.cpuCount === 1 ? 100 : 150;
        return runResult({ scheme: config.scheme, cpus: config.cpuCount, throughputOpsPerSec, scalingEfficiency: null });
      },
      (done, total, run: RunConfig) => progress.push([done, total, `${run.scheme}@${run.cpuCount}`]),
    );
    expect(seen).toEqual([
      [0, "none", 1],
      [1, "none", 2],
      [2, "nsproxy", 1],
      [3, "nsproxy", 2],
    ]);
    expect(progress).toEqual([
      [1, 4, "none@1"],
      [2, 4, "none@2"],
      [3, 4, "nsproxy@1"],
      [4, 4, "nsproxy@2"],
    ]);
    expect(result.spec).toBe(spec);
    expect(result.runs.map((r) => r.scalingEfficiency)).toEqual([1, 1, 1, 0.75]);
    // Without a progress callback it runs the same.
    expect((await runExperimentWith(spec, async (_s, _i, c) => runResult({ scheme: c.scheme, cpus: c.cpuCount }))).runs).toHaveLength(4);
  });

  it("runExperiment simulates each configuration in plan order, reporting progress after each, and fills the efficiency", () => {
    const spec = resolveSpec(parseSpec({ ...SPEC, schemes: ["none"] }));
    const progress: Array<[number, number, number]> = [];
    const result = runExperiment(spec, (done, total, run) => progress.push([done, total, run.cpuCount]));
    expect(progress).toEqual([
      [1, 2, 1],
      [2, 2, 2],
    ]);
    expect(result.runs.map((r) => [r.scheme, r.cpus])).toEqual([
      ["none", 1],
      ["none", 2],
    ]);
    const [one, two] = result.runs;
    expect(one.scalingEfficiency).toBe(1);
    expect(two.scalingEfficiency).toBe(Math.round((two.throughputOpsPerSec / (2 * one.throughputOpsPerSec)) * 1e6) / 1e6);
    expect(runExperiment(spec).runs).toHaveLength(2);
  });
});
