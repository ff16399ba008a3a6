/**
 * The variables a container carries, as a spec declares them (`vars.variables`), and the default
 * set. A variable is one of three classes:
 * - `read`: read-mostly, written when the container is set up and read on every access (the
 *   network namespace's loopback device pointer, sysctl values);
 * - `written`: a per-container statistics counter, one word that every CPU running the
 *   container's tasks increments (packet counts);
 * - `percpu`: a per-container-per-CPU variable: one copy per CPU, each written by its own CPU
 *   (OpenVZ's per-VE CPU statistics, struct ve_cpu_stats).
 * `namespace` is the namespace kind whose structure holds the variable where variables are
 * scattered over namespace structures (the clone model); absent, the kind that holds the
 * per-container variables (net if configured, see KernelApi.varKind).
 */
export const VAR_CLASSES = ["read", "written", "percpu"] as const;
export type VarClass = (typeof VAR_CLASSES)[number];

export interface VarDecl {
  name: string;
  class: VarClass;
  bytes: number;
  namespace?: string;
}

/**
 * Cache line size in bytes on every preset machine: x86-64 and the Opterons' K10 use 64-byte
 * lines (Intel 64 and IA-32 Architectures Optimization Reference Manual, "cache line size 64
 * bytes"; Linux's x86 L1_CACHE_SHIFT is 6 for every x86-64 CPU in arch/x86/Kconfig.cpu).
 */
export const LINE_BYTES = 64;

/**
 * The default variables: the network namespace's loopback device pointer (struct net's
 * `loopback_dev`, include/net/net_namespace.h), which every access reads (what refsim's
 * `access` always read), and two per-container packet counters (8-byte counters, as struct
 * rtnl_link_stats64's rx_packets and tx_packets) that a network-heavy workload increments.
 * Workloads that name no variables read `loopback_dev` only.
 */
export const DEFAULT_VARIABLES: readonly VarDecl[] = [
  { name: "loopback_dev", class: "read", bytes: 8 },
  { name: "rx_packets", class: "written", bytes: 8 },
  { name: "tx_packets", class: "written", bytes: 8 },
];

/** Where each default variable and the line size come from (printed by `refsim presets`). */
export const VAR_SOURCES: Readonly<Record<string, string>> = {
  loopback_dev: "struct net's `struct net_device *loopback_dev` (include/net/net_namespace.h): a pointer, 8 B, read-mostly",
  rx_packets: "a per-container packet counter, 8 B (struct rtnl_link_stats64's __u64 rx_packets); assumed one shared word per container unless the layout is percpu",
  tx_packets: "as rx_packets (__u64 tx_packets)",
  lineBytes: "64 B on every preset: x86-64 and K10 (Intel 64 and IA-32 Optimization Reference Manual; Linux x86 L1_CACHE_SHIFT 6, arch/x86/Kconfig.cpu)",
};
