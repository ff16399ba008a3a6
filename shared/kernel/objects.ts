/** Kinds of kernel object the model allocates. */
export const OBJ_TASK = 0;
export const OBJ_NAMESPACE = 1;
export const OBJ_CONTAINER = 2;
export const OBJ_NSPROXY = 3;
export const OBJ_GLOBAL = 4;
export const OBJECT_TYPE_NAMES = ["task", "namespace", "container", "nsproxy", "global"] as const;

/** How an object's reference count is kept. */
export const COUNTER_NONE = 0;
export const COUNTER_ATOMIC = 1;
export const COUNTER_PERCPU = 2;
export const COUNTER_SLOPPY = 3;
export const COUNTER_REFCACHE = 4;
export const COUNTER_VE = 5;
export const COUNTER_NAMES = ["none", "atomic", "percpu", "sloppy", "refcache", "ve"] as const;

/**
 * A kernel object. Everything here is written once, when the object is created; the count
 * itself lives in the object's count line and travels with that line.
 */
export interface KObject {
  id: number;
  type: number;
  /** Namespace kind index, or -1. */
  nsKind: number;
  /** The memory node the object was allocated on (its lines' home). */
  home: number;
  /** Objects this one holds a reference on (an nsproxy's namespaces, a container's parent...). */
  holds: number[];
  counter: number;
  createdPs: number;
  /**
   * How many objects lived in this memory before (0: fresh memory). Under the linux-6 profile a
   * freed object's memory is reused (shared/slab/): the id names the memory, as a pointer does,
   * and the generation tells the record of its current object from a stale copy of an earlier one.
   */
  gen: number;
}

/**
 * Line identifiers. An object owns four lines: its count, its read-mostly fields (the same line
 * as the count when the layout puts them together), its per-container variables, and a mode
 * word (per-CPU counters' percpu/atomic switch). A task's lines are its thread_info line
 * (SLOT_COUNT: `current` and what sits beside it, pulled to the CPU the task runs on), its
 * task_struct line holding the namespace pointers (SLOT_READ) and its siglock (SLOT_VARS).
 * Per-CPU data of an object on a CPU gets a negative identifier; its home is that CPU's node.
 */
export const SLOT_COUNT = 0;
export const SLOT_READ = 1;
export const SLOT_VARS = 2;
export const SLOT_MODE = 3;

export function objectLine(obj: number, slot: number): number {
  return obj * 4 + slot;
}

export function perCpuLine(obj: number, cpu: number, cpuCount: number): number {
  return -1 - (obj * cpuCount + cpu);
}

export function isPerCpuLine(line: number): boolean {
  return line < 0;
}

export function objectOfLine(line: number, cpuCount: number): number {
  return line >= 0 ? Math.floor(line / 4) : Math.floor((-1 - line) / cpuCount);
}

export function cpuOfPerCpuLine(line: number, cpuCount: number): number {
  return (-1 - line) % cpuCount;
}

/**
 * The table of kernel objects: one record per piece of object memory, the newest object that
 * lived in it (write-once records). Without memory reuse (refcounts-only) that is every object
 * created, less the exited tasks and freed objects reclaimed (protocol/reclaim.ts); with it, live
 * objects plus the free memory of the slab lists.
 */
export class ObjectTable {
  private readonly objects = new Map<number, KObject>();

  add(o: KObject): void {
    if (this.objects.has(o.id)) throw new Error(`object ${o.id} created twice`);
    this.objects.set(o.id, o);
  }

  /**
   * A new object in reused memory: its record replaces the previous generation's (which this
   * partition may never have seen, when the memory came from another partition's CPU).
   */
  install(o: KObject): void {
    const old = this.objects.get(o.id);
    if (old !== undefined && old.gen >= o.gen) throw new Error(`object ${o.id} reused as generation ${o.gen} over generation ${old.gen}`);
    this.objects.set(o.id, o);
  }

  /** Takes in a record from another partition: kept if it is newer than the one held. Returns whether it was. */
  learn(o: KObject): boolean {
    const old = this.objects.get(o.id);
    if (old !== undefined && old.gen >= o.gen) return false;
    this.objects.set(o.id, o);
    return true;
  }

  /** Forgets a record whose memory was reclaimed (without memory reuse), if it is held here. */
  forget(id: number): void {
    this.objects.delete(id);
  }

  get(id: number): KObject {
    const o = this.objects.get(id);
    if (o === undefined) throw new Error(`unknown object ${id}`);
    return o;
  }

  /** The record of `id`, or undefined when none is held. */
  find(id: number): KObject | undefined {
    return this.objects.get(id);
  }

  has(id: number): boolean {
    return this.objects.has(id);
  }

  all(): IterableIterator<KObject> {
    return this.objects.values();
  }

  get size(): number {
    return this.objects.size;
  }
}
