import { objectLine, SLOT_VARS } from "../kernel/objects.ts";

/**
 * Line identifiers of per-container variables. An object's variable area is lines 0..n-1 of the
 * object: line 0 is the object's own vars line (objectLine(obj, SLOT_VARS), which every object
 * writes when created), lines 1.. sit in a range of their own above VAR_LINE_BASE, `stride` per
 * object. A per-CPU unit line (a CPU's own copy, the padded `percpu` layout) sits below
 * -VAR_LINE_BASE, `slotLines` per object and CPU, homed on that CPU's node as Linux's per-CPU
 * areas are. Object lines (obj * 4 + slot) and per-CPU count lines (-1 - (obj * cpus + cpu)) stay
 * far from both ranges for any object id below 2^40.
 */
export const VAR_LINE_BASE = 2 ** 48;

export function areaLine(obj: number, index: number, stride: number): number {
  return index === 0 ? objectLine(obj, SLOT_VARS) : VAR_LINE_BASE + obj * stride + index;
}

export function unitLine(obj: number, cpu: number, index: number, cpuCount: number, slotLines: number): number {
  return -VAR_LINE_BASE - ((obj * cpuCount + cpu) * slotLines + index);
}

/** Whether a line is a variable line of the VAR_LINE_BASE ranges (area line 0 is an object line). */
export function isVarLine(line: number): boolean {
  return line >= VAR_LINE_BASE || line <= -VAR_LINE_BASE;
}

/** For a variable line: the object (area line) or the CPU (unit line) that decides its home. */
export function varLineOwner(line: number, cpuCount: number, stride: number, slotLines: number): { obj: number; cpu: number } {
  if (line >= VAR_LINE_BASE) return { obj: Math.floor((line - VAR_LINE_BASE) / stride), cpu: -1 };
  const unit = Math.floor((-line - VAR_LINE_BASE) / slotLines);
  return { obj: Math.floor(unit / cpuCount), cpu: unit % cpuCount };
}
