import type { WorkloadSpec } from "./workload.ts";

const base: Omit<WorkloadSpec, "description" | "mix"> = {
  duration: "2ms",
  warmup: "200us",
  tasksPerCpu: 1,
  containers: { count: 1, nesting: 0, pinToSockets: false },
  think: "1us",
  fork: { placement: "same-socket", newNamespaces: [], childWork: "5us" },
  unshare: { namespaces: ["uts"] },
  setns: { namespace: "uts" },
  migrate: { scope: "machine" },
  churn: { tasks: 4 },
};

const noOps = { fork: 0, access: 0, unshare: 0, setns: 0, migrate: 0, churn: 0, hotInc: 0 };

/** Workload presets, each a complete WorkloadSpec. */
export const WORKLOAD_PRESETS: Readonly<Record<string, WorkloadSpec>> = {
  "fork-storm": {
    ...base,
    description: "fork/exit storm (mail server, parallel build): every CPU forks children that work briefly and exit; one shared container",
    mix: { ...noOps, fork: 1 },
    fork: { placement: "least-loaded", newNamespaces: [], childWork: "5us" },
  },
  "container-churn": {
    ...base,
    description: "container churn: create a container (all new namespaces), fork 4 tasks into it, destroy it",
    duration: "20ms",
    warmup: "2ms",
    containers: { count: 4, nesting: 0, pinToSockets: false },
    mix: { ...noOps, churn: 1 },
    fork: { placement: "same-socket", newNamespaces: [], childWork: "20us" },
  },
  "net-heavy": {
    ...base,
    description:
      "network-heavy service: tasks in 16 containers mostly send packets: each access reads the container's loopback device and increments its rx and tx packet counters; occasional forks",
    tasksPerCpu: 2,
    containers: { count: 16, nesting: 0, pinToSockets: false },
    think: "200ns",
    mix: { ...noOps, access: 50, fork: 1 },
    access: { read: ["loopback_dev"], write: ["rx_packets", "tx_packets"] },
  },
  migration: {
    ...base,
    description: "migration-heavy: tasks hop between CPUs anywhere on the machine and fork now and then",
    tasksPerCpu: 2,
    containers: { count: 4, nesting: 0, pinToSockets: false },
    mix: { ...noOps, migrate: 4, fork: 1, access: 4 },
    fork: { placement: "random", newNamespaces: [], childWork: "5us" },
  },
  nested: {
    ...base,
    description: "nested containers (3 levels below each of 4 top-level ones): fork, unshare, setns and variable reads",
    containers: { count: 4, nesting: 3, pinToSockets: false },
    mix: { ...noOps, fork: 4, unshare: 1, setns: 1, access: 8 },
  },
  "hot-line": {
    ...base,
    description: "calibration: every CPU atomically increments one shared counter back to back; CPUs fill one socket before the next",
    think: "0ns",
    mix: { ...noOps, hotInc: 1 },
    duration: "200us",
    warmup: "20us",
  },
  "local-line": {
    ...base,
    description: "calibration: every CPU atomically increments its own counter (its own line, homed on its node) back to back",
    think: "0ns",
    mix: { ...noOps, localInc: 1 },
    duration: "200us",
    warmup: "20us",
  },
  "get-put": {
    ...base,
    description: "reference-count microbenchmark (RadixVM, EuroSys 2013): every CPU takes and drops a reference on one shared object through the scheme's own get and put, back to back",
    think: "0ns",
    mix: { ...noOps, getPut: 1 },
    duration: "100us",
    warmup: "10us",
  },
};

export function findWorkloadPreset(name: string): WorkloadSpec | undefined {
  return Object.hasOwn(WORKLOAD_PRESETS, name) ? WORKLOAD_PRESETS[name] : undefined;
}
