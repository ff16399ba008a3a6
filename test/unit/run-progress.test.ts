import { describe, expect, it } from "vitest";
import { distributionAdvice, RunProgress, simulatedTime, wallTime } from "../../coordinator/run-progress.ts";
import type { DistributedStats } from "../../coordinator/distributed.ts";
import type { RunnerStats } from "../../worker/partition-runner.ts";
import type { RunConfig } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";
import { runsOf } from "./support/spec.ts";

const PLAN = runsOf({ machine: "small-4", cpus: [1, 3], schemes: ["clone-flags", "percpu"], workload: "migration", duration: "100us", warmup: "10us" });

/** A progress display on a fake clock, writing to a list. */
function display(interactive: boolean, done: number[] = []) {
  const clock = { t: 0 };
  const out: string[] = [];
  const progress = new RunProgress(PLAN, done, { interactive, write: (t) => out.push(t), now: () => clock.t }, 5000);
  return { progress, clock, out };
}

describe("run progress in simulated time", () => {
  it("weighs each run by CPUs x duration: half of a 3-CPU run is 3/8 of the rest after a 1-CPU run", () => {
    const { progress, clock } = display(false);
    progress.begin(0);
    progress.done(0);
    expect(progress.share()).toBeCloseTo(1 / 8, 10);
    progress.begin(1);
    clock.t = 4000;
    progress.simulated(1, 50_000_000);
    expect(progress.share()).toBeCloseTo(1 / 8 + 3 / 16, 10);
    // 5/16 of the work in 4 s: 11/16 left takes 8.8 s more
    expect(progress.etaMs()).toBeCloseTo((4000 * 11) / 5, 6);
    expect(progress.line()).toBe("31% | ETA 9s | run 2/4 clone-flags @ 3 CPUs: 50us of 100us simulated");
  });

  it("gives no ETA in the first moments, and does not count runs finished before a resume as speed", () => {
    const { progress, clock } = display(false, [0, 1]);
    expect(progress.share()).toBeCloseTo(4 / 8, 10);
    progress.begin(2);
    clock.t = 1000;
    progress.simulated(2, 100_000_000);
    expect(progress.etaMs()).toBeNull();
    clock.t = 2000;
    progress.done(2);
    // 1/8 of the work in 2 s since this command started: 3/8 left takes 6 s
    expect(progress.etaMs()).toBeCloseTo(6000, 6);
  });

  it("without a terminal writes nothing in its first few seconds (a short command prints no progress), then a plain line every few seconds, never a control code", () => {
    const { progress, clock, out } = display(false);
    progress.begin(0);
    for (let t = 100; t <= 12_000; t += 100) {
      clock.t = t;
      progress.simulated(0, (t / 12_000) * 100_000_000);
    }
    progress.stop();
    // At 5 s and at 10 s.
    expect(out).toHaveLength(2);
    expect(out.every((l) => l.startsWith("refsim: ") && l.endsWith("\n") && !l.includes("\u001b"))).toBe(true);
    expect(out[1]).toMatch(/^refsim: \d+% \| ETA [\dm]+s \| run 1\/4 clone-flags @ 1 CPU: [\d.]+us of 100us simulated\n$/);
  });

  it("on a terminal redraws one line in place, hides the cursor and shows it again at the end; notes go above the bar", () => {
    const { progress, clock, out } = display(true);
    expect(out[0]).toBe("\u001b[?25l");
    progress.begin(0);
    clock.t = 50;
    progress.simulated(0, 1_000_000);
    clock.t = 150;
    progress.windows(0, { window: 10, simulatedPs: 2_000_000 });
    clock.t = 1150;
    progress.windows(0, { window: 510, simulatedPs: 3_000_000 });
    expect(out.at(-1)).toMatch(/^\r\u001b\[2K  [\u2588\u2591]{24} \d+% .* \| 500 windows\/s$/);
    progress.note("refsim: a note");
    expect(out.at(-2)).toBe("\r\u001b[2Krefsim: a note\n");
    progress.stop();
    expect(out.at(-1)).toBe("\r\u001b[2K\u001b[?25h");
  });

  it("prints simulated and wall times readably", () => {
    expect([2_000_000_000, 1_200_000_000, 850_000_000, 0].map(simulatedTime)).toEqual(["2ms", "1.2ms", "850us", "0ps"]);
    expect([45_000, 185_000, 3_720_000].map(wallTime)).toEqual(["45s", "3m05s", "1h02m"]);
  });

  it("a simulation told its progress gives the same result, and hears its simulated time rise to the duration", () => {
    const config: RunConfig = PLAN[1];
    const seen: number[] = [];
    const told = simulate(config, {}, (ps) => seen.push(ps));
    expect(JSON.stringify(told)).toBe(JSON.stringify(simulate(config)));
    expect(seen.length).toBeGreaterThan(100);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBeLessThan(config.durationPs);
  });
});

function stats(wallMs: number, busyMs: number[], windows: number): DistributedStats {
  return {
    partitions: busyMs.length,
    windows,
    lookaheadPs: 60_000,
    wallMs,
    crossEvents: 0,
    rejected: 0,
    epochs: 1,
    rollbacks: [],
    partitionStats: busyMs.map((b) => ({ windows, busyMs: b }) as RunnerStats),
    coordinatorMessages: 0,
    coordinatorBytes: 0,
  };
}

describe("the distribution-is-slower advice", () => {
  it("says so when the run took longer than its partitions' busy time together (what one process would take), with the windows and what to do", () => {
    const advice = distributionAdvice(PLAN[1], stats(67_000, [1500, 1600], 40_000), 850_000, "cluster");
    expect(advice).toContain("distribution is slower than one process here: clone-flags @ 3 CPUs took 67.0 s over 2 partitions");
    expect(advice).toContain("40000 windows of 21.3 events each (lookahead 60ns");
    expect(advice).toContain("one process would take about 3.1 s");
    expect(advice).toContain("Run it without --cluster");
    expect(distributionAdvice(PLAN[1], stats(67_000, [1500, 1600], 40_000), 850_000, "threads")).toContain("Run it without --workers");
  });

  it("stays quiet when distribution paid, for one partition and for short runs", () => {
    expect(distributionAdvice(PLAN[1], stats(4000, [3500, 3600], 100), 1e7, "cluster")).toBeNull();
    expect(distributionAdvice(PLAN[1], stats(60_000, [1000], 100), 1e7, "cluster")).toBeNull();
    expect(distributionAdvice(PLAN[1], stats(900, [10, 10], 100), 1e4, "cluster")).toBeNull();
  });
});
