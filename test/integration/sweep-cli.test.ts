import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/refsim.mjs", import.meta.url));

function refsim(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function specFile(text: string): { dir: string; spec: string } {
  const dir = mkdtempSync(join(tmpdir(), "refsim-sweep-cli-"));
  const spec = join(dir, "sweep.yaml");
  writeFileSync(spec, text);
  return { dir, spec };
}

const SMALL = "machines: [small-4]\nworkloads: [fork-storm, migration]\nschemes: [nsproxy, percpu]\ncpus: [1, 4]\nseeds: [1, 2]\nduration: 200us\nwarmup: 20us\n";

describe("refsim sweep (embedded)", () => {
  it("prints help naming its options", () => {
    const r = refsim(["sweep", "--help"]);
    expect(r.code).toBe(0);
    for (const option of ["--cluster", "--resume", "--workers", "--out", "--quiet", "--queue"]) expect(r.stdout).toContain(option);
  });

  it("runs every point, prints one line per point when stderr is not a terminal, and writes results.json and results.csv", () => {
    const { dir, spec } = specFile(SMALL);
    const out = join(dir, "out");
    const r = refsim(["sweep", spec, "--workers", "2", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split("\n").filter((l) => /^\[\d+\/16\] /.test(l));
    expect(lines).toHaveLength(16);
    expect(lines.every((l) => l.endsWith(": done"))).toBe(true);
    expect(r.stdout).toMatch(/sweep s-[0-9a-f]{16}: 16 points, 16 done, 0 failed/);
    const doc = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(doc.runs).toHaveLength(16);
    expect(doc.sweep.points).toHaveLength(16);
    expect(doc.sweep.failed).toEqual([]);
    expect(doc.sweep.workloads).toEqual(["fork-storm", "migration"]);
    expect(readFileSync(join(out, "results.csv"), "utf8").trim().split("\n")).toHaveLength(17);
  });

  it("prints nothing with --quiet", () => {
    const { dir, spec } = specFile(SMALL);
    const r = refsim(["sweep", spec, "--quiet", "--out", join(dir, "out")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("");
    expect(existsSync(join(dir, "out", "results.csv"))).toBe(true);
  });

  it("rejects a bad sweep spec with the field's path, exit code 2 and no output", () => {
    const { dir, spec } = specFile("machines: [small-4]\nworkloads:\n  - preset: fork-storm\n    fork: { placment: random }\ncpus: [1, 2]\n");
    const r = refsim(["sweep", spec, "--out", join(dir, "out")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("workloads.0.fork.placment: unknown field");
    expect(r.stderr).not.toMatch(/\bat .+\.ts:\d+/);
    expect(existsSync(join(dir, "out"))).toBe(false);
    const r2 = refsim(["sweep", specFile("machines: [small-4]\nworkloads: [fork-storm]\ncpus: [1, 64]\n").spec]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("cpus.1: no machine of the sweep has 64 CPUs");
  });

  it("asks for a spec, and refuses an embedded --resume of a folder that holds no unfinished sweep, with exit code 2", () => {
    const r = refsim(["sweep"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("give a sweep spec file");
    const r2 = refsim(["sweep", "--resume", "s-0123456789abcdef"]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("--resume s-0123456789abcdef: no unfinished sweep there");
  });
});
