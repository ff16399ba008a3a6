import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { threadCounts } from "../../coordinator/calibrate/microbench.ts";

const BIN = fileURLToPath(new URL("../../bin/refsim.mjs", import.meta.url));

function refsim(args: string[], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000, cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The table rows of calibrate's output: experiment name, then the cells. */
function tableRows(stdout: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of stdout.split("\n")) {
    const m = /^(shared counter|per-thread counters)\s+(.*)$/.exec(line);
    if (m !== null) {
      const cells = m[2].trim().split(/\s+/);
      rows.set(`${m[1]} ${cells[0]}`, cells);
    }
  }
  return rows;
}

const si = (v: number) => (v >= 1e9 ? `${(v / 1e9).toFixed(2)}G` : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));

describe("refsim calibrate", () => {
  const dir = mkdtempSync(join(tmpdir(), "refsim-calibrate-"));
  const hostFile = join(dir, "host.json");
  const counts = threadCounts(availableParallelism());
  let stdout = "";

  it("measures, simulates and prints both columns with their ratio for every thread count, and writes the machine file", () => {
    const r = refsim(["calibrate", "--duration", "20ms", "--out", hostFile]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    stdout = r.stdout;
    expect(stdout).toMatch(/experiment\s+threads\s+measured ops\/s\s+ns\/op\s+simulated ops\/s\s+ns\/op\s+sim\/measured\s+together\s+xfers\/op m\/s\s+wall ops\/s\s+spread/);
    // The host's load is always said, before and after; a busy host is named as such.
    const load = /host load: 1-minute load average ([\d.]+) before, ([\d.]+) after, on (\d+) CPUs/.exec(stdout);
    expect(load).not.toBeNull();
    if (Math.max(Number(load![1]), Number(load![2])) > Number(load![3]) / 2) expect(stdout).toContain("THE HOST IS BUSY");
    const rows = tableRows(stdout);
    expect([...rows.keys()].sort()).toEqual([...counts.map((n) => `shared counter ${n}`), ...counts.map((n) => `per-thread counters ${n}`)].sort());
    for (const [name, cells] of rows) {
      const [, measured, , simulated, , ratio, together, transfers, , spread] = cells;
      // "-": no trial had a batch during which the threads ran together (a busy host), said so in the row.
      expect(measured, name).toMatch(/^(\d+(\.\d+)?[kMG]?|-)$/);
      if (measured === "-") expect(cells.slice(10).join(" "), name).toContain("not measured");
      expect(spread, name).toMatch(/^(\d+%|-)$/);
      expect(simulated, name).toMatch(/^\d+(\.\d+)?[kMG]?$/);
      expect(ratio, name).toMatch(/^(\d+\.\d\d|-)$/);
      expect(together, name).toMatch(/^\d+%$/);
      expect(transfers, name).toMatch(/^\d+\.\d\d\/(\d+\.\d\d|-)$/);
      // Padded counters never move a line, measured or simulated; nor does one thread.
      if (name.startsWith("per-thread") || name.endsWith(" 1")) expect(transfers, name).toBe("0.00/0.00");
    }
    const file = JSON.parse(readFileSync(hostFile, "utf8"));
    expect(file.format).toBe("refsim-machine/1");
    expect(file.measurements.method).toContain("worker_threads");
    expect(file.measurements.shared).toHaveLength(counts.length);
    expect(file.measurements.trials).toBe(3);
    for (const p of [...file.measurements.shared, ...file.measurements.padded]) expect(p.trials).toHaveLength(3);
    expect(file.fieldSources.localAtomic).toMatch(/^measured/);
    expect(file.fieldSources.dramLocal).toMatch(/^assumed/);
  });

  it("the simulated column is refsim run's answer on the machine file (hot-line for the shared counter, local-line for the padded ones)", () => {
    const rows = tableRows(stdout);
    for (const [workload, experiment] of [["hot-line", "shared counter"], ["local-line", "per-thread counters"]] as const) {
      const out = join(dir, workload);
      const r = refsim(["run", "--machine", hostFile, "--workload", workload, "--schemes", "none", "--cpus", counts.join(","), "--out", out, "--quiet"]);
      expect(r.stderr).toBe("");
      const doc = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
      expect(doc.spec.machine).toBe("host");
      for (const run of doc.runs) {
        expect(run.engineEvents).toBeGreaterThan(1000);
        expect(rows.get(`${experiment} ${run.cpus}`)?.[3], `${workload} ${run.cpus}`).toBe(si(run.throughputOpsPerSec));
      }
    }
    // One CPU, one line: the simulated increment costs the machine's measured local atomic (a whole number of increments in the window).
    const file = JSON.parse(readFileSync(hostFile, "utf8"));
    const one = JSON.parse(readFileSync(join(dir, "local-line", "results.json"), "utf8")).runs.find((run: { cpus: number }) => run.cpus === 1);
    expect(Math.abs(one.throughputOpsPerSec * file.machine.localAtomic * 1e-9 - 1)).toBeLessThan(1e-3);
  });

  it("a spec names the machine file relative to itself, and presets --machine shows where each field comes from", () => {
    const specDir = join(dir, "specs");
    mkdirSync(specDir, { recursive: true });
    writeFileSync(join(specDir, "host.json"), readFileSync(hostFile));
    const cpus = Math.min(2, availableParallelism());
    writeFileSync(join(specDir, "spec.yaml"), `machine: ./host.json\ncpus: [${cpus}]\nschemes: [nsproxy]\nworkload: fork-storm\nduration: 300us\n`);
    // Embedded and over worker threads (the machine travels inside the resolved spec): the same bytes.
    for (const workers of ["1", "2"]) {
      const r = refsim(["run", "--spec", join(specDir, "spec.yaml"), "--workers", workers, "--out", join(dir, `from-spec-${workers}`), "--quiet"], tmpdir());
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    expect(readFileSync(join(dir, "from-spec-2", "results.csv"), "utf8")).toBe(readFileSync(join(dir, "from-spec-1", "results.csv"), "utf8"));
    const p = refsim(["presets", "--machine", hostFile]);
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/localAtomic\s+[\d.]+\n\s+measured by refsim calibrate/);
    expect(p.stdout).toMatch(/dramLocal\s+[\d.]+\n\s+assumed/);
  });

  it("bad input: a missing or malformed machine file and a bad option are one line and exit 2", () => {
    const missing = refsim(["run", "--machine", "./nope.json", "--quiet"], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("refsim: machine file ./nope.json: cannot read it (ENOENT)\n");
    const doc = JSON.parse(readFileSync(hostFile, "utf8"));
    delete doc.machine.localAtomic;
    writeFileSync(join(dir, "bad.json"), JSON.stringify(doc));
    const bad = refsim(["run", "--machine", "bad.json", "--quiet"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("refsim: machine file bad.json: machine.localAtomic: missing field\n");
    const duration = refsim(["calibrate", "--duration", "5 parsecs"]);
    expect(duration.code).toBe(2);
    expect(duration.stderr).toBe('refsim: --duration: "5 parsecs" is not a time from 10ms to 10s\n');
  });
});
