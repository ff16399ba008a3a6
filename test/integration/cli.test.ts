import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";

const BIN = fileURLToPath(new URL("../../bin/refsim.mjs", import.meta.url));

function refsim(args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** refsim with its stdout closed before it writes anything, as `refsim ... | head -0` leaves it. */
function refsimClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.destroy();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stderr })));
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "refsim-cli-"));
}

const SMALL = ["--machine", "small-4", "--cpus", "1,2,4", "--duration", "300us", "--warmup", "50us", "--quiet"];

describe("refsim CLI", () => {
  it("refuses a worker's malformed memory limit in one line before it connects, from the option or the environment", () => {
    // Servers that are not there: the check comes first, so nothing waits for them.
    const away = ["--nats", "nats://127.0.0.1:1", "--redis", "redis://127.0.0.1:1", "--redis-exit-after", "1"];
    const option = refsim(["worker", ...away, "--memory-limit", "lots"]);
    expect(option.code).toBe(2);
    expect(option.stderr).toBe('refsim: --memory-limit: "lots" is not a size (e.g. 4GiB, 512MiB, 2GB)\n');
    const env = refsim(["worker", ...away], { ...process.env, REFSIM_MEMORY_LIMIT: "lots" });
    expect(env.code).toBe(2);
    expect(env.stderr).toBe('refsim: REFSIM_MEMORY_LIMIT: "lots" is not a size (e.g. 4GiB, 512MiB, 2GB)\n');
  });

  it("prints help for run", () => {
    const r = refsim(["run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--workload");
    expect(r.stdout).toContain("--schemes");
  });

  it("writes results.json and results.csv, with a table and a verdict on stdout", () => {
    const out = tempDir();
    const r = refsim(["run", "--machine", "small-4", "--cpus", "1,4", "--duration", "300us", "--warmup", "50us", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/scheme\s+cpus\s+ops\/s/);
    expect(r.stdout).toContain("Verdict:");
    const doc = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(doc.schemaVersion).toBe(1);
    expect(doc.spec.machine).toBe("small-4");
    expect(doc.runs).toHaveLength(SCHEME_NAMES.length * 2);
    const csv = readFileSync(join(out, "results.csv"), "utf8").trim().split("\n");
    expect(csv).toHaveLength(1 + SCHEME_NAMES.length * 2);
    expect(csv[0].split(",")).toContain("throughput_ops_per_sec");
  });

  it("gives byte-identical results.csv for the same spec and seed, and different ones for another seed", () => {
    const a = tempDir();
    const b = tempDir();
    const c = tempDir();
    const args = [...SMALL, "--workload", "migration", "--schemes", "nsproxy,percpu"];
    expect(refsim(["run", ...args, "--seed", "7", "--out", a]).code).toBe(0);
    expect(refsim(["run", ...args, "--seed", "7", "--out", b]).code).toBe(0);
    expect(refsim(["run", ...args, "--seed", "8", "--out", c]).code).toBe(0);
    const csvA = readFileSync(join(a, "results.csv"));
    expect(readFileSync(join(b, "results.csv")).equals(csvA)).toBe(true);
    expect(readFileSync(join(a, "results.json")).equals(readFileSync(join(b, "results.json")))).toBe(true);
    expect(readFileSync(join(c, "results.csv")).equals(csvA)).toBe(false);
  });

  it("rejects a bad spec with the field's path, exit code 2 and no stack trace", () => {
    const dir = tempDir();
    const spec = join(dir, "bad.yaml");
    writeFileSync(spec, "machine: small-4\ncpus: [1, 2]\nworkload:\n  preset: fork-storm\n  fork:\n    placment: random\n");
    const r = refsim(["run", "--spec", spec, "--out", join(dir, "out")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("workload.fork.placment");
    expect(r.stderr).not.toMatch(/\bat .+\.ts:\d+/);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("refuses checkpoint options without --cluster, and a --resume that would change the run, in one line with exit code 2", () => {
    const r1 = refsim(["run", "--checkpoint-every", "5", "--quiet"]);
    expect(r1.code).toBe(2);
    expect(r1.stderr.trim()).toBe("refsim: checkpoints need --cluster (they go to Redis)");
    const r2 = refsim(["run", "--resume", "abcdefgh1234", "--cpus", "4"]);
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim()).toBe("refsim: --resume continues run abcdefgh1234 as it was started: --cpus cannot change it");
    const r3 = refsim(["run", "--cluster", "--checkpoint-seconds", "soon", "--quiet"]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('--checkpoint-seconds: "soon" is not a whole number');
  });

  it("names the field of a bad value and of a CPU count the machine does not have", () => {
    const r1 = refsim(["run", "--machine", "small-4", "--cpus", "1,8", "--quiet"]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain("cpus.1");
    const r2 = refsim(["run", "--machine", "cray-1", "--quiet"]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("machine");
    const r3 = refsim(["run", "--duration", "two seconds", "--quiet"]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain("duration");
  });

  it("reports an unreadable or malformed spec file clearly", () => {
    const dir = tempDir();
    const missing = refsim(["run", "--spec", join(dir, "nope.yaml")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read spec file");
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "machine: [unclosed\n");
    const r = refsim(["run", "--spec", broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not valid YAML");
  });

  it("lists presets with their sources and prints the spec's JSON Schema", () => {
    const p = refsim(["presets"]);
    expect(p.code).toBe(0);
    for (const name of ["small-4", "opteron-48", "xeon-80", "modern-2s", "numa-4096", "fork-storm", "hot-line", "refcache"]) expect(p.stdout).toContain(name);
    expect(p.stdout).toContain("SOSP 2013");
    const s = refsim(["schema"]);
    expect(s.code).toBe(0);
    const schema = JSON.parse(s.stdout);
    expect(schema.properties.workload).toBeDefined();
    expect(schema.additionalProperties).toBe(false);
  });
});

describe("refsim CLI: errors up front, inputs that mean what they say", () => {
  // A run that would take minutes: these tests end in a second only if --out is checked first.
  const LONG = ["--machine", "xeon-80", "--cpus", "80", "--schemes", "clone-flags", "--duration", "2s", "--quiet"];

  it("checks --out before simulating: under a file, in /proc, a folder holding results without --force", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "x");
    const underFile = refsim(["run", ...LONG, "--out", join(dir, "file", "out")]);
    expect(underFile.code).toBe(2);
    expect(underFile.stderr.trim()).toBe(`refsim: --out ${join(dir, "file", "out")}: ${join(dir, "file")} is a file, not a folder`);
    const proc = refsim(["run", ...LONG, "--out", "/proc/refsim-x"]);
    expect(proc.code).toBe(2);
    expect(proc.stderr).toContain("kernel file system");
    const old = join(dir, "old");
    expect(refsim(["run", ...SMALL, "--schemes", "none", "--out", old]).code).toBe(0);
    const again = refsim(["run", ...LONG, "--out", old]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already holds files");
    expect(again.stderr).toContain("--force");
    expect(refsim(["run", ...SMALL, "--schemes", "none", "--out", old, "--force"]).code).toBe(0);
  });

  it("reports every spec error at once, names the bad entry of --schemes, and lists valid names", () => {
    const r = refsim(["run", "--machine", "small-4", "--cpus", "1,8", "--schemes", "clone-flags,nsproxi", "--workload", "fork-strom", "--seed", "x", "--quiet"]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n").slice(1).map((l) => l.trim());
    expect(lines.map((l) => l.split(":")[0]).sort()).toEqual(["cpus.1", "schemes.1", "seed", "workload"]);
    expect(r.stderr).toContain('schemes.1: "nsproxi" is not one of none, clone-flags,');
    expect(r.stderr).toContain("(presets: fork-storm, container-churn,");
  });

  it("--cpus 1-3 runs 1, 2 and 3 CPUs; without --cpus the counts follow --machine; a short --duration brings its own warm-up", () => {
    const a = tempDir();
    expect(refsim(["run", "--machine", "small-4", "--cpus", "1-3", "--schemes", "none", "--duration", "100us", "--quiet", "--out", a]).code).toBe(0);
    const docA = JSON.parse(readFileSync(join(a, "results.json"), "utf8"));
    expect(docA.runs.map((r: { cpus: number }) => r.cpus)).toEqual([1, 2, 3]);
    expect(docA.spec.warmup).toBe("10us");
    const b = tempDir();
    expect(refsim(["run", "--machine", "small-4", "--workload", "container-churn", "--schemes", "none", "--duration", "100us", "--quiet", "--out", b]).code).toBe(0);
    expect(JSON.parse(readFileSync(join(b, "results.json"), "utf8")).spec.cpus).toEqual([1, 2, 4]);
  });

  it("stays quiet when the reader of its stdout has gone (refsim presets | head): no EPIPE trace, the files written, the exit code kept", async () => {
    for (const args of [["presets"], ["schema"], ["--help"]]) {
      const r = await refsimClosedStdout(args);
      expect(r.stderr, args.join(" ")).toBe("");
      expect(r.code, args.join(" ")).toBe(0);
    }
    const out = tempDir();
    const tiny = ["run", "--machine", "small-4", "--cpus", "1,2", "--schemes", "none", "--duration", "100us", "--out", out];
    const ok = await refsimClosedStdout(tiny);
    expect(ok).toEqual({ code: 0, stderr: "" });
    expect(existsSync(join(out, "report.html"))).toBe(true);
    const gated = await refsimClosedStdout([...tiny, "--force", "--assert", "none.ops@2 > 1e15"]);
    expect(gated.code).toBe(1);
    expect(gated.stderr.trim()).toBe("refsim: 1 of 1 threshold(s) not met: none.ops@2 > 1e15");
  });

  it("prints its version", () => {
    const r = refsim(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^refsim \d+\.\d+\.\d+\+[0-9a-f]{12}$/);
  });
});

describe("refsim CLI: gates for CI", () => {
  it("--assert fails the command (exit 1) after writing the results when a threshold is missed, k6-style; compare reads two folders", () => {
    const out = tempDir();
    const r = refsim(["run", "--machine", "small-4", "--cpus", "1,2", "--schemes", "none", "--duration", "100us", "--out", out, "--assert", "none.total-ops@1 >= 1", "--assert", "none.ops@2 > 1e15"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Thresholds:\n {2}✓ none\.total-ops@1 >= 1 +\S+\n {2}✗ none\.ops@2 > 1e15 +\S+/);
    expect(r.stderr.trim()).toBe("refsim: 1 of 2 threshold(s) not met: none.ops@2 > 1e15");
    expect(existsSync(join(out, "results.json"))).toBe(true);
    const c = refsim(["compare", out, out]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/none\s+2\s+\S+\s+\S+\s+\+0%\s+\(needs 2\+ seeds\)/);
  });
});
