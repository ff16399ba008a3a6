import { CLASS_COUNT } from "../machine/distance.ts";

/**
 * Where an access's data came from: a distance class 0..5 (SELF = a local hit) for a
 * cache-to-cache transfer, or DRAM. Carried in a LINE_DATA message with the upgrade flag.
 */
export const SOURCE_DRAM_LOCAL = CLASS_COUNT;
export const SOURCE_DRAM_REMOTE = CLASS_COUNT + 1;
export const SOURCE_COUNT = CLASS_COUNT + 2;
export const SOURCE_NAMES = ["hit", "smt", "die", "package", "hop1", "hop2", "dram-local", "dram-remote"] as const;

export function sourceCode(source: number, upgrade: boolean): number {
  return source * 2 + (upgrade ? 1 : 0);
}
export function sourceOf(code: number): number {
  return code >> 1;
}
export function isUpgrade(code: number): boolean {
  return (code & 1) === 1;
}
