import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readSpecFile } from "../../coordinator/load-spec.ts";
import { loadSweep } from "../../coordinator/sweep/points.ts";
import { SpecError } from "../../shared/engine/errors.ts";
import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";

/** Parses and plans a sweep spec; returns the SpecError it raises (fails the test if none). */
function rejection(doc: Record<string, unknown>): SpecError {
  try {
    loadSweep(doc, "test");
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error("the sweep spec was accepted");
}

const base = { machines: ["small-4"], workloads: ["fork-storm"], cpus: [1, 2] };

describe("sweep spec validation", () => {
  it("accepts a minimal sweep spec", () => {
    const p = loadSweep(base, "test");
    // Every scheme (a sweep without `schemes` takes them all) at each of the 2 CPU counts.
    expect(p.points).toHaveLength(SCHEME_NAMES.length * 2);
    expect(p.name).toBe("fork-storm on small-4");
    expect(p.distributeAbove).toBeNull();
  });

  it("names unknown fields, also inside a workload: colour, workloads.1.fork.placment", () => {
    expect(rejection({ ...base, colour: "red" }).message).toMatch(/^colour: unknown field \(valid fields here: name, schemes, cpus, /);
    expect(rejection({ ...base, machine: "small-4" }).message).toMatch(/^machine: unknown field \(valid fields here: .*machines/);
    expect(rejection({ ...base, workloads: ["fork-storm", { preset: "migration", fork: { placment: "random" } }] }).message).toBe(
      "workloads.1.fork.placment: unknown field (valid fields here: placement, newNamespaces, childWork)",
    );
  });

  it("names the field of a bad value: machines.1, cpus.0, seeds.0, schemes, duration, distributeAbove", () => {
    expect(rejection({ ...base, machines: ["small-4", "cray-1"] }).message).toMatch(/^machines\.1: expected a machine preset/);
    expect(rejection({ ...base, cpus: [0] }).message).toMatch(/^cpus\.0: /);
    expect(rejection({ ...base, seeds: [-1] }).message).toMatch(/^seeds\.0: /);
    expect(rejection({ ...base, schemes: ["plan9"] }).message).toMatch(/^schemes\.0: "plan9" is not one of none, /);
    expect(rejection({ ...base, duration: "soon" }).message).toMatch(/^duration: expected a duration/);
    expect(rejection({ ...base, distributeAbove: 0 }).message).toMatch(/^distributeAbove: /);
    expect(rejection({ ...base, workloads: [] }).message).toMatch(/^workloads: /);
  });

  it("names a workload whose preset is unknown or whose namespace is not configured, by its place in workloads", () => {
    expect(rejection({ ...base, workloads: ["fork-storm", "nope"] }).message).toBe('workloads.1: unknown workload preset "nope" (presets: fork-storm, container-churn, net-heavy, migration, nested, hot-line, local-line, get-put)');
    const e = rejection({ ...base, namespaces: "linux-2006", workloads: [{ preset: "fork-storm", fork: { newNamespaces: ["cgroup"] } }] });
    expect(e.message).toMatch(/^workloads\.0\.fork\.newNamespaces: namespace kind "cgroup"/);
  });

  it("rejects a CPU count no machine of the sweep has, and two workloads with one name", () => {
    expect(rejection({ ...base, cpus: [1, 8] }).message).toBe("cpus.1: no machine of the sweep has 8 CPUs (the largest, small-4, has 4)");
    expect(rejection({ ...base, workloads: ["fork-storm", { preset: "fork-storm", think: "2us" }] }).message).toMatch(
      /^workloads\.1: workloads\.0 is also named "fork-storm"/,
    );
    expect(() => loadSweep({ ...base, workloads: ["fork-storm", { preset: "fork-storm", think: "2us", name: "slow-fork" }] }, "test")).not.toThrow();
  });

  it("checks what the run spec checks for every point: a warm-up not shorter than the duration", () => {
    expect(rejection({ ...base, duration: "100us", warmup: "200us" }).message).toMatch(/^warmup: warm-up 200us must be shorter/);
  });
});

describe("the example sweeps", () => {
  const example = (name: string) => loadSweep(readSpecFile(fileURLToPath(new URL(`../../examples/${name}`, import.meta.url))), "test");

  it("sweep-small: four schemes x 1, 2, 4 CPUs x two workloads x two seeds on small-4", () => {
    const p = example("sweep-small.yaml");
    expect(p.points).toHaveLength(4 * 3 * 2 * 2);
    expect(new Set(p.points.map((x) => x.seed))).toEqual(new Set([1, 2]));
  });

  it("headline: none, clone-flags, nsproxy and percpu, fork-storm on numa-4096 at 1, 64 and 512 CPUs for 2 ms, as npm start runs it", () => {
    const p = example("headline.yaml");
    expect(p.points).toHaveLength(4 * 3);
    expect(p.points.map((x) => x.spec.cpus[0])).toEqual(Array(4).fill([1, 64, 512]).flat());
    expect(p.points.map((x) => x.scheme)).toEqual(["none", "clone-flags", "nsproxy", "percpu"].flatMap((s) => [s, s, s]));
    expect(p.points.every((x) => x.machine === "numa-4096" && x.spec.duration === "2ms")).toBe(true);
  });

  it("distributed-numa: the 1024-CPU points of numa-4096 run distributed, the others whole", () => {
    const p = example("distributed-numa.yaml");
    expect(p.distributeAbove).toBe(256);
    expect(p.points.filter((x) => x.distributed).map((x) => x.cpus)).toEqual([1024, 1024, 1024]);
    expect(p.points.every((x) => x.machine === "numa-4096")).toBe(true);
  });
});
