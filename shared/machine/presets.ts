import type { TopologyShape } from "./topology.ts";

export const COHERENCE_PROTOCOLS = ["broadcast", "directory"] as const;
export type CoherenceProtocol = (typeof COHERENCE_PROTOCOLS)[number];

/**
 * A machine as published: latencies in the source's own unit (cycles at frequencyMHz, or ns),
 * for the classes smt, die, package, hop1, hop2 (null where the machine has no such pair).
 */
export interface MachinePreset {
  name: string;
  summary: string;
  /** Where the numbers come from, cited precisely. */
  source: string;
  shape: TopologyShape;
  frequencyMHz: number;
  unit: "cycles" | "ns";
  /** Atomic RMW (or write) on a line Modified in another cache: [smt, die, package, hop1, hop2]. */
  atomic: Array<number | null>;
  /** Load of a line Modified in another cache: [smt, die, package, hop1, hop2]. */
  read: Array<number | null>;
  /** A load or store that hits the local L1. */
  localHit: number;
  /**
   * A LOCK-prefixed RMW (lock add, lock xadd, xchg with memory, lock cmpxchg) on a line the CPU
   * already owns: an order of magnitude more than an L1 hit, because the core drains its store
   * buffer and holds the line locked for the whole read-modify-write.
   */
  localAtomic: number;
  localAtomicSource: string;
  /**
   * How a request finds a line's holder. `broadcast`: the request is snooped by every cache and
   * the holder answers the requester directly, so the published transfer latency holds wherever
   * the line's home is. `directory`: the request goes to the line's home node, which forwards it
   * to the holder; a home far from both CPUs adds its extra legs (directory indirection).
   */
  protocol: CoherenceProtocol;
  protocolSource: string;
  /** Fetch from the DRAM of the CPU's own node. */
  dramLocal: number;
  /** Fetch from another node's DRAM: [package, hop1, hop2]; null = derived (see below). */
  dramRemote: Array<number | null>;
  /**
   * Occupancy per class [smt, die, package, hop1, hop2]: how long one transfer keeps a line from
   * serving the next, which bounds a contended line's throughput at 1 / occupancy. Omitted (every
   * preset): derived by the hand-off mechanism, see OCCUPANCY_MECHANISM. Given (a machine
   * file): these values, in the preset's unit; null = derived.
   */
  occupancy?: Array<number | null>;
  occupancySource: string;
  /**
   * How a contended hand-off between two sockets completes. Omitted (`holder`): the holder
   * forwards the line to the next requester and the line is free again after the class's
   * occupancy. `home-broadcast`: the line's home agent serves conflicting requests one
   * transaction at a time, and a transaction that crosses sockets completes only once every
   * socket of the machine has answered its snoop (a directory that records only that a line may
   * be in a remote socket, not which): such a hand-off keeps the line for the atomic latency of
   * the machine's farthest socket plus the new holder's locked RMW, however many sockets take
   * part (see WESTMERE_EX_HOME_AGENT).
   */
  crossSocketHandOff?: CrossSocketHandOff;
  crossSocketHandOffSource?: string;
}

export const CROSS_SOCKET_HAND_OFFS = ["holder", "home-broadcast"] as const;
export type CrossSocketHandOff = (typeof CROSS_SOCKET_HAND_OFFS)[number];

/**
 * Locked RMWs on an owned line, measured back to back with no other core touching the line
 * (rygorous/atomic_ops_test, "interference type: none"), on the nearest relatives found of the
 * presets' cores; no figure for their own parts was found.
 */
const LOCAL_ATOMIC_AMD_10H =
  "17 cycles: lock xadd on an owned line, AMD Phenom II 925 (family 10h, the Opteron 6172's core): " +
  "'xadd: 17.01 cycles/op', 'lockadd: 18.01' (gist rygorous/153ea6493ce2efabd41c, results of " +
  "rygorous/atomic_ops_test, interference type none).";
const LOCAL_ATOMIC_INTEL =
  "assumed 20 cycles, from the nearest measured relatives: Core i7-3930K (Sandy Bridge-E) 'xadd: 20.71 " +
  "cycles/op', 'lockadd: 20.51' (gist spayne, rygorous/atomic_ops_test, interference type none); " +
  "uops.info CMPXCHG_LOCK (M64, R64) 'Measured (loop): 19.07' on Alder Lake-P. Not measured on this " +
  "preset's own part.";

