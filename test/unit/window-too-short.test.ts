import { describe, expect, it } from "vitest";
import { formatTable } from "../../coordinator/table.ts";
import { verdict } from "../../coordinator/verdict.ts";
import { windowTooShort } from "../../coordinator/figures.ts";
import { simulate } from "../../shared/simulation.ts";
import { runOf } from "./support/spec.ts";

// A fork costs 15 us: a window of 10 us (after a 2 us warm-up) ends with every CPU's first fork
// in flight, and none completed in it. That is what numa-4096 at 4096 CPUs under linux-6 does in
// 100 us: its forks queue behind thousands of CPUs at pidmap_lock for milliseconds.
describe("a measured window shorter than one operation", () => {
  const short = ["none", "clone-flags"].map((scheme) => simulate(runOf({ machine: "small-4", workload: "fork-storm", cpus: [4], schemes: [scheme], duration: "12us", warmup: "2us" })));

  it("counts the operations in flight at the end and how long the drain took, and says so in the table and the verdict instead of a bare 0", () => {
    const r = short[0];
    expect(r.totalOps).toBe(0);
    expect(r.kernelPath!.drain.operations).toBe(4);
    expect(r.kernelPath!.drain.afterWindowNs).toBeGreaterThan(3000);
    expect(windowTooShort(r)).toBe(true);
    const table = formatTable(short);
    expect(table).toMatch(/none\s+4\s+0~/);
    expect(table).toContain("~ 2 run(s) (none at 4, clone-flags at 4 CPUs) completed fewer operations in the measured window than were still in flight at its end (up to 4,");
    const v = verdict(short).summary;
    expect(v.some((l) => l.startsWith("2 run(s) (none at 4, clone-flags at 4 CPUs) completed fewer operations"))).toBe(true);
  });

  it("keeps quiet when the window holds many operations", () => {
    const long = simulate(runOf({ machine: "small-4", workload: "fork-storm", cpus: [2], schemes: ["none"], duration: "200us", warmup: "20us" }));
    expect(long.kernelPath!.drain.operations).toBeLessThanOrEqual(2);
    expect(windowTooShort(long)).toBe(false);
    expect(formatTable([long])).not.toContain("~");
  });
});
