import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostMachineFile } from "../../coordinator/calibrate/host-machine.ts";
import { parseCpuinfo } from "../../coordinator/calibrate/host-shape.ts";
import type { HostMeasurements } from "../../coordinator/calibrate/microbench.ts";
import { readMachineFile, specMachineFiles } from "../../coordinator/machine-file.ts";
import { MACHINE_FILE_FORMAT, MachineFileError, parseMachineFile } from "../../shared/machine/machine-file.ts";
import { findMachinePreset } from "../../shared/machine/presets.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";
import { readFileSync } from "node:fs";

const point = (threads: number, nsPerOp: number) => ({ threads, opsPerSec: (threads * 1e9) / nsPerOp, nsPerOp, wallOpsPerSec: 0, coRunShare: 1, transfersPerOp: 0, trials: [(threads * 1e9) / nsPerOp], spread: 0 });
const MEASURED: HostMeasurements = {
  date: "2026-12-01T20:00:00.000Z",
  method: "test figures",
  durationMsPerPoint: 50,
  paddingBytes: 128,
  shared: [point(1, 10), point(2, 80)],
  padded: [point(1, 10), point(2, 10)],
  pinned: true,
  pingPong: [{ cls: "die", cpus: [0, 1], oneWayNs: 120 }],
  trials: 1,
  loadAverageBefore: 0.1,
  loadAverage: 0.1,
  node: "v20",
};
const fixture = (name: string) => readFileSync(new URL(`./fixtures/host/${name}`, import.meta.url), "utf8");
const vmFile = () => JSON.parse(JSON.stringify(hostMachineFile(parseCpuinfo(fixture("cpuinfo-vm-2core.txt")), MEASURED)));

function rejection(doc: unknown): string {
  try {
    parseMachineFile(doc, "host.json");
  } catch (e) {
    expect(e).toBeInstanceOf(MachineFileError);
    expect((e as Error).message).not.toContain("\n");
    return (e as Error).message;
  }
  throw new Error("accepted");
}

