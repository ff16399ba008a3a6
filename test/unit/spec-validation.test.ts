import { describe, expect, it } from "vitest";
import { SpecError } from "../../shared/engine/errors.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { resolveSpec } from "../../shared/spec/resolve.ts";
import { specJsonSchema } from "../../shared/spec/spec.ts";

/** Parses and resolves a spec; returns the SpecError it raises (fails the test if none). */
function rejection(doc: Record<string, unknown>): SpecError {
  try {
    resolveSpec(parseSpec(doc));
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error("the spec was accepted");
}

const base = { machine: "small-4", cpus: [1], workload: "fork-storm" };

describe("spec validation", () => {
  it("accepts a minimal spec and fills in the defaults", () => {
    const r = resolveSpec(parseSpec(base));
    expect(r).toMatchObject({ seed: 1, machine: "small-4", cpus: [1], layout: "separate", workloadName: "fork-storm" });
    expect(r.schemes).toEqual(["none", "clone-flags", "container", "openvz", "nsproxy", "percpu", "sloppy", "refcache"]);
    expect(r.namespaces).toHaveLength(8);
  });

  it("rejects an unknown field inside a workload override with its path: workload.fork.placment", () => {
    const e = rejection({ ...base, workload: { preset: "fork-storm", fork: { placment: "random" } } });
    expect(e.message).toBe("workload.fork.placment: unknown field (valid fields here: placement, newNamespaces, childWork)");
  });

  it("rejects an unknown top-level field with its name", () => {
    expect(rejection({ ...base, colour: "red" }).message).toMatch(/^colour: unknown field \(valid fields here: name, seed, machine, cpus, /);
  });

  it("names the field of a bad value: cpus.0, machine, duration, workload.fork.placement", () => {
    expect(rejection({ ...base, cpus: [0, 2] }).message).toMatch(/^cpus\.0: /);
    expect(rejection({ ...base, machine: "small-5" }).message).toMatch(/^machine: expected a machine preset: small-4, /);
    expect(rejection({ ...base, duration: "2 parsecs" }).message).toMatch(/^duration: expected a duration/);
    expect(rejection({ ...base, workload: { preset: "fork-storm", fork: { placement: "everywhere" } } }).message).toMatch(
      /^workload\.fork\.placement: expected one of same-cpu, same-socket, least-loaded, random/,
    );
    expect(rejection({ ...base, schemes: ["nsproxy", "plan9"] }).message).toBe('schemes.1: "plan9" is not one of none, clone-flags, container, openvz, nsproxy, percpu, sloppy, refcache');
  });

  it("lists every bad field of a spec, one per line", () => {
    const lines = rejection({ ...base, machine: "nope", cpus: [], colour: 1 }).message.split("\n");
    expect(lines.map((l) => l.split(":")[0]).sort()).toEqual(["colour", "cpus", "machine"]);
  });

  it("rejects a CPU count above the machine's, naming the entry", () => {
    const e = rejection({ ...base, cpus: [1, 8] });
    expect(e.path).toBe("cpus.1");
    expect(e.message).toBe("cpus.1: small-4 has 4 CPUs; cannot run on 8");
    expect(() => resolveSpec(parseSpec({ ...base, cpus: [4] }))).not.toThrow();
  });

  it("rejects an unknown workload preset, a warm-up not shorter than the run, and a namespace kind outside the configured set", () => {
    expect(rejection({ ...base, workload: "nope" }).path).toBe("workload");
    expect(rejection({ ...base, warmup: "5ms", duration: "1ms" }).path).toBe("warmup");
    const e = rejection({ ...base, namespaces: "linux-2006", workload: { preset: "fork-storm", unshare: { namespaces: ["time"] } } });
    expect(e.path).toBe("workload.unshare.namespaces");
    expect(e.message).toContain('"time"');
  });

  it("specJsonSchema() describes the spec as a JSON Schema object with its properties", () => {
    const schema = specJsonSchema() as { type?: string; properties?: Record<string, unknown>; required?: string[] };
    expect(schema.type).toBe("object");
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(["machine", "cpus", "workload", "schemes", "seed", "costs", "options"]));
    expect(schema.required).toEqual(expect.arrayContaining(["machine", "cpus", "workload"]));
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});

describe("spec errors, all at once", () => {
  it("reports every problem of a spec in one error: schema fields, the workload's fields and CPU counts the machine lacks", () => {
    const lines = rejection({
      machine: "small-4",
      cpus: [1, 9],
      seed: -1,
      schemes: ["nsproxy", "nsproxi"],
      workload: { preset: "fork-storm", fork: { placment: "x" } },
    }).message.split("\n");
    expect(lines.map((l) => l.split(":")[0]).sort()).toEqual(["cpus.1", "schemes.1", "seed", "workload.fork.placment"]);
    expect(lines).toContain('schemes.1: "nsproxi" is not one of none, clone-flags, container, openvz, nsproxy, percpu, sloppy, refcache');
  });

  it("says a required field is missing, and lists the valid names of an unknown one", () => {
    const lines = rejection({ cpus: [1] }).message.split("\n");
    expect(lines).toEqual([expect.stringMatching(/^machine: missing \(expected a machine preset: small-4, /), expect.stringMatching(/^workload: missing /)]);
    expect(rejection({ ...base, workload: "fork-strom" }).message).toBe(
      'workload: unknown workload preset "fork-strom" (presets: fork-storm, container-churn, net-heavy, migration, nested, hot-line, local-line, get-put)',
    );
  });

  it("reports the resolver's problems together: a bad namespace kind and a warm-up too long", () => {
    const lines = rejection({ ...base, namespaces: "linux-2006", warmup: "5ms", duration: "1ms", workload: { preset: "fork-storm", unshare: { namespaces: ["time"] } } }).message.split("\n");
    expect(lines.map((l) => l.split(":")[0]).sort()).toEqual(["warmup", "workload.unshare.namespaces"]);
  });

  it("takes the workload's warm-up fraction of a duration given alone, so a short run needs no warm-up of its own", () => {
    expect(resolveSpec(parseSpec({ ...base, duration: "100us" })).warmup).toBe("10us");
    expect(resolveSpec(parseSpec({ ...base })).warmup).toBe("200us");
    expect(resolveSpec(parseSpec({ ...base, duration: "100us", warmup: "1us" })).warmup).toBe("1us");
  });
});
