/**
 * Every published figure refsim compares itself with. `role` says how the model uses it:
 * - `input`: the figure is a preset number (SSYNC's uncontended latencies, a measured local
 *   atomic); the comparison checks that the model reproduces its own inputs in the setting they
 *   were measured in (a ratio off 1 is a modelling artefact, e.g. the simulation's message floor).
 * - `calibration`: a contended measurement a preset's free parameter was fitted to (at most one per
 *   machine). None is used today: xeon-80's cross-socket hand-off is derived from its home agent
 *   (presets.ts, WESTMERE_EX_HOME_AGENT), and opteron-48 has no usable contended figure (README lists
 *   what was tried).
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

/**
 * One point of RadixVM's reference-counting microbenchmark: iterations per second of all cores
 * together, one iteration being sv6's `dup_page` of a shared physical page and its `munmap`.
 */
export interface RefcountBenchPoint {
  experiment: "refcount-bench";
  source: string;
  machine: string;
  role: PublishedRole;
  /** The refsim scheme that counts as sv6 does: `container` (one shared atomic count) or `refcache`. */
  scheme: "container" | "refcache";
  cores: number;
  label: string;
  itersPerSec: number;
}

export type PublishedPoint = TransferPoint | LocalAtomicPoint | RefcountBenchPoint;

const SSYNC_T2 = "SSYNC (SOSP 2013) Table 2";
const RADIXVM = "RadixVM (EuroSys 2013) refcount figure";

/**
 * What each source is, in full (`refsim validate` prints these below its tables).
 *
 * RadixVM's points: the figure's data, read from the authors' gnuplot chart (tikz) that a
 * presentation of the paper reproduces with their permission; each coordinate is given to 0.001 cm
 * on a 3.49 cm axis for 80M iterations/s, so each value is +-0.03M. The benchmark is sv6's
 * bin/countbench.cc (run by bin/countbench-ben at 1, 10, 20, ..., 80 cores on the machine "ben",
 * param.h HW_ben: 80 CPUs, 8 sockets; sv6 README: an 80-core Xeon E7-8870): each thread
 * repeatedly maps one shared physical page into its own region with dup_page and unmaps it, for
 * 5 s. In vmap::dup_page the page's descriptor is copied (a get), filled into the radix array (a
 * get) and the copy dropped (a put); munmap drops the mapping's (a put): 2 gets and 2 puts on the
 * page's count per iteration. The count is sv6's PAGE_REFCOUNT (param.h): `::` a shared atomic
 * counter, `refcache::` refcache (the third curve, SNZI, has no refsim scheme).
 */
export const SOURCE_CITATIONS: Readonly<Record<string, string>> = {
  [SSYNC_T2]:
    "T. David, R. Guerraoui, V. Trigonakis, 'Everything You Always Wanted to Know About Synchronization but Were " +
    "Afraid to Ask', SOSP 2013, Table 2: latency (cycles) of one operation on a line in a given MESI state and place, " +
    "ccbench, on the 4-socket 48-core Opteron 6172 and the 8-socket 80-core Xeon E7-8867L.",
  [RADIXVM]:
    "A. T. Clements, M. F. Kaashoek, N. Zeldovich, 'RadixVM: Scalable address spaces for multithreaded applications', " +
    "EuroSys 2013, the reference-counting microbenchmark figure (total iterations/s against cores, curves refcache, " +
    "SNZI, shared counter; figure and page numbers not checked here): sv6 bin/countbench.cc on an 80-core 8-socket " +
    "Xeon E7-8870 (2.4 GHz; refsim's xeon-80 is SSYNC's E7-8867L, the same 8-socket Westmere-EX, 2.13 GHz). One " +
    "iteration = dup_page of a shared physical page + munmap = 2 gets and 2 puts on the page's count. Values read " +
    "from the authors' chart data (gnuplot tikz, spratt/RadixVM-Presentation graph/counters.tex, used with the " +
    "authors' permission), +-0.03M iterations/s.",
  "rygorous/atomic_ops_test, AMD family 10h":
    "'xadd: 17.01 cycles/op' on an AMD Phenom II 925 (family 10h, the Opteron 6172's core), interference type none " +
    "(gist rygorous/153ea6493ce2efabd41c, results of rygorous/atomic_ops_test).",
};

function radixvm(scheme: "container" | "refcache", cores: number, itersPerSec: number, role: PublishedRole): RefcountBenchPoint {
  const name = scheme === "container" ? "shared counter" : "refcache";
  return { experiment: "refcount-bench", source: RADIXVM, machine: "xeon-80", role, scheme, cores, label: `${name}, ${cores} core${cores === 1 ? "" : "s"}`, itersPerSec };
}

/** RadixVM's curves as plotted (iterations/s at 1, 10, 20, ..., 80 cores). */
const RADIXVM_SHARED = [1.077e6, 4.309e6, 1.33e6, 1.261e6, 1.123e6, 1.169e6, 1.215e6, 1.238e6, 1.284e6];
const RADIXVM_REFCACHE = [0.871e6, 8.848e6, 17.65e6, 26.5e6, 35.46e6, 44.17e6, 53.0e6, 61.96e6, 70.76e6];
export const RADIXVM_CORES = [1, 10, 20, 30, 40, 50, 60, 70, 80];

/**
 * Roles: the 1-core points are inputs: the shared counter's sets the work of an iteration other than
 * its reference counting (see validate.ts), refcache's the cost of refcache's own path (the
 * `refcacheLocal` cost, shared/kernel/costs.ts). Every point from 10 cores on is compared, not
 * fitted: no contended point is calibrated.
 */
function radixvmPoints(): RefcountBenchPoint[] {
  return [
    ...RADIXVM_CORES.map((n, i) => radixvm("container", n, RADIXVM_SHARED[i], n === 1 ? "input" : "comparison")),
    ...RADIXVM_CORES.map((n, i) => radixvm("refcache", n, RADIXVM_REFCACHE[i], n === 1 ? "input" : "comparison")),
  ];
}

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
  ...radixvmPoints(),
];
