import { CLASS_COUNT } from "../machine/distance.ts";

/**
 * Where an access's data came from: a distance class 0..5 (SELF = a local hit) for a
 * cache-to-cache transfer, or DRAM. Carried in a LINE_DATA message with the upgrade flag.
 */
export const SOURCE_DRAM_LOCAL = CLASS_COUNT;
export const SOURCE_DRAM_REMOTE = CLASS_COUNT + 1;
export const SOURCE_COUNT = CLASS_COUNT + 2;
export const SOURCE_NAMES = ["hit", "smt", "die", "package", "hop1", "hop2", "dram-local", "dram-remote"] as const;

/**
 * EV_LINE_DATA's a3: where the data came from; whether it is an upgrade (no data moved); whether
 * other requests were waiting when the line was granted (the requester hands it on after this
 * access, see Cpu.onData).
 */
export function sourceCode(source: number, upgrade: boolean, contended = false): number {
  return source * 4 + (upgrade ? 2 : 0) + (contended ? 1 : 0);
}
export function sourceOf(code: number): number {
  return code >> 2;
}
export function isUpgrade(code: number): boolean {
  return (code & 2) === 2;
}
export function isContended(code: number): boolean {
  return (code & 1) === 1;
}
