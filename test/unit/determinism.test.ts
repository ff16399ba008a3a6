import { describe, expect, it } from "vitest";
import { simulate } from "../../shared/simulation.ts";
import { runOf } from "./support/spec.ts";

// Everything in the model is a pure function of the spec and its seed. The migration workload
// draws migration targets, fork placements and operations from the per-CPU streams, so the seed
// reaches the result.

function migration(seed: number, scheme = "nsproxy") {
  return runOf({ machine: "small-4", cpus: [4], schemes: [scheme], seed, duration: "300us", warmup: "30us", workload: "migration" });
}

describe("determinism", () => {
  it.each(["nsproxy", "percpu", "refcache"])("under %s, the same spec and seed give identical results, byte for byte", (scheme) => {
    const a = simulate(migration(7, scheme));
    const b = simulate(migration(7, scheme));
    expect(a.totalOps).toBeGreaterThan(0);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a).toEqual(b);
  });

  it("another seed changes the result", () => {
    const a = simulate(migration(7));
    const b = simulate(migration(8));
    expect(a.seed).not.toBe(b.seed);
    const { seed: _a, ...restA } = a;
    const { seed: _b, ...restB } = b;
    expect(restA).not.toEqual(restB);
  });

  it("watching every access through the trace hook does not change the result", () => {
    let seen = 0;
    const traced = simulate(migration(7), { trace: () => seen++ });
    const plain = simulate(migration(7));
    expect(seen).toBeGreaterThan(0);
    expect(traced).toEqual(plain);
  });

  it("the trace sees every access the result counts in the measured window, no more (one CPU)", () => {
    let seen = 0;
    const config = runOf({ machine: "small-4", cpus: [1], schemes: ["clone-flags"], duration: "200us", warmup: "20us", workload: "fork-storm" });
    const r = simulate(config, {
      trace: (_cpu, _line, _rmw, _arg, _source, timePs) => {
        if (timePs >= config.warmupPs && timePs < config.durationPs) seen++;
      },
    });
    const counted = Object.values(r.accessesBySource).reduce((x, y) => x + y, 0);
    expect(seen).toBe(counted);
  });
});