const SSYNC_BROADCAST =
  "broadcast: SSYNC (David, Guerraoui, Trigonakis, SOSP 2013, the target platforms) describes the " +
  "Xeon's multi-socket coherence as broadcast-based (snooping over QPI): the holder answers the " +
  "requester directly, with no home-directory indirection.";
const SSYNC_DIRECTORY =
  "directory: SSYNC (SOSP 2013, the target platforms) describes the Opteron's coherence as " +
  "directory-based (an incomplete directory in each node's LLC): requests go to the line's home node " +
  "first, so SSYNC notes a line homed on a remote node is slow even between two cores of one die.";

/**
 * How a contended line is handed on. With requests already queued, a line moves from holder to
 * holder without new request legs: the holder makes its locked RMW (localAtomic), then the data
 * flies to the next holder. The flight is what the published transfer latency leaves after the
 * request and the recall (two message legs, each 1/8 of the read latency: an assumption). So
 * occupancy = atomic latency - 2 legs + localAtomic, per class, from published uncontended
 * figures alone. xeon-80's cross-socket hand-offs go through its home agent instead
 * (WESTMERE_EX_HOME_AGENT); no contended figure is fitted on any preset (see the README's
 * validation section).
 */
export const OCCUPANCY_MECHANISM =
  "derived, not fitted: occupancy = atomic latency of the class - 2 message legs (request and recall, " +
  "each 1/8 of the read latency: assumed) + localAtomic; the hand-off of a line whose next requests " +
  "already wait is the holder's locked RMW plus the data's flight. No published contended figure " +
  "for this machine was found to calibrate it.";

/**
 * xeon-80's cross-socket hand-off, from the home agent of its processor family (Westmere-EX).
 * Intel's datasheet for the Xeon E7-8800/4800/2800 (volume 2, section 5, "Home Agent and Global
 * Coherence Engine (Bbox)") describes the home agent as the place where conflicting requests for
 * a line are resolved, with a 2-bit directory kept in each line's DRAM ECC bits whose states are
 * I (in no remote socket), R ("may be present in a remote socket") and E (owned by an I/O hub);
 * early data return without waiting for every peer snoop response (Directory Assisted Snoopy) is
 * only for requests of the home's own socket, on a line in state I. A contended line that moves
 * between sockets is in state R, which does not say where it is, so each of its transactions
 * waits for the snoop responses of every socket, the farthest included, and the next conflicting
 * request is served after it. The hand-off therefore costs the machine's farthest transfer (SSYNC's
 * two-hop atomic, 430 cycles, which times a request, its snoop and the data of a line two hops
 * away) plus the new holder's locked RMW, whether 2 or 8 sockets contend. This is derived, not
 * fitted: no contended point is used; RadixVM's shared-counter curve is compared, not fitted.
 * Within a socket the line moves through the socket's own last-level cache (derived occupancy).
 */
const WESTMERE_EX_HOME_AGENT =
  "home-broadcast: Intel Xeon Processor E7-8800/4800/2800 Product Families datasheet, volume 2, section 5 " +
  "(Home Agent and Global Coherence Engine, Bbox): the home agent resolves conflicting requests; its directory " +
  "(2 bits per line in DRAM ECC) has states I, R ('line may be present in a remote socket') and E (IOH), and early " +
  "data return without every peer's snoop response (DAS) is only for the home socket's requests on a line in I. A " +
  "line contended across sockets is in R, so each transaction waits for every socket's snoop response: a " +
  "cross-socket hand-off costs the farthest (two-hop) atomic, 430 cycles (SSYNC Table 2), plus localAtomic, with " +
  "2 sockets as with 8. Derived, not fitted: no contended point is calibrated.";

/**
 * How the occupancy of a contended line's hand-off is found on xeon-80: within a socket by the
 * hand-off mechanism, between sockets by its home agent (WESTMERE_EX_HOME_AGENT).
 */
