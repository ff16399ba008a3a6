import { describe, expect, it } from "vitest";
import { RMW_ATOMIC_ADD, RMW_NONE, RMW_PLAIN_ADD } from "../../shared/coherence/protocol.ts";
import { layOutRegion, placementLines } from "../../shared/container-vars/layout.ts";
import { DEFAULT_VARIABLES, type VarDecl } from "../../shared/container-vars/variables.ts";
import type { Kernel, Task } from "../../shared/kernel/kernel.ts";
import type { StepWriter } from "../../shared/kernel/program.ts";
import { simulate } from "../../shared/simulation.ts";
import { OperationBench } from "./support/operation-bench.ts";
import { runOf } from "./support/spec.ts";

const NET_WRITES = [1, 2];

/** One net-heavy access: read loopback_dev, increment rx_packets and tx_packets. */
function netAccess(k: Kernel, w: StepWriter, t: Task): void {
  k.vars.access(k, w, k.scheme.access(k, w, t.attach, t.id), [0], NET_WRITES);
}

function bench(scheme: string, layout: string, padded: boolean): OperationBench {
  return new OperationBench({ machine: "small-4", cpus: [4], schemes: [scheme], workload: "net-heavy", duration: "20us", warmup: "2us", kernel: "refcounts-only", vars: { layout, padded } });
}

describe("container-vars layout", () => {
  const all = DEFAULT_VARIABLES.map((_, i) => i);
  it("packed and padded: loopback_dev alone on line 0, the two counters on line 1", () => {
    const r = layOutRegion(DEFAULT_VARIABLES, all, "packed", true, 4);
    expect([0, 1, 2].map((v) => placementLines(r, r.placements.get(v)!, 0).first)).toEqual([0, 1, 1]);
    expect(r.sharedLines).toBe(2);
    expect(r.perCpu).toBe("none");
  });

  it("packed and unpadded: all three on one line (the counters beside the read-mostly pointer)", () => {
    const r = layOutRegion(DEFAULT_VARIABLES, all, "packed", false, 4);
    expect([0, 1, 2].map((v) => placementLines(r, r.placements.get(v)!, 3).first)).toEqual([0, 0, 0]);
    expect(r.sharedLines).toBe(1);
  });

  it("percpu and padded: the counters go to each CPU's own unit; unpadded: a slot array of 16 B per CPU packed after loopback_dev", () => {
    const padded = layOutRegion(DEFAULT_VARIABLES, all, "percpu", true, 80);
    expect(padded.perCpu).toBe("unit");
    expect(padded.unitLines).toBe(1);
    expect(placementLines(padded, padded.placements.get(1)!, 7)).toEqual({ first: 0, last: 0, unit: true });
    const unpadded = layOutRegion(DEFAULT_VARIABLES, all, "percpu", false, 80);
    expect(unpadded.perCpu).toBe("array");
    expect(unpadded.slotStride).toBe(16);
    // CPU c's rx counter at 8 + 16c: CPUs 0-2 share line 0 with loopback_dev, CPUs 4-7 line 1.
    const line = (cpu: number) => placementLines(unpadded, unpadded.placements.get(1)!, cpu).first;
    expect([0, 1, 2, 3, 4, 7, 8].map(line)).toEqual([0, 0, 0, 0, 1, 1, 2]);
    expect(unpadded.areaLines).toBe(Math.ceil((8 + 80 * 16) / 64));
  });

  it("per-CPU variables in scattered and packed layouts are NR_CPUS arrays: padded, a line per CPU", () => {
    const decls: VarDecl[] = [{ name: "cpu_stats", class: "percpu", bytes: 40 }];
    const r = layOutRegion(decls, [0], "packed", true, 8);
    expect(r.perCpu).toBe("array");
    expect([0, 1, 7].map((c) => placementLines(r, r.placements.get(0)!, c).first)).toEqual([0, 1, 7]);
    const u = layOutRegion(decls, [0], "packed", false, 8);
    expect([0, 1, 2].map((c) => placementLines(u, u.placements.get(0)!, c))).toEqual([
      { first: 0, last: 0, unit: false },
      { first: 0, last: 1, unit: false },
      { first: 1, last: 1, unit: false },
    ]);
  });
});

