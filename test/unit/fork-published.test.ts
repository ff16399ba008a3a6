import { describe, expect, it } from "vitest";
import { formatPublishedProcess, peakAndFall, PUBLISHED_PROCESS_CURVES, publishedProcessRows, type PublishedProcessCurve } from "../../coordinator/validate/fork-published.ts";
import { forkStormPeaks, type ForkStormPoint } from "../../coordinator/validate/fork-storm.ts";

describe("published process-creation curves beside the model", () => {
  it("each names its source, its machine, the preset and what is not like for like; its points are as published", () => {
    for (const c of PUBLISHED_PROCESS_CURVES) {
      expect(c.url).toMatch(/^https:\/\//);
      expect(c.notLikeForLike.length).toBeGreaterThan(40);
      expect(c.points[0][0]).toBe(1);
    }
    const execl = PUBLISHED_PROCESS_CURVES[0];
    expect(peakAndFall(execl.points)).toEqual({ peakCpus: 16, peak: 11968.8, lastCpus: 128, lastOverPeak: 0.64 });
  });

  it("runs the model at the source's counts up to the preset's size (and at its size), and leaves the rest blank", () => {
    const curve: PublishedProcessCurve = { ...PUBLISHED_PROCESS_CURVES[0], preset: "small-4", points: [[1, 10], [2, 18], [8, 12]] };
    const rows = publishedProcessRows(curve, "80us", "10us");
    expect(rows.map((r) => r.cpus)).toEqual([1, 2, 4, 8]);
    expect(rows.map((r) => r.publishedRelative)).toEqual([1, 1.8, null, 1.2]);
    expect(rows[0].modelRelative).toBe(1);
    expect(rows[2].modelOpsPerSec).toBeGreaterThan(rows[0].modelOpsPerSec as number);
    expect(rows[3].modelOpsPerSec).toBeNull();
    const text = formatPublishedProcess(curve, rows);
    expect(text).toContain(curve.url);
    expect(text).toContain("published: peaks at 2 copies, keeps 0.67 of the peak at 8");
  });

  it("says where each scheme's fork-storm throughput peaks and what is left at all CPUs", () => {
    const p = (cpus: number, none: number): ForkStormPoint => ({ machine: "m", cpus, throughput: { none, nsproxy: none / 2, "clone-flags": none / 4 }, nsproxyRefShare: 0, cloneFlagsRefShare: 0, lockWaitShare: 0, topLock: "-", windowTooShort: false });
    const [line] = forkStormPeaks([p(1, 100), p(10, 800), p(80, 400)]);
    expect(line).toBe("m: none peaks at 10 CPUs (800 ops/s, 80% of linear from 1) and keeps 50% of it at 80; nsproxy peaks at 10 CPUs (400 ops/s, 80% of linear from 1) and keeps 50% of it at 80; clone-flags peaks at 10 CPUs (200 ops/s, 80% of linear from 1) and keeps 50% of it at 80.");
  });
});
