/**
 * Distance classes between two hardware threads, nearest first:
 * - self: the same CPU;
 * - smt: another hardware thread of the same core;
 * - die: another core sharing the last-level cache (one NUMA memory node);
 * - package: another die of the same socket (e.g. the two dies of an Opteron MCM);
 * - hop1: a socket one interconnect hop away;
 * - hop2: a socket two or more hops away.
 * A home node is reached from a CPU with the same classes (die = the CPU's own node).
 */
export const DISTANCE_CLASSES = ["self", "smt", "die", "package", "hop1", "hop2"] as const;
export type DistanceClass = (typeof DISTANCE_CLASSES)[number];

export const SELF = 0;
export const SMT = 1;
export const DIE = 2;
export const PACKAGE = 3;
export const HOP1 = 4;
export const HOP2 = 5;
export const CLASS_COUNT = 6;