describe("container-vars accesses", () => {
  it("container, packed: thread_info, the container, then its area: loopback_dev read, two atomic increments on the counters' line", () => {
    const b = bench("container", "packed", true);
    const t = b.worker(0);
    const k = b.kernel;
    const r = b.run(0, (kk, w) => netAccess(kk, w, t));
    const c = t.attach[0];
    expect(r.accesses.map((a) => [a.line, a.rmw])).toEqual([
      [k.threadInfoLine(t.id), RMW_NONE],
      [k.readLine(c), RMW_NONE],
      [k.varsLine(c), RMW_NONE],
      [r.accesses[3].line, RMW_ATOMIC_ADD],
      [r.accesses[3].line, RMW_ATOMIC_ADD],
    ]);
    expect(k.lineHome(r.accesses[3].line)).toBe(k.object(c).home);
  });

  it("container, scattered: one more pointer chase, to the network namespace, whose structure holds the variables", () => {
    const b = bench("container", "scattered", true);
    const t = b.worker(0);
    const k = b.kernel;
    const net = k.object(t.attach[0]).holds[k.kindNames.indexOf("net")];
    const lines = b.run(0, (kk, w) => netAccess(kk, w, t)).accesses.map((a) => a.line);
    expect(lines.slice(0, 4)).toEqual([k.threadInfoLine(t.id), k.readLine(t.attach[0]), k.readLine(net), k.varsLine(net)]);
    expect(lines).toHaveLength(6);
  });

  it("percpu, padded: the increments are plain adds on a line of the CPU's own, homed on its node; every CPU has its own", () => {
    const b = bench("container", "percpu", true);
    const k = b.kernel;
    const seen = [0, 3].map((cpu) => {
      const t = b.worker(cpu);
      const r = b.run(cpu, (kk, w) => netAccess(kk, w, t));
      const incs = r.accesses.filter((a) => a.rmw === RMW_PLAIN_ADD);
      expect(incs).toHaveLength(2);
      expect(k.lineHome(incs[0].line)).toBe(k.machine.topology.nodeOf(cpu));
      return incs[0].line;
    });
    expect(seen[0]).not.toBe(seen[1]);
  });

  it("clone-flags: packed and scattered are the same when every variable is the network namespace's", () => {
    const lines = (layout: string) => {
      const b = bench("clone-flags", layout, true);
      const t = b.worker(0);
      return b.run(0, (kk, w) => netAccess(kk, w, t)).accesses.map((a) => [a.line, a.rmw]);
    };
    expect(lines("packed")).toEqual(lines("scattered"));
  });

  it("none: globals, no pointer chase", () => {
    const b = bench("none", "packed", true);
    const t = b.worker(0);
    const r = b.run(0, (kk, w) => netAccess(kk, w, t));
    expect(r.accesses.map((a) => a.line).slice(0, 2)).toEqual([b.kernel.threadInfoLine(t.id), b.kernel.varsLine(b.kernel.globalObject)]);
  });
});

/**
 * net-heavy under each layout (simulated values, short runs): the written packet counters
 * decide. Scattered (and packed) keep one shared counter word per container that every CPU
 * running its tasks increments; the padded per-CPU layout gives each CPU its own line. Without
 * its occasional forks (15 us each, which make a 20 us window's operation count noise), so the
 * accesses alone decide the throughput.
 */
