import { describe, expect, it } from "vitest";
import { kernelPathCostsPs } from "../../shared/kernel-path/costs.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { simulate } from "../../shared/simulation.ts";
import { runsOf } from "./support/spec.ts";

// Nesting costs per level (issue 12 item 4): a fork in a container nested k levels deep pays a pid
// number per pid-namespace level (alloc_pid: idr_alloc under pidmap_lock, then the publish) and an
// RLIMIT_NPROC count per user-namespace level (inc_rlimit_ucounts), in every scheme that models
// those kinds, from each task's own namespaces; an exit frees them (free_pid, dec_rlimit_ucounts).

const NAMESPACED = ["clone-flags", "nsproxy", "container", "openvz", "percpu", "sloppy", "refcache"] as const;
const LEVELS: readonly number[] = [1, 4, 16];

function nested(levels: number, schemes: readonly string[], extra: Record<string, unknown> = {}): RunResult[] {
  return runsOf({
    machine: "small-4",
    cpus: [1],
    schemes: [...schemes],
    workload: { preset: "nested", containers: { count: 2, nesting: levels - 1, pinToSockets: false } },
    duration: "400us",
    warmup: "40us",
    ...extra,
  }).map((c) => simulate(c));
}

const forkNs = (r: RunResult) => r.latency.fork?.p50Ns ?? NaN;
const exitNs = (r: RunResult) => r.latency.exit?.p50Ns ?? NaN;

describe("nesting costs per level on the linux-6 path", () => {
  const byLevel = new Map(LEVELS.map((levels) => [levels, nested(levels, [...NAMESPACED, "none"])]));
  const at = (levels: number, scheme: string) => (byLevel.get(levels) as RunResult[]).find((r) => r.scheme === scheme) as RunResult;
  const c = kernelPathCostsPs();
  // The fixed work Linux adds per level (ps): a pid allocated and published per pid level on a
  // fork, freed on an exit; the pidmap_lock round trip and the ucounts atomic come on top.
  const forkPerLevelNs = (c.pidAllocPerLevel + c.pidPublishPerLevel) / 1000;
  const exitPerLevelNs = c.pidFreePerLevel / 1000;

  it.each(NAMESPACED)("under %s a fork's latency grows linearly with the nesting depth (1, 4, 16 levels), by at least the pid allocation of each level", (scheme) => {
    const [one, four, sixteen] = LEVELS.map((levels) => at(levels, scheme));
    for (const r of [one, four, sixteen]) expect(r.invariants.ok).toBe(true);
    const slopeLow = (forkNs(four) - forkNs(one)) / 3;
    const slopeHigh = (forkNs(sixteen) - forkNs(four)) / 12;
    expect(slopeLow).toBeGreaterThanOrEqual(forkPerLevelNs);
    // Linear as in Linux (a loop over the levels): the same cost per level at 4 and at 16.
    expect(Math.abs(slopeHigh - slopeLow)).toBeLessThan(0.1 * slopeLow);
    // Bounded above: the per-level work plus a local lock round trip and a local atomic or two.
    expect(slopeLow).toBeLessThan(forkPerLevelNs + 150);
    // Exits pay per level too.
    expect((exitNs(sixteen) - exitNs(one)) / 15).toBeGreaterThanOrEqual(exitPerLevelNs);
  });

  it("a scheme without namespaces pays the initial level only, however deep the workload's containers", () => {
    const [one, sixteen] = [1, 16].map((levels) => at(levels, "none"));
    expect(forkNs(sixteen)).toBe(forkNs(one));
  });

  it("each task pays its own depth: a fork that makes a new pid namespace (CLONE_NEWPID) pays one level more than a plain one", () => {
    const plain = nested(4, ["nsproxy"])[0];
    const newPid = nested(4, ["nsproxy"], { workload: { preset: "nested", containers: { count: 2, nesting: 3, pinToSockets: false }, fork: { placement: "same-socket", newNamespaces: ["pid"], childWork: "5us" } } })[0];
    // The child's extra level, beside the new namespace and bundle the scheme creates (under
    // linux-6 a pid namespace costs pidnsCreate, 3 us, and the bundle nsproxyCreate, 300 ns):
    // subtract those to compare the kernel path alone.
    const creation = (3000 + 300) * 1;
    expect(forkNs(newPid) - creation - forkNs(plain)).toBeGreaterThanOrEqual(forkPerLevelNs);
  });

  it("refcounts-only keeps its fixed fork cost (no kernel path): nesting costs nothing per level there", () => {
    const [one, sixteen] = [1, 16].map((levels) => nested(levels, ["nsproxy"], { kernel: "refcounts-only" })[0]);
    expect(Math.abs(forkNs(sixteen) - forkNs(one))).toBeLessThan(5);
  });
});

describe("live objects stay bounded at 16 levels", () => {
  // A run ten times longer ends with about as many live objects: nothing chains with time.
  it("nested at 16 levels: a 2 ms run ends within 1.5x (+8) the live objects of a 200 us run, for every scheme", () => {
    const live = (duration: string) =>
      runsOf({
        machine: "small-4",
        cpus: [2],
        schemes: [...NAMESPACED],
        workload: { preset: "nested", containers: { count: 2, nesting: 15, pinToSockets: false } },
        duration,
        warmup: "0ns",
        options: { refcacheEpoch: "20us", rcuGracePeriod: "20us" },
      }).map((c) => {
        const r = simulate(c);
        expect(r.invariants.ok).toBe(true);
        return r.memory.liveObjectsAtEnd;
      });
    const short = live("200us");
    const long = live("2ms");
    NAMESPACED.forEach((scheme, i) => expect({ scheme, short: short[i], long: long[i], bounded: long[i] <= 1.5 * short[i] + 8 }).toMatchObject({ scheme, bounded: true }));
  });
});
