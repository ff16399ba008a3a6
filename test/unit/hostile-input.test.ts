import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_SPEC_BYTES, readSpecFile } from "../../coordinator/load-spec.ts";
import { csvField, resultsCsv, resultsDocument } from "../../coordinator/output.ts";
import { readResultsDocument, ResultsFileError } from "../../coordinator/report/write-report.ts";
import { runExperiment } from "../../coordinator/experiment.ts";
import { SpecError } from "../../shared/engine/errors.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { resolveSpec } from "../../shared/spec/resolve.ts";

/** Files and specs as a hostile user would write them: each gets one clear error, or harmless output. */

const dir = () => mkdtempSync(join(tmpdir(), "refsim-hostile-"));
const BASE = { machine: "xeon-80", cpus: [1], schemes: ["clone-flags", "nsproxy"], workload: "fork-storm" };
const specError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error("no SpecError");
};

describe("specs that would never end or exhaust memory", () => {
  it("refuses a refcache epoch or an RCU grace period under 1us, with the reason", () => {
    for (const epoch of ["0ps", "1ps", "999ns"]) {
      expect(specError(() => parseSpec({ ...BASE, options: { refcacheEpoch: epoch } }))).toMatch(/^options\.refcacheEpoch: must be at least 1us: refcache's epoch timer re-arms itself every epoch on every CPU, so a shorter epoch would never let simulated time pass/);
    }
    expect(specError(() => parseSpec({ ...BASE, options: { rcuGracePeriod: "0ps" } }))).toMatch(/^options\.rcuGracePeriod: must be at least 1us: a grace period lasts until every CPU/);
    expect(() => parseSpec({ ...BASE, options: { refcacheEpoch: "1us", rcuGracePeriod: "1us" } })).not.toThrow();
  });

  it("refuses a spec file over the size limit before parsing it, naming the file and the limit", () => {
    const path = join(dir(), "huge.yaml");
    writeFileSync(path, `name: ${"x".repeat(MAX_SPEC_BYTES)}\n`);
    expect(specError(() => readSpecFile(path))).toBe(`spec file ${path} is larger than 1 MiB, the limit (specs are a few kilobytes)`);
    const fits = join(dir(), "fits.yaml");
    writeFileSync(fits, `name: ${"x".repeat(MAX_SPEC_BYTES - 20)}\n`);
    expect(readSpecFile(fits).name).toHaveLength(MAX_SPEC_BYTES - 20);
  });

  it("cuts off a spec 'file' that never ends", () => {
    expect(specError(() => readSpecFile("/dev/zero"))).toMatch(/is larger than 1 MiB/);
  });
});

describe("keys that reach a prototype", () => {
  it("rejects __proto__, constructor and prototype anywhere, like any unknown field", () => {
    const doc = JSON.parse(`{"machine":"xeon-80","cpus":[1],"workload":{"preset":"fork-storm","__proto__":{"duration":"1s"},"fork":{"constructor":{}}},"costs":{"prototype":"1ns"}}`);
    const message = specError(() => parseSpec(doc));
    for (const path of ["workload.__proto__", "workload.fork.constructor", "costs.prototype"]) expect(message).toContain(`${path}: unknown field`);
    expect(({} as Record<string, unknown>).duration).toBeUndefined();
  });
});

describe("results.csv against spreadsheet formulas and broken rows", () => {
  it("guards text cells that start like a formula and quotes CR, LF, quotes and commas", () => {
    expect(csvField("=HYPERLINK(\"x\")")).toBe(`"'=HYPERLINK(""x"")"`);
    for (const lead of ["+", "-", "@", "\t"]) expect(csvField(`${lead}1`)).toBe(`'${lead}1`);
    expect(csvField("a\rb")).toBe(`"a\rb"`);
    expect(csvField("a,b")).toBe(`"a,b"`);
    expect(csvField(-5)).toBe("-5");
    expect(csvField(null)).toBe("");
  });

  it("writes a workload named like a formula as text", () => {
    const spec = resolveSpec(parseSpec({ ...BASE, schemes: ["nsproxy"], workload: { preset: "fork-storm", name: "=cmd|' /C calc'!A0" }, duration: "20us", warmup: "2us" }));
    const csv = resultsCsv(runExperiment(spec).runs);
    expect(csv).toContain(`,'=cmd|' /C calc'!A0,`);
  });
});

describe("refsim report on crafted results.json", () => {
  const spec = resolveSpec(parseSpec({ ...BASE, duration: "20us", warmup: "2us" }));
  const good = resultsDocument(runExperiment(spec), "test");
  const written = (doc: unknown) => {
    const d = dir();
    writeFileSync(join(d, "results.json"), JSON.stringify(doc));
    return d;
  };
  const failure = (doc: unknown): string => {
    try {
      readResultsDocument(written(doc));
    } catch (e) {
      expect(e).toBeInstanceOf(ResultsFileError);
      return (e as Error).message.replace(/^.*results\.json: /, "");
    }
    throw new Error("accepted");
  };

  it("names the bad field", () => {
    expect(failure({ ...good, runs: [{}] })).toBe("not a results file this refsim can read: runs.0.scheme: missing");
    expect(failure({ ...good, runs: [null] })).toMatch(/^not a results file this refsim can read: runs\.0: .*expected object/);
    expect(failure({ ...good, verdict: { ...good.verdict, summary: undefined } })).toBe("not a results file this refsim can read: verdict.summary: missing");
    expect(failure({ ...good, runs: [{ ...good.runs[0], memory: "lots" }] })).toMatch(/^not a results file this refsim can read: runs\.0\.memory: /);
    expect(readResultsDocument(written(good)).runs).toHaveLength(good.runs.length);
  });

  it("a run too short for one operation gives a verdict without NaN", () => {
    const tiny = resultsDocument(runExperiment(resolveSpec(parseSpec({ ...BASE, duration: "1ps" }))), "test");
    expect(tiny.verdict.summary.join(" ")).not.toMatch(/NaN/);
    expect(tiny.verdict.summary[0]).toBe("clone-flags completed no operation at 1 CPU in the measured window: no comparison (simulate longer).");
    // And the runs whose window is shorter than one operation are named, with what to do.
    expect(tiny.verdict.summary.slice(1)).toHaveLength(1);
    expect(tiny.verdict.summary[1]).toMatch(/^2 run\(s\) \(clone-flags at 1, nsproxy at 1 CPU\) completed fewer operations in the measured window than were still in flight .*give a --duration well beyond/);
    expect(readResultsDocument(written(JSON.parse(JSON.stringify(tiny)))).runs).toHaveLength(2);
  });
});
