import { findMachinePreset, type MachinePreset } from "../../shared/machine/presets.ts";
import { MACHINE_FILE_FORMAT, type MachineFile } from "../../shared/machine/machine-file.ts";
import type { HostShape } from "./host-shape.ts";
import type { HostMeasurements } from "./microbench.ts";

/**
 * The preset whose values stand in for what `refsim calibrate` cannot measure: the nearest
 * modern x86 server with published figures. Every field taken from it is labelled an assumption.
 */
export const TEMPLATE_PRESET = "modern-2s";
export const HOST_MACHINE_NAME = "host";

const round2 = (v: number) => Math.round(v * 100) / 100;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The machine file for this host: its shape, what was measured, and the template's values for the rest. */
export function hostMachineFile(host: HostShape, m: HostMeasurements): MachineFile {
  const template = findMachinePreset(TEMPLATE_PRESET);
  if (template === undefined) throw new Error(`the template preset ${TEMPLATE_PRESET} is gone`);
  const ns = (v: number | null) => (v === null ? null : round2(template.unit === "ns" ? v : (v * 1000) / template.frequencyMHz));
  const assumed = (what: string) => `assumed: ${TEMPLATE_PRESET}'s ${what} (refsim calibrate does not measure it)`;
  const day = m.date.slice(0, 10);
  const measured = `measured by refsim calibrate on this host, ${m.date}`;
  const smt = host.threadsPerCore > 1;
  const multiSocket = host.sockets > 1;
  const local = m.padded[0]?.nsPerOp;
  const localAtomic = local !== undefined && local > 0 ? round2(local) : (ns(template.localAtomic) as number);
  // The transfer classes [smt, die, package, hop1, hop2]: a ping-pong where one was measured, else the template's.
  const pings = (["smt", "die", "unpinned", "hop1"] as const).map((cls) => m.pingPong.find((p) => p.cls === cls && p.oneWayNs !== null));
  const [smtPing, diePing, hop1Ping] = [pings[0], pings[1] ?? pings[2], pings[3]];
  const has = [smt, true, false, multiSocket, false];
  const pinged = [smtPing, diePing, undefined, hop1Ping, undefined];
  const classes = (values: ReadonlyArray<number | null>) =>
    has.map((here, i) => (!here ? null : pinged[i] !== undefined ? round2(pinged[i]?.oneWayNs as number) : ns(values[i] ?? values[1])));
  const classSource = (what: string) =>
    (["smt", "die", "package", "hop1", "hop2"] as const)
      .map((cls, i) => {
        if (!has[i]) return null;
        const p = pinged[i];
        if (p === undefined) return `${cls}: ${assumed(`${cls} ${what}`)}${m.pingPong.length === 0 ? " (one CPU: no ping-pong)" : m.pinned ? "" : " (threads not pinned)"}`;
        return `${cls}: ${measured}, one-way ping-pong ${p.cpus !== null ? `between CPUs ${p.cpus[0]} and ${p.cpus[1]}` : "between two unpinned threads"}`;
      })
      .filter((s) => s !== null)
      .join("; ");
  const overrides = {
    name: HOST_MACHINE_NAME,
    summary:
      `${host.modelName ?? "this host"}: ${plural(host.sockets, "socket")} x ${plural(host.coresPerSocket, "core")} x ` +
      `${plural(host.threadsPerCore, "thread")}${host.mhz !== null ? `, ${host.mhz} MHz` : ""} (refsim calibrate, ${day})`,
    source:
      `Measured on this host by refsim calibrate, ${m.date} (${m.method}): an atomic increment on an owned line ` +
      `${localAtomic.toFixed(1)} ns (one thread, its own line, the JavaScript loop included)` +
      m.pingPong.map((p) => (p.oneWayNs !== null ? `; one-way ${p.cls} line transfer ${p.oneWayNs.toFixed(1)} ns (ping-pong)` : "")).join("") +
      `; load average ${m.loadAverage}. Shape from ${host.source}. Everything else is ${TEMPLATE_PRESET}'s value, an assumption ` +
      `(fieldSources in the machine file, or refsim presets --machine FILE, say which).`,
    shape: { sockets: host.sockets, diesPerSocket: 1, coresPerDie: host.coresPerSocket, threadsPerCore: host.threadsPerCore, socketLinks: "full" as const },
    frequencyMHz: host.mhz ?? template.frequencyMHz,
    unit: "ns" as const,
    atomic: classes(template.atomic),
    read: classes(template.read),
    localHit: ns(template.localHit) as number,
    localAtomic,
    dramLocal: ns(template.dramLocal) as number,
    dramRemote: template.dramRemote.map((v) => ns(v)),
  };
  const machine: MachinePreset = { ...template, ...overrides };
  const fieldSources: Record<string, string> = {
    shape:
      `detected from ${host.source}: ${plural(host.sockets, "socket")} x ${plural(host.coresPerSocket, "core")} x ${plural(host.threadsPerCore, "thread")}; ` +
      `one die (NUMA node) per socket and every socket one hop from every other assumed` +
      (host.notes.length > 0 ? `; ${host.notes.join("; ")}` : ""),
    frequencyMHz: host.mhz !== null ? `detected from ${host.source}` : assumed("frequency (the host reports none)"),
    unit: "ns: every latency below is in nanoseconds",
    atomic: classSource("transfer"),
    read: `${classSource("load")}; a load of a line Modified elsewhere is assumed to cost the measured CAS transfer (refsim calibrate times no plain load)`,
    localHit: assumed("L1 hit"),
    localAtomic: local !== undefined && local > 0 ? `${measured}: one thread's Atomics.add on its own padded counter, ns per increment` : assumed("local atomic"),
    dramLocal: assumed("local DRAM latency"),
    dramRemote: assumed("remote DRAM latencies"),
  };
  const fields = machine as unknown as Record<string, unknown>;
  for (const key of Object.keys(machine)) {
    if (["name", "summary", "source"].includes(key) || fieldSources[key] !== undefined) continue;
    // A preset's own source line of a field (localAtomicSource...) says where this file's value comes from.
    const of = key.endsWith("Source") ? key.slice(0, -"Source".length) : null;
    if (of !== null && fieldSources[of] !== undefined && !fieldSources[of].startsWith("assumed")) {
      fields[key] = fieldSources[of];
      fieldSources[key] = `the source line of ${of}`;
    } else fieldSources[key] = of !== null ? `${TEMPLATE_PRESET}'s source line of ${of}, whose value this file takes` : assumed(key);
  }
  return { format: MACHINE_FILE_FORMAT, machine, fieldSources, measurements: m as unknown as MachineFile["measurements"], host: { ...host } };
}
