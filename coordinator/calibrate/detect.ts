import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { parseCpuinfo, parseLscpu, type HostShape } from "./host-shape.ts";

function lscpuText(): string | null {
  const r = spawnSync("lscpu", [], { encoding: "utf8", timeout: 5000, env: { ...process.env, LC_ALL: "C" } });
  return r.status === 0 && typeof r.stdout === "string" ? r.stdout : null;
}

/**
 * This host's shape: /proc/cpuinfo when it lists sockets and cores, else `lscpu`, else
 * /proc/cpuinfo's guess, else Node's CPU count (one socket, no SMT).
 */
export function detectHost(): HostShape {
  let fromCpuinfo: HostShape | null = null;
  try {
    fromCpuinfo = parseCpuinfo(readFileSync("/proc/cpuinfo", "utf8"));
    if (!fromCpuinfo.notes.some((n) => n.includes("physical id"))) return fromCpuinfo;
  } catch {
    // Not Linux, or an unreadable /proc: try lscpu.
  }
  const text = lscpuText();
  if (text !== null) {
    try {
      return parseLscpu(text);
    } catch {
      // An lscpu we cannot read: fall through.
    }
  }
  if (fromCpuinfo !== null) return fromCpuinfo;
  const n = cpus().length || availableParallelism();
  return { logicalCpus: n, sockets: 1, coresPerSocket: n, threadsPerCore: 1, modelName: cpus()[0]?.model ?? null, mhz: cpus()[0]?.speed || null, source: "/proc/cpuinfo", places: null, notes: ["neither /proc/cpuinfo nor lscpu could be read: Node's CPU list, one socket, no SMT assumed"] };
}
