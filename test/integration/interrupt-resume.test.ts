import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { start, type Finished } from "../support/refsim-process.ts";
import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";

// Interrupts keep what finished, a full disk loses nothing that finished, and --resume runs
// only what is missing, with results byte-identical to a run that was never stopped.

const base = mkdtempSync(join(tmpdir(), "refsim-interrupt-"));
// Every scheme at 3 CPU counts (24 short runs): enough that the signal lands with runs still to go.
const TOTAL = SCHEME_NAMES.length * 3;
const RUN = ["run", "--machine", "small-4", "--cpus", "1,2,4", "--workload", "migration", "--duration", "300us", "--quiet"];
const SWEEP_SPEC = join(base, "sweep.json");
writeFileSync(
  SWEEP_SPEC,
  JSON.stringify({ name: "interrupt test", machines: ["small-4"], workloads: ["migration"], schemes: ["clone-flags", "nsproxy", "percpu"], cpus: [1, 2, 4], seeds: [1, 2, 3], duration: "200us" }),
);

/** Resolves once `test()` holds, checked every 50 ms (a condition on the files, not a delay). */
async function until(test: () => boolean, child: { exitCode: number | null }): Promise<void> {
  while (!test()) {
    if (child.exitCode !== null) throw new Error("the process ended before the condition held");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const partialCount = (dir: string) => (existsSync(join(dir, "partial")) ? readdirSync(join(dir, "partial")).filter((f) => f !== "state.json").length : 0);
const read = (dir: string, file: string) => readFileSync(join(dir, file));

async function interrupted(args: string[], dir: string, after: number, signal: NodeJS.Signals): Promise<Finished> {
  const p = start([...args, "--out", dir]);
  await until(() => partialCount(dir) >= after, p.child);
  p.child.kill(signal);
  return p.done;
}

describe("interrupts keep what finished; --resume finishes it identically", () => {
  it("run: SIGINT after a few runs writes them (marked incomplete), exits 130, and run --resume DIR completes it byte for byte", async () => {
    const whole = join(base, "run-whole");
    expect((await start([...RUN, "--out", whole]).done).code).toBe(0);
    const dir = join(base, "run-cut");
    const r = await interrupted(RUN, dir, 2, "SIGINT");
    expect(r.code).toBe(130);
    const doc = JSON.parse(read(dir, "results.json").toString());
    expect(doc.incomplete).toMatchObject({ reason: "interrupted by SIGINT", total: TOTAL, continueWith: `refsim run --resume ${dir}` });
    expect(doc.incomplete.done).toBeGreaterThanOrEqual(2);
    expect(doc.incomplete.done).toBeLessThan(TOTAL);
    expect(doc.runs).toHaveLength(doc.incomplete.done);
    expect(read(dir, "results.csv").toString().trim().split("\n")).toHaveLength(1 + doc.incomplete.done);
    expect(r.stderr).toContain(`refsim: interrupted by SIGINT: kept ${doc.incomplete.done} of ${TOTAL} runs in ${dir}: results.json (marked incomplete), results.csv, report.html`);
    expect(r.stderr).toContain(`refsim: continue with: refsim run --resume ${dir}`);
    const resumed = await start(["run", "--resume", dir, "--quiet"]).done;
    expect(resumed.code).toBe(0);
    expect(read(dir, "results.json").equals(read(whole, "results.json"))).toBe(true);
    expect(read(dir, "results.csv").equals(read(whole, "results.csv"))).toBe(true);
    expect(existsSync(join(dir, "partial"))).toBe(false);
  }, 240_000);

  it("sweep: SIGTERM mid-sweep keeps the finished points, and sweep --resume DIR runs only the rest, byte for byte", async () => {
    const whole = join(base, "sweep-whole");
    expect((await start(["sweep", SWEEP_SPEC, "--quiet", "--workers", "2", "--out", whole]).done).code).toBe(0);
    const dir = join(base, "sweep-cut");
    const r = await interrupted(["sweep", SWEEP_SPEC, "--workers", "2"], dir, 4, "SIGTERM");
    expect(r.code).toBe(130);
    const doc = JSON.parse(read(dir, "results.json").toString());
    expect(doc.incomplete).toMatchObject({ reason: "interrupted by SIGTERM", total: 27, continueWith: `refsim sweep --resume ${dir}` });
    expect(doc.runs).toHaveLength(doc.incomplete.done);
    expect(r.stderr).toContain(`continue with: refsim sweep --resume ${dir}`);
    const kept = doc.incomplete.done;
    const resumed = await start(["sweep", "--resume", dir, "--workers", "2"]).done;
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`; ${kept} done before`);
    // Only the missing points ran: one progress line each.
    expect(resumed.stderr.split("\n").filter((l) => /^\[\d+\/27/.test(l))).toHaveLength(27 - kept);
    expect(read(dir, "results.json").equals(read(whole, "results.json"))).toBe(true);
    expect(read(dir, "results.csv").equals(read(whole, "results.csv"))).toBe(true);
  }, 240_000);
});

describe("a full disk loses nothing that finished", () => {
  const mnt = join(base, "tmpfs");
  let mounted = false;
  let why = "";
  try {
    mkdirSync(mnt);
    // 16 pages: the sweep's state and a dozen points fit, the rest do not.
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], { stdio: "pipe" });
    mounted = true;
  } catch (e) {
    why = `cannot mount a tmpfs here (${(e as Error).message.split("\n")[0]}): needs root or CAP_SYS_ADMIN`;
  }
  afterAll(() => {
    if (mounted) execFileSync("umount", [mnt]);
    rmSync(base, { recursive: true, force: true });
  });

  it.skipIf(!mounted)(`an embedded sweep on a full tmpfs names the file, keeps its finished points, and resumes once there is room${why === "" ? "" : ` (skipped: ${why})`}`, async () => {
    const whole = join(base, "sweep-whole");
    const dir = join(mnt, "out");
    const r = await start(["sweep", SWEEP_SPEC, "--workers", "2", "--out", dir]).done;
    expect(r.code).toBe(1);
    const line = r.stderr.split("\n").find((l) => l.startsWith("refsim: cannot write")) ?? "";
    expect(line).toMatch(new RegExp(`^refsim: cannot write ${dir}/partial/p-[0-9a-f]{16}\\.json: no space left on the device \\(ENOSPC\\); kept: \\d+ finished points in ${dir}/partial`));
    const files = readdirSync(join(dir, "partial"));
    expect(files.some((f) => f.includes(".tmp-"))).toBe(false);
    // Every file kept is whole.
    for (const f of files) expect(() => JSON.parse(readFileSync(join(dir, "partial", f), "utf8"))).not.toThrow();
    const kept = files.length - 1;
    expect(kept).toBeGreaterThan(0);
    execFileSync("mount", ["-o", "remount,size=4m", mnt]);
    const resumed = await start(["sweep", "--resume", dir, "--workers", "2"]).done;
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`; ${kept} done before`);
    // The reference (from the test above, or made here when this one runs alone).
    if (!existsSync(join(whole, "results.json"))) expect((await start(["sweep", SWEEP_SPEC, "--quiet", "--workers", "2", "--out", whole]).done).code).toBe(0);
    expect(read(dir, "results.json").equals(read(whole, "results.json"))).toBe(true);
  }, 240_000);
});
