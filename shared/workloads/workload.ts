/** Where a forked child runs. */
export const PLACEMENTS = ["same-cpu", "same-socket", "least-loaded", "random"] as const;
export type Placement = (typeof PLACEMENTS)[number];

/** The operations a long-lived task chooses among, with relative weights. */
export interface OperationMix {
  fork: number;
  access: number;
  unshare: number;
  setns: number;
  migrate: number;
  /** A container cycle: create a container, fork `churn.tasks` children into it, destroy it. */
  churn: number;
  /** Calibration: one atomic increment of a single machine-wide counter. */
  hotInc: number;
  /**
   * Microbenchmark: take and drop one reference on the task's shared object (its first attached
   * object: the container, bundle or first namespace) through the scheme's own get and put.
   */
  getPut?: number;
  /**
   * Calibration: one atomic increment of the CPU's own counter (a per-CPU line homed on its
   * node, as padded per-thread counters are). Optional, so workloads without it read as before.
   */
  localInc?: number;
}

/** A workload as the spec states it (durations as text, e.g. "5us"). */
export interface WorkloadSpec {
  description: string;
  duration: string;
  warmup: string;
  /** Long-lived tasks started on each CPU. */
  tasksPerCpu: number;
  containers: {
    count: number;
    /** Levels of nested containers below each top-level one; tasks live in the deepest. */
    nesting: number;
    /** Keep each container's tasks on one socket (like cpusets). */
    pinToSockets: boolean;
  };
  mix: OperationMix;
  /** CPU time a long-lived task spends between operations. */
  think: string;
  fork: { placement: Placement; newNamespaces: string[]; childWork: string };
  unshare: { namespaces: string[] };
  setns: { namespace: string };
  migrate: { scope: "socket" | "machine" };
  churn: { tasks: number };
  /** The per-container variables an access reads and increments (names from the spec's `vars`). */
  access?: { read: string[]; write: string[] };
}

/** A workload with durations in picoseconds and namespace kinds as bit masks. */
export interface ResolvedWorkload {
  name: string;
  description: string;
  tasksPerCpu: number;
  containers: WorkloadSpec["containers"];
  mix: OperationMix;
  thinkPs: number;
  placement: Placement;
  forkNewKinds: number;
  childWorkPs: number;
  unshareKinds: number;
  setnsKind: number;
  migrateScope: "socket" | "machine";
  churnTasks: number;
  /** Variable indices (into the run's vars.variables) an access reads, and increments. */
  accessReads: number[];
  accessWrites: number[];
}
