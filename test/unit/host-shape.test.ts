import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseCpuinfo, parseLscpu } from "../../coordinator/calibrate/host-shape.ts";
import { classPairs, refsimOrder } from "../../coordinator/calibrate/placement.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/host/${name}`, import.meta.url), "utf8");

describe("host shape from /proc/cpuinfo", () => {
  it("a 2-vCPU VM (this project's CI machine): 1 socket x 2 cores, no SMT, 2445 MHz", () => {
    const h = parseCpuinfo(fixture("cpuinfo-vm-2core.txt"));
    expect(h).toMatchObject({ logicalCpus: 2, sockets: 1, coresPerSocket: 2, threadsPerCore: 1, modelName: "AMD EPYC", mhz: 2445, source: "/proc/cpuinfo" });
    expect(h.notes).toEqual([]);
  });

  it("a 2-socket SMT server listed first threads first, with gaps in the core ids: 2 x 4 x 2", () => {
    const h = parseCpuinfo(fixture("cpuinfo-server-2s-smt.txt"));
    expect(h).toMatchObject({ logicalCpus: 16, sockets: 2, coresPerSocket: 4, threadsPerCore: 2, modelName: "Intel(R) Xeon(R) Gold 6242 CPU @ 2.80GHz" });
    // The per-CPU "cpu MHz" differ (frequency scaling): their mean, and a note saying so.
    expect(h.mhz).toBe(Math.round((2800 * 6 + 1200.113 * 5 + 3100.437 * 5) / 16));
    expect(h.notes.join()).toContain("varies");
  });

  it("a single-socket SMT desktop: 1 x 6 x 2", () => {
    const h = parseCpuinfo(fixture("cpuinfo-desktop-smt.txt"));
    expect(h).toMatchObject({ logicalCpus: 12, sockets: 1, coresPerSocket: 6, threadsPerCore: 2, modelName: "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz" });
  });

  it("an ARM cpuinfo without physical id, model name or MHz: 4 cores on one socket, each assumption noted", () => {
    const h = parseCpuinfo(fixture("cpuinfo-arm-4core.txt"));
    expect(h).toMatchObject({ logicalCpus: 4, sockets: 1, coresPerSocket: 4, threadsPerCore: 1, mhz: null, modelName: "CPU implementer 0x41, part 0xd0c" });
    expect(h.notes.some((n) => n.includes("physical id"))).toBe(true);
    expect(h.notes.some((n) => n.includes("frequency unknown"))).toBe(true);
  });

  it("an uneven listing (one SMT sibling offline) rounds and says so", () => {
    const blocks = fixture("cpuinfo-desktop-smt.txt").split(/\n\s*\n/).filter((b) => b.trim() !== "");
    const h = parseCpuinfo(blocks.slice(0, 11).join("\n\n"));
    expect(h).toMatchObject({ logicalCpus: 11, sockets: 1, coresPerSocket: 6, threadsPerCore: 2 });
    expect(h.notes.join()).toContain("do not divide evenly");
  });

  it("rejects a text with no processor entries", () => {
    expect(() => parseCpuinfo("hello: world\n")).toThrow(/not a \/proc\/cpuinfo/);
    expect(() => parseCpuinfo(fixture("lscpu-vm-2core.txt"))).toThrow(/processor/);
  });
});

describe("host shape from lscpu", () => {
  it("the 2-vCPU VM: 1 x 2 x 1, no frequency line", () => {
    const h = parseLscpu(fixture("lscpu-vm-2core.txt"));
    expect(h).toMatchObject({ logicalCpus: 2, sockets: 1, coresPerSocket: 2, threadsPerCore: 1, modelName: "AMD EPYC", mhz: null, source: "lscpu" });
  });

  it("a 2-socket SMT server: 2 x 16 x 2 at the maximum frequency", () => {
    const h = parseLscpu(fixture("lscpu-server-2s-smt.txt"));
    expect(h).toMatchObject({ logicalCpus: 64, sockets: 2, coresPerSocket: 16, threadsPerCore: 2, mhz: 3900 });
    expect(h.notes).toEqual([]);
  });

  it("ARM's nested lscpu with Socket(s) '-': one socket assumed and noted", () => {
    const h = parseLscpu(fixture("lscpu-arm-4core.txt"));
    expect(h).toMatchObject({ logicalCpus: 4, sockets: 1, coresPerSocket: 4, threadsPerCore: 1, modelName: "Neoverse-N1" });
    expect(h.notes.join()).toContain("one socket assumed");
  });

  it("rejects text without a CPU(s) line", () => {
    expect(() => parseLscpu(fixture("cpuinfo-arm-4core.txt"))).toThrow(/CPU\(s\)/);
  });
});

describe("where calibrate pins its threads", () => {
  const places = (name: string) => parseCpuinfo(fixture(name)).places!;

  it("thread k goes to the host CPU that is refsim's CPU k: a socket's first threads, then its siblings, then the next socket", () => {
    expect(refsimOrder(places("cpuinfo-server-2s-smt.txt"))).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15]);
    expect(refsimOrder(places("cpuinfo-desktop-smt.txt"))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(refsimOrder(places("cpuinfo-vm-2core.txt"))).toEqual([0, 1]);
  });

  it("one ping-pong pair per distance class the host has", () => {
    expect(classPairs(places("cpuinfo-server-2s-smt.txt"))).toEqual({ smt: [0, 8], die: [0, 1], hop1: [0, 4] });
    expect(classPairs(places("cpuinfo-desktop-smt.txt"))).toEqual({ smt: [0, 6], die: [0, 1], hop1: null });
    expect(classPairs(places("cpuinfo-vm-2core.txt"))).toEqual({ smt: null, die: [0, 1], hop1: null });
  });

  it("no layout without physical id / core id (ARM, lscpu): the threads stay unpinned", () => {
    expect(parseCpuinfo(fixture("cpuinfo-arm-4core.txt")).places).toBeNull();
    expect(parseLscpu(fixture("lscpu-server-2s-smt.txt")).places).toBeNull();
  });
});
