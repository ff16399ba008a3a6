import { describe, expect, it } from "vitest";
import { CHECKPOINT_FORMAT, CheckpointError, decodeCheckpoint, encodeCheckpoint } from "../../shared/protocol/checkpoint.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { Partition } from "../../shared/protocol/partition.ts";
import { socketAligned } from "../../shared/protocol/partitioning.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec, type RunConfig } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";
import { runWindowed } from "../../shared/protocol/windowed.ts";
import { mergeReports } from "../../shared/report.ts";
import { SCHEME_NAMES } from "../../shared/schemes/index.ts";
import type { SchemeName } from "../../shared/schemes/scheme.ts";

function config(doc: Record<string, unknown>): RunConfig {
  return planRuns(resolveSpec(parseSpec(doc)))[0];
}

const WORKLOADS: Array<[string, Record<string, unknown>]> = [
  // The schemes' state alone (kernel: refcounts-only): with the kernel path's global locks on node 0
  // every window stays one lookahead long, and checkpointing every 29th would double this file's time.
  ["fork-storm with random placement on modern-2s x 16", { machine: "modern-2s", cpus: [16], kernel: "refcounts-only", workload: { preset: "fork-storm", fork: { placement: "random" } }, duration: "100us", warmup: "10us" }],
  ["migration on xeon-80 x 24", { machine: "xeon-80", cpus: [24], kernel: "refcounts-only", workload: "migration", duration: "80us", warmup: "8us" }],
  ["container churn on small-4", { machine: "small-4", cpus: [4], kernel: "refcounts-only", workload: { preset: "container-churn", fork: { placement: "random" } }, duration: "1ms", warmup: "100us", options: { refcacheEpoch: "100us" } }],
];

/** The linux-6 kernel path: lock words homed on node 0, waiters spinning in the other partitions. */
const KERNEL_PATH: Record<string, unknown> = { machine: "small-4", cpus: [4], kernel: "linux-6", workload: { preset: "fork-storm", fork: { placement: "random" } }, duration: "60us", warmup: "6us" };

describe("a partition restored from a checkpoint", () => {
  const cases: Array<[SchemeName, string, Record<string, unknown>]> = [];
  for (const scheme of SCHEME_NAMES) for (const [name, doc] of WORKLOADS) cases.push([scheme, name, doc]);
  // Lock state (words, MCS nodes, spinning CPUs, per-CPU lock statistics) is the same for every scheme.
  for (const scheme of ["nsproxy", "refcache"] as const) cases.push([scheme, "fork-storm under linux-6 with random placement on small-4", KERNEL_PATH]);
  {
    for (const [scheme, name, doc] of cases) {
      it(`continues exactly as if never stopped: ${scheme}, ${name}, 2 and 3 partitions`, () => {
        const c = config({ ...doc, schemes: [scheme] });
        const embedded = JSON.stringify(simulate(c));
        const machine = new Machine(c.machine, c.cpuCount);
        for (const partitions of [2, 3]) {
          const own = socketAligned(machine, Math.min(partitions, c.cpuCount));
          let restored = 0;
          // Every partition goes through a checkpoint every few windows (and once at window 0).
          const every = 29;
          const { result } = runWindowed(c, own, {}, undefined, (window, p) => {
            if (window % every !== 0) return p;
            restored++;
            return decodeCheckpoint(encodeCheckpoint(p), c, own, p.index);
          });
          expect(restored).toBeGreaterThan(0);
          expect(JSON.stringify(result)).toBe(embedded);
        }
      });
    }
  }

  it("restores mid-window state too: a partition stopped between events gives the same run", () => {
    const c = config({ ...WORKLOADS[0][1], schemes: ["refcache"] });
    const embedded = JSON.stringify(simulate(c));
    const p = new Partition(c);
    p.start();
    for (let t = 0; t < c.durationPs; t += 3_000_000) p.runUntil(t);
    const bytes = encodeCheckpoint(p);
    const q = decodeCheckpoint(bytes, c, p.ownership, 0);
    q.runUntil(c.durationPs);
    q.runUntil(Infinity);
    expect(JSON.stringify(mergeReports(c, [q.report()]))).toBe(embedded);
    // The whole machine in one process reclaims exited tasks, and goes on doing so once restored.
    expect(q.kernel.reclaimer).toBe(q);
    for (const o of q.kernel.objects.all()) if (o.type === 0 && o.createdPs > 0) expect(q.kernel.tasks.has(o.id)).toBe(true);
  });

  it("carries what waits for its reclaim boundary: the restored partition reclaims the same memory when it falls due", () => {
    const c = config({ machine: "small-4", cpus: [4], schemes: ["nsproxy"], kernel: "refcounts-only", workload: { preset: "fork-storm", fork: { newNamespaces: ["uts"] } }, duration: "1ms", warmup: "0ns" });
    const p = new Partition(c);
    p.start();
    p.runUntil(150_000_000);
    const q = decodeCheckpoint(encodeCheckpoint(p), c, p.ownership, 0);
    const heldAtCheckpoint = [...q.kernel.objects.all()].map((o) => o.id);
    for (const x of [p, q]) x.runUntil(350_000_000);
    const ids = (x: Partition) => [...x.kernel.objects.all()].map((o) => o.id);
    expect(ids(q)).toEqual(ids(p));
    // What was retired before the checkpoint is gone by the boundary at 300 us.
    const now = new Set(ids(q));
    expect(heldAtCheckpoint.filter((id) => !now.has(id)).length).toBeGreaterThan(20);
  });
});

