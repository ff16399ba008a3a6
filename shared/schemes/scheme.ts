import type { KObject } from "../kernel/objects.ts";
import type { Program, Step, StepWriter } from "../kernel/program.ts";
import type { VarHome, VarRoots } from "../container-vars/vars.ts";

/** Fixed CPU costs of kernel operations, in picoseconds (see shared/kernel/costs.ts). */
export interface KernelCostsPs {
  forkPs: number;
  exitPs: number;
  migratePs: number;
  unsharePs: number;
  setnsPs: number;
  accessPs: number;
  /** The create call's own cost (charged once per container by the caller, for every scheme). */
  containerCreatePs: number;
  containerDestroyPs: number;
  /** Allocating and initialising one container object (the container schemes' bundle). */
  containerAllocPs: number;
  /** Creating one namespace, by kind index. */
  nsCreatePs: number[];
  /** Each kind's creation cost under the linux-6 kernel profile (its own figure per kind). */
  nsCreateLinuxPs: number[];
  nsproxyCreatePs: number;
  freePs: number;
  /** Refcache's get or put beside the change of its per-CPU delta (interrupts off, the way lookup). */
  refcacheLocalPs: number;
}

export interface SchemeOptions {
  /** Sloppy counters: references taken from the central count when a CPU's spares run out. */
  sloppyBatch: number;
  /** Sloppy counters: spares a CPU keeps before returning the excess to the central count. */
  sloppyMaxSpares: number;
  /** Refcache: epoch length, picoseconds. */
  refcacheEpochPs: number;
  /** percpu_ref and sloppy kill: the RCU grace period before the switch, picoseconds. */
  rcuGracePeriodPs: number;
}

/** Why a run's invariants failed (recorded, never thrown). */
export type ViolationKind =
  | "count-below-zero"
  | "use-after-free"
  | "leak"
  | "lost-reference"
  | "free-while-referenced"
  | "lock-two-holders"
  | "lock-held-at-end";

/**
 * What schemes and counters may ask of the kernel model. `w` null means set-up time: the steps
 * are applied at once, with no cost, before the simulation starts.
 */
export interface KernelApi {
  readonly kindNames: readonly string[];
  readonly kindCount: number;
  /** Kinds whose new namespace holds its parent (pid, user). */
  readonly hierarchical: readonly boolean[];
  /** The kind whose namespace holds the per-container variables (net if configured). */
  readonly varKind: number;
  readonly cpuCount: number;
  readonly costs: KernelCostsPs;
  readonly options: SchemeOptions;
  /** Whether each refcount shares its line with its object's read-mostly fields. */
  readonly layoutShared: boolean;
  /** The object holding global variables (the `none` scheme's per-container variables). */
  readonly globalObject: number;
  /** The CPU running the current program (or doing the set-up step). */
  readonly currentCpu: number;
  readonly nowPs: number;
  object(id: number): KObject;
  /** Allocates an object on the current CPU's node and writes its lines; its count starts at 1. */
  create(w: StepWriter, type: number, nsKind: number, holds: number[], counter: number): number;
  get(w: StepWriter, obj: number): void;
  put(w: StepWriter, obj: number): void;
  /** Drops the creator's reference (destroying a container). */
  release(w: StepWriter, obj: number): void;
  /** put, or release when `owned` (see Scheme.exit). */
  leave(w: StepWriter, obj: number, owned: boolean): void;
  /** Writes what creating a namespace of `kind` costs beside its object (the kernel profile decides). */
  namespaceCreation(w: StepWriter, kind: number): void;
  /** Writes the free path of an object whose count reached zero. */
  free(w: StepWriter, obj: number, countAlreadyPoisoned: boolean): void;
  /** The line holding an object's read-mostly fields. */
  readLine(obj: number): number;
  countLine(obj: number): number;
  varsLine(obj: number): number;
  perCpuLine(obj: number, cpu: number): number;
  /** A task's thread_info line: `current` and what sits beside it, always cached on the CPU running the task. */
  threadInfoLine(task: number): number;
  /** A task's task_struct line holding its namespace pointers (nsproxy, per-namespace pointers). */
  taskStructLine(task: number): number;
  violation(kind: ViolationKind, obj: number, detail: string): void;
  /** Object lifecycle, for the objects-awaiting-free metric. */
  noteAwaitingFree(obj: number, delta: 1 | -1): void;
  /** Schedules a timer on the current CPU. */
  timer(delayPs: number, kind: number, obj: number): void;
  /** Per-CPU kernel state that counters keep (refcache's dirty set and review queue). */
  cpuState(cpu: number): PerCpuCounterState;
}

export interface PerCpuCounterState {
  refcacheDirty: Set<number>;
  refcacheReviews: Array<{ obj: number; dueEpoch: number }>;
  refcacheEpoch: number;
}

