import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { canonicalJson, planSweep, pointId, type SweepPlan } from "../../coordinator/sweep/points.ts";
import { parseSweepSpec } from "../../coordinator/sweep/spec.ts";
import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";

const VERSION = "0.1.0+test";

function plan(doc: Record<string, unknown>, version = VERSION): SweepPlan {
  return planSweep(parseSweepSpec(doc), version, doc);
}

const base = {
  machines: ["small-4"],
  workloads: ["fork-storm"],
  schemes: ["nsproxy", "clone-flags"],
  cpus: [1, 2, 4],
  seeds: [1, 2],
  duration: "300us",
  warmup: "50us",
};

describe("sweep points", () => {
  it("are the product of the axes, in the order machine, workload, seed, scheme, CPU count", () => {
    const p = plan({ ...base, machines: ["small-4", "xeon-80"], workloads: ["fork-storm", "migration"] });
    expect(p.points).toHaveLength(2 * 2 * 2 * 2 * 3);
    expect(p.points.slice(0, 7).map((x) => [x.machine, x.workload, x.seed, x.scheme, x.cpus])).toEqual([
      ["small-4", "fork-storm", 1, "nsproxy", 1],
      ["small-4", "fork-storm", 1, "nsproxy", 2],
      ["small-4", "fork-storm", 1, "nsproxy", 4],
      ["small-4", "fork-storm", 1, "clone-flags", 1],
      ["small-4", "fork-storm", 1, "clone-flags", 2],
      ["small-4", "fork-storm", 1, "clone-flags", 4],
      ["small-4", "fork-storm", 2, "nsproxy", 1],
    ]);
    expect(p.points.map((x) => x.index)).toEqual(p.points.map((_, i) => i));
    expect(new Set(p.points.map((x) => x.id)).size).toBe(p.points.length);
  });

  it("expand schemes: all to every scheme, sort and deduplicate CPU counts, default the seeds to [1]", () => {
    const p = plan({ machines: ["small-4"], workloads: ["fork-storm"], cpus: [4, 1, 4] });
    expect(p.points.map((x) => x.scheme).filter((s, i, a) => a.indexOf(s) === i)).toEqual([...SCHEME_NAMES]);
    expect(p.points.slice(0, 2).map((x) => x.cpus)).toEqual([1, 4]);
    expect(p.points.every((x) => x.seed === 1)).toBe(true);
    expect(p.points).toHaveLength(SCHEME_NAMES.length * 2);
  });

  it("each point is the run refsim run makes of its own document: one scheme, one CPU count, one seed", () => {
    const p = plan(base);
    for (const point of p.points) {
      const runs = planRuns(resolveSpec(parseSpec(point.doc)));
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ scheme: point.scheme, cpuCount: point.cpus, seed: point.seed });
      expect(point.spec).toEqual(resolveSpec(parseSpec(point.doc)));
    }
    // The same run as in a whole-experiment spec of refsim run.
    const whole = planRuns(resolveSpec(parseSpec({ machine: "small-4", workload: "fork-storm", schemes: ["nsproxy", "clone-flags"], cpus: [1, 2, 4], seed: 2, duration: "300us", warmup: "50us" })));
    const seed2 = p.points.filter((x) => x.seed === 2).map((x) => planRuns(x.spec)[0]);
    expect(seed2).toEqual(whole);
  });

  it("leave out CPU counts a machine does not have, and say so", () => {
    const p = plan({ ...base, machines: ["small-4", "modern-2s"], cpus: [1, 4, 64] });
    expect(p.skipped).toEqual([{ machine: "small-4", cpus: [64] }]);
    expect(p.points.filter((x) => x.machine === "small-4").map((x) => x.cpus)).not.toContain(64);
    expect(p.points.filter((x) => x.machine === "modern-2s" && x.cpus === 64)).toHaveLength(2 * 2);
  });

  it("are distributed only above distributeAbove, and never without it", () => {
    expect(plan(base).points.some((x) => x.distributed)).toBe(false);
    const p = plan({ ...base, distributeAbove: 2 });
    expect(p.points.filter((x) => x.distributed).map((x) => x.cpus)).toEqual(Array(4).fill(4));
  });
});

describe("point and sweep ids", () => {
  it("are content hashes: p- and s- with 16 hex digits", () => {
    const p = plan(base);
    for (const x of p.points) expect(x.id).toMatch(/^p-[0-9a-f]{16}$/);
    expect(p.id).toMatch(/^s-[0-9a-f]{16}$/);
  });

  it("are the same for the same content: another parse, keys in another order, a preset written out, a new name", () => {
    const a = plan(base);
    const yaml = "seeds: [1, 2]\nwarmup: 50us\ncpus: [4, 2, 1]\nduration: 300us\nschemes: [nsproxy, clone-flags]\nworkloads:\n  - preset: fork-storm\nmachines: [small-4]\nname: renamed\n";
    const b = plan(parseYaml(yaml) as Record<string, unknown>);
    expect(b.points.map((x) => x.id)).toEqual(a.points.map((x) => x.id));
    expect(b.id).toBe(a.id);
    // Defaults written out change nothing either.
    const c = plan({ ...base, layout: "separate", namespaces: "linux", options: { sloppyBatch: 8 } });
    expect(c.id).toBe(a.id);
  });

  it("differ for any change of a point's content, and for another code version", () => {
    const a = plan(base);
    const ids = new Set(a.points.map((x) => x.id));
    const changes: Array<[string, SweepPlan]> = [
      ["seed", plan({ ...base, seeds: [3, 4] })],
      ["duration", plan({ ...base, duration: "400us" })],
      ["warmup", plan({ ...base, warmup: "40us" })],
      ["layout", plan({ ...base, layout: "shared" })],
      ["namespaces", plan({ ...base, namespaces: "linux-2006" })],
      ["a cost", plan({ ...base, costs: { fork: "16us" } })],
      ["an option", plan({ ...base, options: { sloppyBatch: 4 } })],
      ["a workload field", plan({ ...base, workloads: [{ preset: "fork-storm", think: "2us" }] })],
      ["the workload", plan({ ...base, workloads: ["migration"] })],
      ["the machine", plan({ ...base, machines: ["xeon-80"] })],
      ["the code version", plan(base, "0.1.0+other")],
    ];
    for (const [what, changed] of changes) {
      for (const x of changed.points) expect(ids.has(x.id), `${what}: ${x.scheme} @ ${x.cpus}`).toBe(false);
      expect(changed.id, what).not.toBe(a.id);
    }
  });

  it("tell every point of a sweep apart (scheme, CPU count, seed), and a sweep with a point more or less is another sweep", () => {
    const a = plan(base);
    expect(new Set(a.points.map((x) => x.id)).size).toBe(12);
    const more = plan({ ...base, cpus: [1, 2, 3, 4] });
    const fewer = plan({ ...base, seeds: [1] });
    expect(more.id).not.toBe(a.id);
    expect(fewer.id).not.toBe(a.id);
    // The points both sweeps share keep their ids: a point's id does not depend on its sweep.
    expect(fewer.points.map((x) => x.id)).toEqual(a.points.filter((x) => x.seed === 1).map((x) => x.id));
  });

  it("hash the resolved spec with the seed and code version", () => {
    const point = plan(base).points[0];
    expect(point.id).toBe(pointId(point.spec, VERSION));
    expect(pointId(point.spec, "other")).not.toBe(point.id);
    expect(pointId({ ...point.spec, seed: point.spec.seed + 1 }, VERSION)).not.toBe(point.id);
  });

  it("canonical JSON sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });
});