const XEON_OCCUPANCY =
  "within a socket: derived, not fitted (atomic latency - 2 message legs + localAtomic, as on every preset). " +
  "Between sockets: the home agent's transaction, 430 + 20 = 450 cycles (see crossSocketHandOff). No contended " +
  "figure is fitted: RadixVM's shared counter (EuroSys 2013) at 1 to 80 cores is compared in refsim validate.";

export const MACHINE_PRESETS: readonly MachinePreset[] = [
  {
    name: "small-4",
    summary: "4 CPUs: 2 sockets x 2 cores, 1 GHz, round numbers (for tests)",
    source:
      "Invented round numbers for tests, in the proportions of the SSYNC Xeon table " +
      "(David, Guerraoui, Trigonakis, SOSP 2013, Table 2): 1 GHz so 1 cycle = 1 ns.",
    shape: { sockets: 2, diesPerSocket: 1, coresPerDie: 2, threadsPerCore: 1, socketLinks: "full" },
    frequencyMHz: 1000,
    unit: "cycles",
    atomic: [null, 100, null, 300, null],
    read: [null, 80, null, 260, null],
    localHit: 4,
    localAtomic: 20,
    localAtomicSource: "invented round number for tests (20 cycles, the order of a LOCK-prefixed RMW)",
    protocol: "directory",
    protocolSource: "directory: invented for tests, so that hand-computed tests see the home's legs",
    dramLocal: 120,
    dramRemote: [null, 200, null],
    occupancySource: OCCUPANCY_MECHANISM,
  },
  {
    name: "opteron-48",
    summary: "48-core AMD Opteron 6172: 4 sockets x 2 dies x 6 cores, 2.1 GHz (2010)",
    source:
      "SSYNC: T. David, R. Guerraoui, V. Trigonakis, 'Everything You Always Wanted to Know About " +
      "Synchronization but Were Afraid to Ask', SOSP 2013, Table 2 (cycles): atomics on a Modified " +
      "line 110 same die / 197 same MCM / 216 one hop / 296 two hops; loads 81 / 161 / 172 / 252; " +
      "local L1 3, RAM 136. Socket wiring modelled as a ring (two sockets two hops apart); remote " +
      "DRAM derived as local RAM plus the extra cache-to-cache distance.",
    shape: { sockets: 4, diesPerSocket: 2, coresPerDie: 6, threadsPerCore: 1, socketLinks: "ring" },
    frequencyMHz: 2100,
    unit: "cycles",
    atomic: [null, 110, 197, 216, 296],
    read: [null, 81, 161, 172, 252],
    localHit: 3,
    localAtomic: 17,
    localAtomicSource: LOCAL_ATOMIC_AMD_10H,
    protocol: "directory",
    protocolSource: SSYNC_DIRECTORY,
    dramLocal: 136,
    dramRemote: [null, null, null],
    occupancySource: OCCUPANCY_MECHANISM,
  },
  {
    name: "xeon-80",
    summary: "80-core Intel Xeon E7-8867L: 8 sockets x 10 cores, 2.13 GHz (2011)",
    source:
      "SSYNC: T. David, R. Guerraoui, V. Trigonakis, SOSP 2013, Table 2 (cycles): atomics on a " +
      "Modified line 120 same die / 324 one hop / 430 two hops; loads 109 / 289 / 400; local L1 5, " +
      "RAM 355. Sockets wired as a 3-cube (each socket one hop from three others); remote DRAM " +
      "derived as local RAM plus the extra cache-to-cache distance.",
    shape: { sockets: 8, diesPerSocket: 1, coresPerDie: 10, threadsPerCore: 1, socketLinks: "hypercube" },
    frequencyMHz: 2130,
    unit: "cycles",
    atomic: [null, 120, null, 324, 430],
    read: [null, 109, null, 289, 400],
    localHit: 5,
    localAtomic: 20,
    localAtomicSource: LOCAL_ATOMIC_INTEL,
    protocol: "broadcast",
    protocolSource: SSYNC_BROADCAST,
    dramLocal: 355,
    dramRemote: [null, null, null],
    occupancySource: XEON_OCCUPANCY,
    crossSocketHandOff: "home-broadcast",
    crossSocketHandOffSource: WESTMERE_EX_HOME_AGENT,
  },
  {
    name: "modern-2s",
    summary: "2x Intel Xeon Gold 6242 (Cascade Lake): 2 sockets x 16 cores x 2 threads, 2.8 GHz",
    source:
      "Core-to-core CAS latency (one-way, half the ping-pong round trip), dual Xeon Gold 6242: " +
      "SMT siblings 7.4 ns, same socket 48 ns, cross socket 136 ns (nviennot/core-to-core-latency, " +
      "README results table, 2022-2023). Idle DRAM latency, dual Xeon Gold 6240 (same generation), " +
      "Intel Memory Latency Checker v3.10: local 81 ns, remote 141 ns; loads of a Modified line " +
      "(MLC 'HITM') 49 ns same socket, 114 ns cross socket (gjbex/Code-optimization, " +
      "info/cascadelake_mlc.txt, 2023). L1 hit 4 cycles (AnandTech, 'AMD Rome Second Generation EPYC " +
      "Review', 2019, Xeon 8280 column). Local atomic assumed 20 cycles (a locked RMW on an owned line).",
    shape: { sockets: 2, diesPerSocket: 1, coresPerDie: 16, threadsPerCore: 2, socketLinks: "full" },
    frequencyMHz: 2800,
    unit: "ns",
    atomic: [7.4, 48, null, 136, null],
    read: [7.4, 49, null, 114, null],
    localHit: 1.43,
    localAtomic: 7.14,
    localAtomicSource: LOCAL_ATOMIC_INTEL + " 20 cycles at 2.8 GHz = 7.14 ns.",
    protocol: "broadcast",
    protocolSource: "assumed broadcast: with two sockets a request can only be snooped in the other one, and the " +
      "measured core-to-core figures already include whatever the home agent adds.",
    dramLocal: 81,
    dramRemote: [null, 141, null],
    occupancySource: OCCUPANCY_MECHANISM,
  },
  {
    name: "numa-4096",
    summary: "4096 CPUs, SGI UV 2000 shape: 256 sockets x 8 cores x 2 threads, 2 sockets per blade",
    source:
      "Shape from SGI, 'Technical Advances in the SGI UV Architecture' (white paper, June 2012: up to " +
      "4,096 threads in one system image) and the UV 2000 System User's Guide 007-5832-002 (a blade is " +
      "two 8-core Xeons joined by QPI; blades joined by NUMAlink 6). Within a socket and across the QPI " +
      "link: dual Xeon E5-2695 v4 core-to-core CAS latency, 44 ns same socket and 118 ns cross socket " +
      "(nviennot/core-to-core-latency). NO published NUMAlink cache-to-cache latency was found: the " +
      "400 ns for blade-to-blade transfers and 450 ns for remote DRAM are assumptions of the order " +
      "that directory-based NUMA interconnects show, not measurements.",
    shape: { sockets: 256, diesPerSocket: 1, coresPerDie: 8, threadsPerCore: 2, socketLinks: "pairs" },
    frequencyMHz: 2400,
    unit: "ns",
    atomic: [8, 44, null, 118, 400],
    read: [8, 44, null, 110, 380],
    localHit: 1.67,
    localAtomic: 8.3,
    localAtomicSource: LOCAL_ATOMIC_INTEL + " 20 cycles at 2.4 GHz = 8.3 ns.",
    protocol: "directory",
    protocolSource: "directory: SGI UV keeps coherence across blades with a directory in each blade's hub (SGI, " +
      "'Technical Advances in the SGI UV Architecture', 2012): a line homed on a far blade costs its legs.",
    dramLocal: 85,
    dramRemote: [null, 140, 450],
    occupancySource: OCCUPANCY_MECHANISM,
  },
];

export function findMachinePreset(name: string): MachinePreset | undefined {
  return MACHINE_PRESETS.find((m) => m.name === name);
}

/** Each kind of number a preset holds, with where it comes from (what `refsim presets` prints). */
export function presetSources(m: MachinePreset): Array<[label: string, source: string]> {
  return [
    ["source", m.source],
    ["protocol", m.protocolSource],
    ["local atomic", m.localAtomicSource],
    ["occupancy", m.occupancySource],
    ...(m.crossSocketHandOffSource === undefined ? [] : [["cross-socket hand-off", m.crossSocketHandOffSource] as [string, string]]),
  ];
}