describe("net-heavy: per-container counters under each layout", () => {
  const runs = (machine: string, cpus: number) => {
    const out: Record<string, ReturnType<typeof simulate>> = {};
    for (const [layout, padded] of [
      ["scattered", true],
      ["percpu", true],
      ["percpu", false],
    ] as const) {
      out[`${layout}${padded ? "" : "-unpadded"}`] = simulate(
        runOf({ machine, cpus: [cpus], schemes: ["container"], workload: { preset: "net-heavy", mix: { fork: 0 } }, duration: "30us", warmup: "10us", kernel: "refcounts-only", vars: { layout, padded } }),
      );
    }
    return out;
  };

  it.each([
    ["xeon-80", 40],
    ["numa-4096", 64],
  ] as const)("on %s x %i: padded percpu beats scattered, unpadded percpu shows false sharing", (machine, cpus) => {
    const r = runs(machine, cpus);
    const s = r.scattered.access;
    const p = r.percpu.access;
    const u = r["percpu-unpadded"].access;
    for (const x of Object.values(r)) expect(x.invariants.ok).toBe(true);
    // Scattered: the counters' line moves to the writer on most accesses.
    expect(s.transfersPerAccess).toBeGreaterThan(0.8);
    // Padded per-CPU: the counters stay in the CPU's cache after their first use.
    expect(p.transfersPerAccess).toBeLessThan(0.05);
    // Unpadded: CPUs 0-3's slots share loopback_dev's line, so its readers and those CPUs'
    // writers take the line from each other (false sharing): many times the padded transfers.
    expect(u.transfersPerAccess).toBeGreaterThan(5 * p.transfersPerAccess);
    expect(u.transfersPerAccess).toBeGreaterThan(0.05);
    // Throughput of the accesses themselves, and their latency.
    expect(p.operations).toBeGreaterThan(1.2 * s.operations);
    expect(r.percpu.latency.access!.p50Ns).toBeLessThan(r.scattered.latency.access!.p50Ns / 3);
    // The same lines touched either way (thread_info, the container, loopback_dev, the counters' line).
    expect(p.linesPerAccess).toBeCloseTo(4, 1);
    expect(s.linesPerAccess).toBeCloseTo(5, 1);
  });
});

describe("vars in a spec", () => {
  const base = { machine: "small-4", cpus: [4], workload: "net-heavy" };
  const error = (doc: Record<string, unknown>) => {
    try {
      runOf({ ...base, schemes: ["container"], ...doc });
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };

  it("names a bad layout, an unknown or misused variable, a duplicate and a kind not configured", () => {
    expect(error({ vars: { layout: "spread" } })).toBe('vars.layout: expected a variable layout: native, scattered, packed, percpu (got "spread")');
    expect(error({ workload: { preset: "net-heavy", access: { read: ["loopback_dev"], write: ["rx_bytes"] } } })).toBe(
      'workload.access.write.0: unknown variable "rx_bytes" (vars (the default variables) declares: loopback_dev, rx_packets, tx_packets)',
    );
    expect(error({ workload: { preset: "net-heavy", access: { read: ["rx_packets"], write: [] } } })).toBe(
      'workload.access.read.0: variable "rx_packets" is a written counter; an access reads only read-mostly variables',
    );
    expect(
      error({
        vars: {
          variables: [
            { name: "a", class: "read", bytes: 8 },
            { name: "a", class: "written", bytes: 8, namespace: "time" },
          ],
        },
        namespaces: ["uts", "net"],
        workload: "migration",
      }),
    ).toBe('vars.variables.1.name: variable "a" is declared twice\nvars.variables.1.namespace: namespace kind "time" is not among the configured kinds (uts, net)');
  });

  it("defaults: native layout, padded, the three default variables; a workload without `access` reads loopback_dev only", () => {
    const r = runOf({ ...base, schemes: ["nsproxy"], workload: "migration" });
    expect(r.vars.layout).toBe("native");
    expect(r.vars.padded).toBe(true);
    expect(r.vars.variables.map((v) => `${v.name}:${v.class}:${v.namespace}`)).toEqual(["loopback_dev:read:net", "rx_packets:written:net", "tx_packets:written:net"]);
    expect([r.workload.accessReads, r.workload.accessWrites]).toEqual([[0], []]);
    const n = runOf({ ...base, schemes: ["nsproxy"] });
    expect([n.workload.accessReads, n.workload.accessWrites]).toEqual([[0], [1, 2]]);
  });
});
