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
   * Occupancy: the share of a transfer's latency during which the line serves nobody else.
   * It bounds a contended line's throughput at 1 / occupancy.
   */
  occupancyFraction: number;
  occupancySource: string;
}

/**
 * Locked RMWs on an owned line. No published figure was found for the preset machines' own
 * cores; the nearest measurements found are 16-19 cycles on other x86 cores.
 */
const LOCAL_ATOMIC_20_CYCLES =
  "assumed 20 cycles, the order measured for a LOCK-prefixed RMW on an L1-resident line on other x86 " +
  "cores: uops.info, CMPXCHG_LOCK (M64, R64), 'Measured (loop): 19.07' cycles per instruction on " +
  "Alder Lake-P; LLVM review D66535 (A. Di Biagio, 2019): XCHG with memory 16 cycles and LOCK CMPXCHG " +
  "~17 cycles measured on AMD Jaguar. No figure for this preset's own cores was found.";

const SSYNC_BROADCAST =
  "broadcast: SSYNC (David, Guerraoui, Trigonakis, SOSP 2013, the target platforms) describes the " +
  "Xeon's multi-socket coherence as broadcast-based (snooping over QPI): the holder answers the " +
  "requester directly, with no home-directory indirection.";
const SSYNC_DIRECTORY =
  "directory: SSYNC (SOSP 2013, the target platforms) describes the Opteron's coherence as " +
  "directory-based (an incomplete directory in each node's LLC): requests go to the line's home node " +
  "first, so SSYNC notes a line homed on a remote node is slow even between two cores of one die.";

const OCCUPANCY_ASSUMPTION =
  "assumed: half the transfer latency (the request and directory lookup pipeline across requesters; " +
  "the owner-to-owner data hop does not). Not a measurement: calibrate with a contended fetch-and-add " +
  "throughput on the real machine (refsim's hot-line workload reports what the value implies).";

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
    occupancyFraction: 0.5,
    occupancySource: OCCUPANCY_ASSUMPTION,
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
    localAtomic: 20,
    localAtomicSource: LOCAL_ATOMIC_20_CYCLES,
    protocol: "directory",
    protocolSource: SSYNC_DIRECTORY,
    dramLocal: 136,
    dramRemote: [null, null, null],
    occupancyFraction: 0.5,
    occupancySource: OCCUPANCY_ASSUMPTION,
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
    localAtomicSource: LOCAL_ATOMIC_20_CYCLES,
    protocol: "broadcast",
    protocolSource: SSYNC_BROADCAST,
    dramLocal: 355,
    dramRemote: [null, null, null],
    occupancyFraction: 0.5,
    occupancySource: OCCUPANCY_ASSUMPTION,
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
    localAtomicSource: LOCAL_ATOMIC_20_CYCLES + " 20 cycles at 2.8 GHz = 7.14 ns.",
    protocol: "broadcast",
    protocolSource: "assumed broadcast: with two sockets a request can only be snooped in the other one, and the " +
      "measured core-to-core figures already include whatever the home agent adds.",
    dramLocal: 81,
    dramRemote: [null, 141, null],
    occupancyFraction: 0.5,
    occupancySource: OCCUPANCY_ASSUMPTION,
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
    localAtomicSource: LOCAL_ATOMIC_20_CYCLES + " 20 cycles at 2.4 GHz = 8.3 ns.",
    protocol: "directory",
    protocolSource: "directory: SGI UV keeps coherence across blades with a directory in each blade's hub (SGI, " +
      "'Technical Advances in the SGI UV Architecture', 2012): a line homed on a far blade costs its legs.",
    dramLocal: 85,
    dramRemote: [null, 140, 450],
    occupancyFraction: 0.5,
    occupancySource: OCCUPANCY_ASSUMPTION,
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
  ];
}
