import { LINE_BYTES, type VarDecl } from "./variables.ts";

/**
 * How a container's variables are laid out (spec `vars.layout`):
 * - `scattered`: in the namespace structures they belong to, behind pointers (the clone model);
 *   an access pays one pointer chase per namespace structure it touches;
 * - `packed`: in one per-container area (the 2006 proposal);
 * - `percpu`: the per-container area plus a per-container-per-CPU part (a DEFINE_PER_CPU-like
 *   interface) that holds the per-CPU variables and the statistics counters, one copy per CPU;
 * - `native`: the scheme's own (scattered for the clone model's schemes, packed for the
 *   container schemes), what refsim modelled before layouts existed.
 */
export const VAR_LAYOUTS = ["native", "scattered", "packed", "percpu"] as const;
export type VarLayoutName = (typeof VAR_LAYOUTS)[number];
export type ConcreteLayout = Exclude<VarLayoutName, "native">;

/** Where one variable is: a byte offset in the shared area, or in each CPU's slot. */
export interface Placement {
  offset: number;
  bytes: number;
  perCpu: boolean;
}

/**
 * The variables one structure holds and where. The shared part (read-mostly words, then the
 * shared counters) starts at offset 0. Per-CPU copies are either an array in the structure (a
 * slot per CPU, `slotStride` apart: NR_CPUS-sized arrays) or per-CPU units (each CPU's copy in
 * that CPU's own per-CPU area, homed on its node).
 */
export interface Region {
  vars: number[];
  placements: Map<number, Placement>;
  /** Lines of the shared part: written when the structure is created. */
  sharedLines: number;
  perCpu: "none" | "array" | "unit";
  arrayBase: number;
  slotBytes: number;
  slotStride: number;
  /** Lines of one CPU's unit (`unit` only). */
  unitLines: number;
  /** Lines of the structure's area (shared part and array). */
  areaLines: number;
}

function roundUp(bytes: number): number {
  return Math.ceil(bytes / LINE_BYTES) * LINE_BYTES;
}

/**
 * Lays out `vars` (indices into `decls`) in one structure. Unpadded, everything is packed in
 * declaration order, so a counter shares its line with read-mostly words or with other CPUs'
 * copies (false sharing). Padded (____cacheline_aligned_in_smp), the counters start on a line of
 * their own and each CPU's slot takes whole lines.
 */
export function layOutRegion(decls: readonly VarDecl[], vars: readonly number[], layout: ConcreteLayout, padded: boolean, cpuCount: number): Region {
  const placements = new Map<number, Placement>();
  const perCpuClass = (v: number) => decls[v].class === "percpu" || (layout === "percpu" && decls[v].class === "written");
  let offset = 0;
  for (const v of vars) {
    if (decls[v].class !== "read") continue;
    placements.set(v, { offset, bytes: decls[v].bytes, perCpu: false });
    offset += decls[v].bytes;
  }
  const shared = vars.filter((v) => decls[v].class === "written" && !perCpuClass(v));
  if (padded && shared.length > 0) offset = roundUp(offset);
  for (const v of shared) {
    placements.set(v, { offset, bytes: decls[v].bytes, perCpu: false });
    offset += decls[v].bytes;
  }
  const sharedLines = Math.ceil(offset / LINE_BYTES);
  let slotBytes = 0;
  for (const v of vars) {
    if (!perCpuClass(v)) continue;
    placements.set(v, { offset: slotBytes, bytes: decls[v].bytes, perCpu: true });
    slotBytes += decls[v].bytes;
  }
  if (slotBytes === 0) {
    return { vars: [...vars], placements, sharedLines, perCpu: "none", arrayBase: 0, slotBytes: 0, slotStride: 0, unitLines: 0, areaLines: sharedLines };
  }
  if (layout === "percpu" && padded) {
    const unitLines = Math.ceil(slotBytes / LINE_BYTES);
    return { vars: [...vars], placements, sharedLines, perCpu: "unit", arrayBase: 0, slotBytes, slotStride: 0, unitLines, areaLines: sharedLines };
  }
  const arrayBase = padded ? roundUp(offset) : offset;
  const slotStride = padded ? roundUp(slotBytes) : slotBytes;
  const areaLines = Math.ceil((arrayBase + cpuCount * slotStride) / LINE_BYTES);
  return { vars: [...vars], placements, sharedLines, perCpu: "array", arrayBase, slotBytes, slotStride, unitLines: 0, areaLines };
}

/** The line indices a placement covers, on `cpu` for a per-CPU copy (unit indices for `unit`). */
export function placementLines(r: Region, p: Placement, cpu: number): { first: number; last: number; unit: boolean } {
  if (!p.perCpu) return { first: Math.floor(p.offset / LINE_BYTES), last: Math.floor((p.offset + p.bytes - 1) / LINE_BYTES), unit: false };
  if (r.perCpu === "unit") return { first: Math.floor(p.offset / LINE_BYTES), last: Math.floor((p.offset + p.bytes - 1) / LINE_BYTES), unit: true };
  const at = r.arrayBase + cpu * r.slotStride + p.offset;
  return { first: Math.floor(at / LINE_BYTES), last: Math.floor((at + p.bytes - 1) / LINE_BYTES), unit: false };
}
