import { describe, expect, it } from "vitest";
import { compareDocuments } from "../../coordinator/compare.ts";
import { fillScalingEfficiency } from "../../coordinator/experiment.ts";
import type { ResultsDocument } from "../../coordinator/output.ts";
import { formatTable } from "../../coordinator/table.ts";
import { sig3 } from "../../coordinator/figures.ts";
import { confidenceInterval95, mean } from "../../shared/metrics/stats.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { experimentSeeds } from "../../shared/spec/seeds.ts";
import { simulate } from "../../shared/simulation.ts";

const BASE = { machine: "small-4", cpus: [1, 2], schemes: ["clone-flags", "percpu"], workload: "migration", duration: "150us", warmup: "20us" };

function resolved(doc: Record<string, unknown>) {
  return resolveSpec(parseSpec(doc));
}

describe("--seeds N: every scheme and CPU count with N seeds derived from the spec's seed", () => {
  it("derives the seeds from the spec's seed alone: the first is that seed, the others distinct, nearby spec seeds not overlapping", () => {
    expect(experimentSeeds(1, 1)).toEqual([1]);
    const three = experimentSeeds(1, 3);
    expect(three[0]).toBe(1);
    expect(new Set(three).size).toBe(3);
    expect(experimentSeeds(1, 3)).toEqual(three);
    expect(experimentSeeds(1, 5).slice(0, 3)).toEqual(three);
    const two = experimentSeeds(2, 3);
    expect(two.filter((s) => three.includes(s))).toEqual([]);
    for (const s of [...three, ...two]) expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true);
  });

  it("plans each seed's runs after the previous seed's, in the one-seed order; seeds: 1 resolves exactly as before", () => {
    const one = resolved(BASE);
    expect("seeds" in one).toBe(false);
    expect(resolved({ ...BASE, seeds: 1 })).toEqual(one);
    const spec = resolved({ ...BASE, seeds: 3 });
    expect(spec.seeds).toBe(3);
    const plan = planRuns(spec);
    const single = planRuns(one);
    expect(plan).toHaveLength(3 * single.length);
    const seeds = experimentSeeds(1, 3);
    plan.forEach((config, i) => {
      expect(config.seed).toBe(seeds[Math.floor(i / single.length)]);
      expect({ ...config, seed: 0 }).toEqual({ ...single[i % single.length], seed: 0 });
    });
  });

  it("rejects a seed count that is not a whole number from 1 to 100, naming the field", () => {
    for (const bad of [0, 101, 2.5, "3"]) expect(() => resolved({ ...BASE, seeds: bad })).toThrow(/seeds/);
  });

  it("prints one row per scheme and CPU count with the mean and its 95% interval, and compare gives intervals over the seeds", () => {
    const spec = resolved({ ...BASE, seeds: 3 });
    const runs = planRuns(spec).map((c) => simulate(c));
    fillScalingEfficiency(runs);
    const lines = formatTable(runs).split("\n");
    expect(lines[0]).toMatch(/^scheme\s+cpus\s+seeds\s+ops\/s \(mean ±95%\)/);
    const rows = lines.slice(2, 6);
    expect(rows.map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ["clone-flags", "1", "3"],
      ["clone-flags", "2", "3"],
      ["percpu", "1", "3"],
      ["percpu", "2", "3"],
    ]);
    const values = runs.filter((r) => r.scheme === "percpu" && r.cpus === 2).map((r) => r.throughputOpsPerSec);
    expect(new Set(values).size, "the seeds give different throughputs").toBeGreaterThan(1);
    const { halfWidth } = confidenceInterval95(values);
    expect(rows[3]).toContain(`${sig3(mean(values))} ±${sig3(halfWidth)}`);
    expect(lines.some((l) => l.startsWith("mean of 3 seeds per row"))).toBe(true);
    const doc = { runs } as ResultsDocument;
    const c = compareDocuments(doc, doc);
    expect(c.rows).toHaveLength(4);
    for (const row of c.rows) {
      expect(row.a).toHaveLength(3);
      expect(row.interval).not.toBeNull();
      expect(row.interval!.low).toBeLessThanOrEqual(0);
      expect(row.interval!.high).toBeGreaterThanOrEqual(0);
    }
  });
});