describe("machine files", () => {
  it("the file calibrate writes is valid, says where every field comes from, and labels the unmeasured ones assumptions", () => {
    const f = parseMachineFile(vmFile(), "host.json");
    expect(f.format).toBe(MACHINE_FILE_FORMAT);
    expect(f.machine).toMatchObject({ name: "host", unit: "ns", localAtomic: 10, shape: { sockets: 1, coresPerDie: 2, threadsPerCore: 1 } });
    expect(f.machine.atomic).toEqual([null, 120, null, null, null]);
    expect(f.fieldSources.localAtomic).toMatch(/^measured by refsim calibrate on this host, 2026-12-01/);
    expect(f.fieldSources.atomic).toMatch(/measured/);
    expect(f.fieldSources.dramLocal).toMatch(/^assumed/);
    // Every field of the preset shape (whatever the model adds) has a source line.
    for (const k of Object.keys(findMachinePreset("modern-2s")!)) if (!["name", "summary", "source"].includes(k)) expect(f.fieldSources[k], k).toBeTruthy();
  });

  it("an SMT server's file takes its SMT and cross-socket transfers from the template, labelled assumed", () => {
    const f = hostMachineFile(parseCpuinfo(fixture("cpuinfo-server-2s-smt.txt")), MEASURED);
    const t = findMachinePreset("modern-2s")!;
    expect(f.machine.shape).toMatchObject({ sockets: 2, coresPerDie: 4, threadsPerCore: 2 });
    expect(f.machine.atomic).toEqual([t.atomic[0], 120, null, t.atomic[3], null]);
    expect(f.fieldSources.atomic).toMatch(/smt: assumed.*hop1: assumed/);
  });

  it("a pinned calibration's SMT and cross-socket ping-pongs become the machine's smt and hop1 transfers, each with its CPUs", () => {
    const pinned = { ...MEASURED, pingPong: [{ cls: "smt" as const, cpus: [0, 8] as [number, number], oneWayNs: 9 }, { cls: "die" as const, cpus: [0, 1] as [number, number], oneWayNs: 50 }, { cls: "hop1" as const, cpus: [0, 4] as [number, number], oneWayNs: 140 }] };
    const f = hostMachineFile(parseCpuinfo(fixture("cpuinfo-server-2s-smt.txt")), pinned);
    expect(f.machine.atomic).toEqual([9, 50, null, 140, null]);
    expect(f.machine.read).toEqual([9, 50, null, 140, null]);
    expect(f.fieldSources.atomic).toMatch(/smt: measured .* between CPUs 0 and 8; die: measured .* between CPUs 0 and 1; hop1: measured .* between CPUs 0 and 4/);
  });

  it("a source line the preset keeps beside a measured field (localAtomicSource) is replaced by the measurement's", () => {
    const f = parseMachineFile(vmFile(), "host.json");
    const fields = f.machine as unknown as Record<string, unknown>;
    if ("localAtomicSource" in fields) expect(fields.localAtomicSource).toBe(f.fieldSources.localAtomic);
  });

  it("accepts the optional per-class occupancy, and checks it like any other list", () => {
    const d = vmFile();
    d.machine.occupancy = [null, 60, null, null, null];
    // A given occupancy needs its source line like every other field.
    expect(rejection(d)).toMatch(/fieldSources\.occupancy: missing/);
    d.fieldSources.occupancy = "assumed: a test value";
    expect(parseMachineFile(d, "host.json").machine.occupancy).toEqual([null, 60, null, null, null]);
    d.machine.occupancy = [null, -1, null, null, null];
    expect(rejection(d)).toMatch(/machine\.occupancy: entry 1/);
  });

  it("names the missing field", () => {
    const doc = vmFile();
    delete doc.machine.localAtomic;
    expect(rejection(doc)).toBe("machine file host.json: machine.localAtomic: missing field");
    const nested = vmFile();
    delete nested.machine.shape.threadsPerCore;
    expect(rejection(nested)).toBe("machine file host.json: machine.shape.threadsPerCore: missing field");
  });

  it("names a malformed field: wrong type, negative latency, list length, unknown key, bad enum, preset name, missing source", () => {
    const bad = (mutate: (d: ReturnType<typeof vmFile>) => void) => {
      const d = vmFile();
      mutate(d);
      return rejection(d);
    };
    expect(bad((d) => (d.machine.dramLocal = "81ns"))).toMatch(/machine\.dramLocal: expected a number above 0$/);
    expect(bad((d) => (d.machine.localAtomic = -3))).toMatch(/machine\.localAtomic: expected a number above 0$/);
    expect(bad((d) => (d.machine.atomic = [1, 2]))).toMatch(/machine\.atomic: expected a list of 5/);
    expect(bad((d) => (d.machine.atomic[1] = 0))).toMatch(/machine\.atomic: entry 1/);
    expect(bad((d) => (d.machine.shape.sockets = 1.5))).toMatch(/machine\.shape\.sockets: expected a whole number/);
    expect(bad((d) => (d.machine.colour = 1))).toMatch(/machine\.colour: unknown field/);
    expect(bad((d) => (d.machine.unit = "furlongs"))).toMatch(/machine\.unit: expected one of cycles, ns/);
    expect(bad((d) => (d.machine.shape.socketLinks = "mesh"))).toMatch(/machine\.shape\.socketLinks/);
    expect(bad((d) => (d.machine.name = "xeon-80"))).toMatch(/machine\.name: "xeon-80" is a built-in preset's name/);
    expect(bad((d) => delete d.fieldSources.dramLocal)).toMatch(/fieldSources\.dramLocal: missing/);
    expect(bad((d) => delete d.fieldSources)).toMatch(/fieldSources: missing field/);
    expect(bad((d) => (d.measurements.date = 3))).toMatch(/measurements\.date/);
    expect(bad((d) => (d.format = "refsim-machine/0"))).toMatch(/format: expected "refsim-machine\/1"/);
    expect(rejection([])).toMatch(/expected a JSON object/);
  });

  it("reading: an absent file and bad JSON are one line naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "refsim-machine-"));
    expect(() => readMachineFile(join(dir, "none.json"), "none.json")).toThrow(/^machine file none\.json: cannot read it \(ENOENT\)$/);
    writeFileSync(join(dir, "broken.json"), "{ not json");
    expect(() => readMachineFile(join(dir, "broken.json"), "broken.json")).toThrow(/^machine file broken\.json: not valid JSON/);
  });

  it("a spec names the file by a path relative to its base folder, and the run simulates that machine", () => {
    const dir = mkdtempSync(join(tmpdir(), "refsim-machine-"));
    writeFileSync(join(dir, "host.json"), JSON.stringify(vmFile()));
    const doc = { machine: "./host.json", cpus: [1, 2], schemes: ["none"], workload: "local-line" };
    const machines = specMachineFiles(doc, dir);
    expect([...machines.keys()]).toEqual(["./host.json"]);
    const spec = resolveSpec(parseSpec(doc), machines);
    expect(spec).toMatchObject({ machine: "host", machineFile: "./host.json" });
    // 10 ns per local atomic: 1e8 increments per second per CPU.
    const [one, two] = planRuns(spec).map((c) => simulate(c));
    expect(one.throughputOpsPerSec).toBeCloseTo(1e8, -5);
    expect(two.throughputOpsPerSec).toBeCloseTo(2e8, -5);
    // The spec cannot exceed the file's CPUs, and an unread file is an error, not a silent preset.
    expect(() => resolveSpec(parseSpec({ ...doc, cpus: [4] }), machines)).toThrow(/cpus.0: host \(.\/host.json\) has 2 CPUs; cannot run on 4/);
    expect(() => resolveSpec(parseSpec(doc))).toThrow(/machine file \.\/host\.json was not read/);
    expect(() => parseSpec({ ...doc, machine: "host.yaml" })).toThrow(/or a machine file, a path ending in \.json/);
  });
});