describe("checkpoint bytes", () => {
  const c = config({ machine: "small-4", cpus: [4], schemes: ["nsproxy"], workload: "fork-storm", duration: "50us", warmup: "5us" });
  const p = new Partition(c);
  p.start();
  p.runUntil(20_000_000);
  const bytes = encodeCheckpoint(p);

  it("carry a header with the format version, and are compact", () => {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe("RSCK");
    expect(view.getUint32(4, true)).toBe(CHECKPOINT_FORMAT);
    expect(bytes.byteLength).toBeLessThan(200_000);
  });

  it("are rejected with a reason when damaged, never half-restored", () => {
    const bad = (b: Uint8Array) => () => decodeCheckpoint(b, c, p.ownership, 0);
    expect(bad(bytes.subarray(0, 10))).toThrow(/too short/);
    const magic = bytes.slice();
    magic[0] ^= 0xff;
    expect(bad(magic)).toThrow(/bad magic/);
    const version = bytes.slice();
    new DataView(version.buffer).setUint32(4, CHECKPOINT_FORMAT + 1, true);
    expect(bad(version)).toThrow(new RegExp(`format ${CHECKPOINT_FORMAT + 1} is not`));
    expect(bad(bytes.subarray(0, bytes.byteLength - 5))).toThrow(/truncated/);
    const corrupt = bytes.slice();
    for (let i = 40; i < 80; i++) corrupt[i] ^= 0x5a;
    expect(bad(corrupt)).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(bytes, c, p.ownership, 1)).toThrow();
  });

  it("refuse state they could not restore, naming where it is", () => {
    const q = new Partition(c);
    (q.kernel as unknown as Record<string, unknown>).stray = new (class Stray {})();
    expect(() => encodeCheckpoint(q)).toThrow(/instance of Stray at partition\.kernel\.stray/);
    (q.kernel as unknown as Record<string, unknown>).stray = () => 1;
    expect(() => encodeCheckpoint(q)).toThrow(/function \(anonymous\) at partition\.kernel\.stray/);
    (q.kernel as unknown as Record<string, unknown>).stray = new Float64Array(8).subarray(2);
    expect(() => encodeCheckpoint(q)).toThrow(/Float64Array at partition\.kernel\.stray \(a view of part of a buffer\)/);
  });
});