/** A way of keeping one object's reference count. */
export interface Counter {
  readonly id: number;
  /** Writes the lines of a new object: count 1 (the creator's reference). */
  init(k: KernelApi, w: StepWriter, obj: number): void;
  get(k: KernelApi, w: StepWriter, obj: number): void;
  put(k: KernelApi, w: StepWriter, obj: number): void;
  release(k: KernelApi, w: StepWriter, obj: number): void;
  onResult(k: KernelApi, program: Program, step: Step, result: number, w: StepWriter): void;
  onAction(k: KernelApi, program: Program, step: Step, w: StepWriter): void;
  /** Kernel background work for a timer this counter set. */
  onTimer(k: KernelApi, kind: number, obj: number, w: StepWriter): void;
  /** The references an object holds, computed from its lines' values; null if freed. */
  trueCount(obj: KObject, value: (line: number) => number, layout: LineLayout, lifecycle: ObjectLifecycle): number | null;
  /** Bytes of reference-count state per object on a machine of `cpuCount` CPUs. */
  bytesPerObject(cpuCount: number): number;
}

/** Where an object's count and per-CPU lines are (what the end-of-run check needs of a kernel). */
export interface LineLayout {
  readonly cpuCount: number;
  countLine(obj: number): number;
  perCpuLine(obj: number, cpu: number): number;
}

/** What happened to an object over a run, gathered from every CPU. */
export interface ObjectLifecycle {
  switched: boolean;
  freed: boolean;
}

/** A container's objects: what a task in it holds, and what the container itself holds. */
export interface ContainerObjects {
  attach: number[];
  creatorHolds: number[];
}

/** What a task holds after unshare or setns, and whether it created it (see Scheme.exit). */
export interface Attachment {
  attach: number[];
  owned: boolean;
}

/**
 * A way of attaching tasks to namespaces and containers (the rows of DESIGN.md's table).
 * Each method writes the steps of its part of an operation and returns the new attachment.
 */
export interface Scheme {
  readonly name: SchemeName;
  readonly summary: string;
  /** Where its reference rule comes from (kernel source, paper or proposal), for `refsim presets` and the README. */
  readonly source: string;
  /**
   * Whether a task lives in namespaces of its container (nested pid and user namespaces, whose
   * levels the kernel's own fork path pays for), or in the initial ones (no virtualization).
   */
  readonly namespaced: boolean;
  /** Where the scheme's per-container variables can live (see shared/container-vars/vars.ts). */
  readonly varHome: VarHome;
  /** Pointer bytes a task carries. */
  bytesPerTask(kindCount: number): number;
  createContainer(k: KernelApi, w: StepWriter, parent: readonly number[] | null): ContainerObjects;
  destroyContainer(k: KernelApi, w: StepWriter, c: ContainerObjects): void;
  /** fork(); newKinds is a bit mask of CLONE_NEW* kinds (0 = share everything). */
  fork(k: KernelApi, w: StepWriter, parent: readonly number[], newKinds: number): number[];
  /**
   * exit(), unshare() and setns() leave the task's current attachment. `owned` says the task
   * created it (by CLONE_NEW*, unshare or setns), so leaving drops its initial reference
   * (release: a kill for percpu_ref); otherwise leaving is a put.
   */
  exit(k: KernelApi, w: StepWriter, attach: readonly number[], owned: boolean): void;
  /**
   * New namespaces of `kinds` in place of the task's: never a chain that grows with each call
   * (the caller has checked the nesting limits, see depth.ts). The old attachment is left.
   */
  unshare(k: KernelApi, w: StepWriter, attach: readonly number[], kinds: number, owned: boolean): Attachment;
  /** Switches to the target's namespace of `kind` (its container, in the container schemes); the old attachment is left. */
  setns(k: KernelApi, w: StepWriter, attach: readonly number[], kind: number, target: readonly number[], owned: boolean): Attachment;
  /** The namespaces, by kind, that a task with this attachment is in ([] for `none`). */
  namespaces(k: KernelApi, attach: readonly number[]): readonly number[];
  /**
   * The pointer chase of an access to the per-container variables: the task's pointer line (its
   * thread_info or task_struct line, wherever the scheme keeps its pointer) and the bundle or
   * container line it leads to. Returns what it reached; the variables' own lines are the
   * layout's (shared/container-vars).
   */
  access(k: KernelApi, w: StepWriter, attach: readonly number[], task: number): VarRoots;
}

export const SCHEME_NAMES = ["none", "clone-flags", "container", "openvz", "nsproxy", "percpu", "sloppy", "refcache"] as const;
export type SchemeName = (typeof SCHEME_NAMES)[number];
