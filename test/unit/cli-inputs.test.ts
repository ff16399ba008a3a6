import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SpecError } from "../../shared/engine/errors.ts";
import { defaultCpuList, parseCpuList } from "../../coordinator/load-spec.ts";
import { freshDir, prepareOutDir } from "../../coordinator/out-dir.ts";
import { UsageError } from "../../coordinator/usage-error.ts";
import { sameOptions } from "../../coordinator/run-command.ts";

describe("--cpus syntax", () => {
  it("a range is every count in it; steps multiply (x) or add (+); items combine with commas", () => {
    expect(parseCpuList("1-3")).toEqual([1, 2, 3]);
    expect(parseCpuList("1-80")).toHaveLength(80);
    expect(parseCpuList("1-80").at(-1)).toBe(80);
    expect(parseCpuList("1-80:x2")).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(parseCpuList("3-80:x3")).toEqual([3, 9, 27]);
    expect(parseCpuList("8-80:+8")).toEqual([8, 16, 24, 32, 40, 48, 56, 64, 72, 80]);
    expect(parseCpuList("1,2, 4,6-8")).toEqual([1, 2, 4, 6, 7, 8]);
  });

  it("names the bad item and shows the syntax", () => {
    for (const bad of ["0-4", "4-1", "1-8:x1", "1-8:+0", "two", "1,,2", "1-8:*2"]) {
      expect(() => parseCpuList(bad)).toThrow(SpecError);
    }
    expect(() => parseCpuList("1,two")).toThrow(/cpus: "two" is not a CPU count or range \(give counts like 1,2,4, a range 1-80, or steps 1-80:x2, 8-80:\+8\)/);
  });

  it("the default list of a machine is its powers of two and the whole machine", () => {
    expect(defaultCpuList(4)).toEqual([1, 2, 4]);
    expect(defaultCpuList(80)).toEqual([1, 2, 4, 8, 16, 32, 64, 80]);
    expect(defaultCpuList(1)).toEqual([1]);
  });
});

describe("--out is checked before anything runs", () => {
  const root = () => mkdtempSync(join(tmpdir(), "refsim-out-"));

  it("creates a missing folder with its parents and accepts an empty one", () => {
    const dir = join(root(), "a", "b");
    prepareOutDir(dir);
    expect(existsSync(dir)).toBe(true);
    prepareOutDir(dir);
  });

  it("refuses a folder under a file, a file, a kernel file system, and one that holds files unless --force", () => {
    const r = root();
    writeFileSync(join(r, "file"), "x");
    expect(() => prepareOutDir(join(r, "file", "out"))).toThrow(/file, not a folder/);
    expect(() => prepareOutDir(join(r, "file"))).toThrow(UsageError);
    expect(() => prepareOutDir("/proc/refsim-out")).toThrow(/kernel file system/);
    expect(() => prepareOutDir("/sys/refsim-out")).toThrow(/kernel file system/);
    mkdirSync(join(r, "old"));
    writeFileSync(join(r, "old", "results.json"), "{}");
    expect(() => prepareOutDir(join(r, "old"))).toThrow(/already holds files.*--force/);
    prepareOutDir(join(r, "old"), { force: true });
    prepareOutDir(join(r, "old"), { resume: true });
  });

  it("a default folder never collides with an existing one", () => {
    const r = root();
    expect(freshDir(join(r, "t"))).toBe(join(r, "t"));
    mkdirSync(join(r, "t"));
    expect(freshDir(join(r, "t"))).toBe(join(r, "t-2"));
  });
});

describe("what a --resume must repeat", () => {
  it("names every server and queue option the interrupted command gave, and nothing when it gave none", () => {
    expect(sameOptions(["--nats", undefined], ["--redis", undefined], ["--queue", undefined])).toBe("");
    expect(sameOptions(["--nats", undefined], ["--redis", undefined], ["--queue", "q"])).toBe(" (with the same --queue)");
    expect(sameOptions(["--nats", "nats://h:4222"], ["--redis", "redis://h"], ["--queue", undefined])).toBe(" (with the same --nats and --redis)");
    expect(sameOptions(["--nats", "n"], ["--redis", "r"], ["--queue", "q"], ["--partition-queue", "p"])).toBe(" (with the same --nats, --redis, --queue and --partition-queue)");
  });
});
