import { CLASS_COUNT, DIE, DISTANCE_CLASSES, HOP1, HOP2, PACKAGE, SELF, SMT } from "./distance.ts";
import type { MachinePreset } from "./presets.ts";
import { Topology } from "./topology.ts";

/**
 * The share of a transfer's latency taken by one message between a CPU and a line's home
 * directory (a request, a recall or an invalidation). Assumed, like most interconnects'
 * request packets being small beside the data reply; it sets the model's lookahead too.
 */
export const MESSAGE_LEG_FRACTION = 1 / 8;

/** A machine's costs, resolved to integer picoseconds and indexed by distance class. */
export interface MachineCosts {
  /** Load of a line held by another cache; [SELF] is a local hit. */
  readPs: number[];
  /** Write or atomic RMW on a line held by another cache; [SELF] is a local atomic. */
  atomicPs: number[];
  /** How long one transfer of each class keeps its line busy. */
  occupancyPs: number[];
  /**
   * Under a `home-broadcast` cross-socket hand-off (MachinePreset.crossSocketHandOff), how long
   * a transfer that crosses sockets keeps its line busy: the atomic latency of the machine's
   * farthest socket pair plus a locked RMW, whatever CPUs the run uses. Null: the class's occupancy.
   */
  crossSocketOccupancyPs: number | null;
  /** DRAM fetch from a node at this distance from the CPU ([DIE] is the CPU's own node). */
  dramPs: number[];
  /**
   * One message between a CPU and a home node at this distance; also the least time a line's
   * data takes from one CPU to another at this distance (the lookahead rests on both).
   */
  legPs: number[];
  /** Whether requests reach the holder through the line's home directory (see MachinePreset.protocol). */
  directory: boolean;
  /** A load or store that hits the local cache. */
  hitPs: number;
  /** An atomic RMW on a line the CPU owns. */
  localAtomicPs: number;
  frequencyMHz: number;
}

export class Machine {
  readonly preset: MachinePreset;
  readonly topology: Topology;
  readonly costs: MachineCosts;

  constructor(preset: MachinePreset, cpuCount?: number) {
    this.preset = preset;
    this.topology = new Topology(preset.shape, cpuCount);
    this.costs = resolveCosts(preset);
  }

  get cpuCount(): number {
    return this.topology.cpuCount;
  }
  get nodeCount(): number {
    return this.topology.nodeCount;
  }

  /** Converts cycles at this machine's frequency to integer picoseconds. */
  cyclesToPs(cycles: number): number {
    return Math.round((cycles * 1e6) / this.costs.frequencyMHz);
  }
}

export function totalCpus(preset: MachinePreset): number {
  const s = preset.shape;
  return s.sockets * s.diesPerSocket * s.coresPerDie * s.threadsPerCore;
}

function resolveCosts(p: MachinePreset): MachineCosts {
  const toPs = (v: number) => (p.unit === "cycles" ? Math.round((v * 1e6) / p.frequencyMHz) : Math.round(v * 1000));
  const hitPs = toPs(p.localHit);
  const localAtomicPs = toPs(p.localAtomic);
  const readPs = fillClasses(p.read, toPs, hitPs);
  const atomicPs = fillClasses(p.atomic, toPs, localAtomicPs);
  const legPs = readPs.map((ps) => Math.max(1, Math.round(ps * MESSAGE_LEG_FRACTION)));
  const given = p.occupancy === undefined ? null : fillClasses(p.occupancy, toPs, localAtomicPs, true);
  // The hand-off mechanism (presets.ts, OCCUPANCY_MECHANISM), unless the preset gives a class's value.
  const occupancyPs = atomicPs.map((ps, cls) => {
    if (cls === SELF) return localAtomicPs;
    if (given !== null && given[cls] >= 0) return given[cls];
    return Math.max(legPs[cls], ps - 2 * legPs[cls] + localAtomicPs);
  });
  const crossSocketOccupancyPs = p.crossSocketHandOff === "home-broadcast" ? atomicPs[farthestSocketClass(p)] + localAtomicPs : null;
  const dramLocal = toPs(p.dramLocal);
  const dramPs = new Array<number>(CLASS_COUNT).fill(dramLocal);
  const remoteIndex = [PACKAGE, HOP1, HOP2];
  for (let i = 0; i < 3; i++) {
    const cls = remoteIndex[i];
    const given = p.dramRemote[i];
    // Without a published remote DRAM figure: local DRAM plus the extra cache-to-cache distance.
    dramPs[cls] = given !== null && given !== undefined ? toPs(given) : dramLocal + Math.max(0, atomicPs[cls] - atomicPs[DIE]);
  }
  const directory = p.protocol === "directory";
  return { readPs, atomicPs, occupancyPs, crossSocketOccupancyPs, dramPs, legPs, directory, hitPs, localAtomicPs, frequencyMHz: p.frequencyMHz };
}

/** The distance class of the machine's two farthest sockets (all of its sockets, used or not). */
function farthestSocketClass(p: MachinePreset): number {
  const whole = new Topology({ ...p.shape, diesPerSocket: 1, coresPerDie: 1, threadsPerCore: 1 });
  let farthest = DIE;
  for (let a = 0; a < p.shape.sockets; a++) for (let b = a + 1; b < p.shape.sockets; b++) farthest = Math.max(farthest, whole.socketDistance(a, b));
  return farthest;
}

/**
 * Fills [self, smt, die, package, hop1, hop2]; a missing class takes its nearer neighbour's value
 * (or stays -1 when `keepMissing`: the caller derives it).
 */
function fillClasses(values: Array<number | null>, toPs: (v: number) => number, selfPs: number, keepMissing = false): number[] {
  const out = new Array<number>(CLASS_COUNT).fill(0);
  out[SELF] = selfPs;
  const given = [SMT, DIE, PACKAGE, HOP1, HOP2].map((_, i) => values[i] ?? null);
  if (keepMissing) {
    for (let i = 0; i < given.length; i++) out[i + 1] = given[i] === null ? -1 : toPs(given[i] as number);
    return out;
  }
  let last: number | null = null;
  for (let i = 0; i < given.length; i++) {
    const v = given[i];
    if (v !== null) last = toPs(v);
    out[i + 1] = last ?? -1;
  }
  // Classes nearer than the first given value take that value.
  const firstGiven = out.findIndex((v, i) => i > 0 && v >= 0);
  for (let i = 1; i < firstGiven; i++) out[i] = out[firstGiven];
  return out;
}

export function describeCosts(m: Machine): Array<{ cls: string; readPs: number; atomicPs: number; occupancyPs: number }> {
  return DISTANCE_CLASSES.map((cls, i) => ({
    cls,
    readPs: m.costs.readPs[i],
    atomicPs: m.costs.atomicPs[i],
    occupancyPs: m.costs.occupancyPs[i],
  }));
}
