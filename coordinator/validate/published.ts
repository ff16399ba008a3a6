/**
 * Every published figure refsim compares itself with. `role` says how the model uses it:
 * - `input`: the figure is a preset number (SSYNC's uncontended latencies, a measured local
 *   atomic); the comparison checks that the model reproduces its own inputs in the setting they
 *   were measured in (a ratio off 1 is a modelling artefact, e.g. the simulation's message floor).
 * - `calibration`: a contended measurement a preset's free parameter was fitted to (none yet: no
 *   contended figure for the preset machines could be read in full; see the README).
 * - `comparison`: a published figure the model was not fitted to.
 */
export type PublishedRole = "input" | "calibration" | "comparison";

/** Which isolated access the experiment times: an atomic or a load of a line Modified in another core. */
export type TransferKind = "atomic" | "load";

export interface TransferPoint {
  experiment: "transfer";
  source: string;
  machine: string;
  role: PublishedRole;
  kind: TransferKind;
  /** The CPU that holds the line Modified, and the CPU that then accesses it. */
  holder: number;
  requester: number;
  label: string;
  cycles: number;
}

export interface LocalAtomicPoint {
  experiment: "local-atomic";
  source: string;
  machine: string;
  role: PublishedRole;
  label: string;
  cycles: number;
}

export type PublishedPoint = TransferPoint | LocalAtomicPoint;

const SSYNC_T2 = "SSYNC (SOSP 2013) Table 2";

function ssync(machine: string, kind: TransferKind, holder: number, requester: number, label: string, cycles: number): TransferPoint {
  return { experiment: "transfer", source: SSYNC_T2, machine, role: "input", kind, holder, requester, label, cycles };
}

// CPU numbering (shared/machine/topology.ts): opteron-48 fills die 0 (CPUs 0-5), die 1 (6-11) of
// socket 0, then socket 1 (12-23, one hop on the ring), socket 2 (24-35, two hops). xeon-80: 10
// CPUs per socket; socket 1 is one hop from socket 0 on the 3-cube, socket 3 two hops.
export const PUBLISHED: readonly PublishedPoint[] = [
  ssync("opteron-48", "atomic", 0, 1, "atomic, same die", 110),
  ssync("opteron-48", "atomic", 0, 6, "atomic, same MCM", 197),
  ssync("opteron-48", "atomic", 0, 12, "atomic, one hop", 216),
  ssync("opteron-48", "atomic", 0, 24, "atomic, two hops", 296),
  ssync("opteron-48", "load", 0, 1, "load, same die", 81),
  ssync("opteron-48", "load", 0, 6, "load, same MCM", 161),
  ssync("opteron-48", "load", 0, 12, "load, one hop", 172),
  ssync("opteron-48", "load", 0, 24, "load, two hops", 252),
  ssync("xeon-80", "atomic", 0, 1, "atomic, same die", 120),
  ssync("xeon-80", "atomic", 0, 10, "atomic, one hop", 324),
  ssync("xeon-80", "atomic", 0, 30, "atomic, two hops", 430),
  ssync("xeon-80", "load", 0, 1, "load, same die", 109),
  ssync("xeon-80", "load", 0, 10, "load, one hop", 289),
  ssync("xeon-80", "load", 0, 30, "load, two hops", 400),
  {
    experiment: "local-atomic",
    source: "rygorous/atomic_ops_test, AMD family 10h",
    machine: "opteron-48",
    role: "input",
    label: "lock xadd on an owned line",
    cycles: 17,
  },
];
