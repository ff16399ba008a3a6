import type { Engine } from "../engine/engine.ts";
import { SimulationError } from "../engine/errors.ts";
import { Prng } from "../engine/prng.ts";
import type { Machine } from "../machine/machine.ts";
import { EV_TASK_ARRIVE, EV_TASK_WAKE, EV_TIMER, FREED, PRIO_ARRIVAL, PRIO_TIMER, RMW_SET } from "../coherence/protocol.ts";
import { applyRmw } from "../coherence/rmw.ts";
import { COUNTERS } from "../schemes/index.ts";
import { TAG_PERCPU_SWITCHED } from "../schemes/percpu.ts";
import { TIMER_REFCACHE_EPOCH } from "../schemes/refcache.ts";
import type {
  ContainerObjects,
  Counter,
  KernelApi,
  KernelCostsPs,
  PerCpuCounterState,
  Scheme,
  SchemeOptions,
  ViolationKind,
} from "../schemes/scheme.ts";
import { TAG_SLOPPY_RECONCILED } from "../schemes/sloppy.ts";
import { SCHEMES } from "../schemes/index.ts";
import type { RunConfig } from "../spec/resolve.ts";
import type { Cpu, CpuHooks } from "./cpu.ts";
import {
  COUNTER_NONE,
  COUNTER_PERCPU,
  COUNTER_SLOPPY,
  objectLine,
  objectOfLine,
  ObjectTable,
  OBJ_GLOBAL,
  OBJ_NAMESPACE,
  OBJ_TASK,
  perCpuLine,
  SLOT_COUNT,
  SLOT_READ,
  SLOT_VARS,
  type KObject,
} from "./objects.ts";
import { insertSteps, OP_KIND_COUNT, OP_KWORK, STEP_ACCESS, STEP_ACTION, StepWriter, type Program, type Step } from "./program.ts";
import {
  newLockCpuState,
  TAG_OWNER_MUTEX,
  TAG_OWNER_RW,
  TAG_OWNER_RWSEM,
  TAG_OWNER_SLEEP,
  TAG_OWNER_SPIN,
  type LockCpuState,
  type LockHost,
  type LockTable,
} from "../locks/lock-host.ts";
import { mutexResult } from "../locks/mutex.ts";
import { rwsemResult } from "../locks/rwsem.ts";
import { sleepCostsPs, type SleepCostsPs } from "../locks/sleep-costs.ts";
import { sleepQueueAction, sleepQueueResult } from "../locks/sleep-queue.ts";
import { spinLockAction, spinLockResult } from "../locks/qspinlock.ts";
import { rwLockAction, rwLockResult } from "../locks/qrwlock.ts";
import { kernelPathCostsPs, type KernelPathCostsPs } from "../kernel-path/costs.ts";
import { ATTR_CAPACITY, ATTR_COMPUTE, ATTR_KERNEL_MEMORY, ATTR_LOCK_WAIT, ATTR_LOCKED, ATTR_NAMESPACE_REFS } from "../metrics/attribution.ts";
import type { KernelPathState } from "../kernel-path/setup.ts";
import { ContainerVars, isVarLine } from "../container-vars/vars.ts";
import { varLineOwner } from "../container-vars/lines.ts";
import { createNetns, putNetns, TAG_NETNS_PUT } from "../kernel-path/netns.ts";
import { netnsBatch, netnsBatchDone, netnsQueued, newNetnsWorkerState, queueNetnsCleanup, TAG_NETNS_BATCH, TAG_NETNS_DONE, KWORK_NETNS, type NetnsWorkerState } from "../kernel-path/netns-cleanup.ts";
import { netnsCostsPs, type NetnsCostsPs } from "../kernel-path/netns-costs.ts";
import { cacheCount, cacheOf, cpuPartialLimits } from "../slab/caches.ts";
import { newSlabCpu, newSlabNode, slabFree, slabGranted, slabNodePut, slabNodeRefill, slabTake, type SlabCpuState, type SlabHost, type SlabNodeState } from "../slab/slab.ts";
import { newAwaitingLog, noteAwaiting, type AwaitingLog } from "../metrics/awaiting-free.ts";

/** A task: where it runs, what it holds, and what it does next. */
export interface Task {
  id: number;
  cpu: number;
  role: number;
  /** The objects the task holds a reference on (the scheme's attachment). */
  attach: number[];
  /** Whether the task created its attachment (see Scheme.exit). */
  owned: boolean;
  /** The task that forked it (its parent's siglock is taken when it exits), -1 for set-up tasks. */
  parent: number;
  /** The task arrived from another CPU and must pull its task_struct line first. */
  pull: boolean;
  /** Whether its next program is think time. */
  thinkNext: boolean;
  /** A container cycle in progress: its phase and the container's objects. */
  churnPhase: number;
  churn: ContainerObjects | null;
}
export const ROLE_WORKER = 0;
export const ROLE_CHILD = 1;

/** A container set up before the run: every level of its nesting chain, top first. */
export interface ContainerRecord {
  index: number;
  socket: number;
  chain: ContainerObjects[];
  /** What a task in its deepest level holds. */
  attach: number[];
}

export interface Violation {
  kind: ViolationKind;
  obj: number;
  cpu: number;
  timePs: number;
  detail: string;
}

/**
 * A program that left its CPU (STEP_SLEEP), with what the CPU knew of it: where its time went
 * so far (Cpu.programTimePs), the class its sleep counts in, and its lock and scheme state
 * (the CPU runs other programs meanwhile).
 */
export interface SleepingProgram {
  program: Program;
  timePs: Float64Array;
  sleepClass: number;
  sleptAtPs: number;
  waiting: number;
  waitingFor: number;
  holding: number;
  inScheme: boolean;
}

/** Kernel state of one CPU. */
export interface KernelCpu extends PerCpuCounterState {
  runQueue: number[];
  kwork: Program[];
  prng: Prng;
  nextLocalId: number;
  childrenSent: Map<number, number>;
  /** Changes of the count of objects awaiting free, bounded (metrics/awaiting-free.ts). */
  awaiting: AwaitingLog;
  freed: number[];
  /** Objects whose counter switched mode on this CPU, each memory once. */
  switched: number[];
  /**
   * The generation of each switched object's memory, beside `switched` (memory reuse): the
   * newest one switched here (an older generation's switch no longer says anything of the
   * object living there, so memory that is reused keeps one entry, not one per object).
   */
  switchedGen: number[];
  /** Where each object of `switched` is in it. */
  switchedAt: Map<number, number>;
  violations: Violation[];
  locks: LockCpuState;
  /** Whether the CPU runs the scheme's own steps of an operation (between TAG_SCHEME_BEGIN and _END). */
  inScheme: boolean;
  /**
   * Where the latency of the operations completed in the measured window went: for each
   * operation kind, `timeClasses` picoseconds by class (metrics/attribution.ts).
   */
  timeByOp: Float64Array;
  /** Programs asleep on this CPU, by task. */
  sleeping: Map<number, SleepingProgram>;
  /** Tasks woken before their program reached its sleep step (it goes on instead of sleeping). */
  wakePending: Set<number>;
  /** Woken programs, in the order of their wake-ups: they run before new work. */
  ready: SleepingProgram[];
  /** The netns workqueue, on the worker's CPU (netns-cleanup.ts). */
  netnsWorker: NetnsWorkerState;
  /** The CPU's free object lists (memory reuse, linux-6 only). */
  slab: SlabCpuState;
}

/** Kernel-level step tags (counters use tags 16 and above, see Counter). */
export const TAG_FREED = 1;
export const TAG_SPAWN = 2;
export const TAG_MIGRATE = 3;
export const TAG_TASK_EXIT = 4;
/** Around the scheme's steps of an operation: its namespace reference counting (arg: the operation kind). */
export const TAG_SCHEME_BEGIN = 5;
export const TAG_SCHEME_END = 6;

/** Decides what tasks do; the workload driver implements it. */
export interface TaskProgrammer {
  nextProgram(k: Kernel, cpu: number, task: Task): Program;
}

/**
 * What reclaims memory without memory reuse (the partition, see protocol/reclaim.ts): an exited
 * task's and a freed object's, which nothing may touch again.
 */
export interface Reclaimer {
  retire(id: number): void;
}

/**
 * The kernel model: tasks, objects and their references, per-CPU kernel state, and the glue
 * between CPUs (which run programs) and schemes (which write the steps of each operation).
 */
export class Kernel implements KernelApi, CpuHooks, LockHost, SlabHost {
  readonly config: RunConfig;
  readonly scheme: Scheme;
  readonly machine: Machine;
  readonly engine: Engine;
  readonly objects = new ObjectTable();
  readonly tasks = new Map<number, Task>();
  readonly containers: ContainerRecord[] = [];
  readonly kindNames: readonly string[];
  readonly kindCount: number;
  readonly hierarchical: readonly boolean[];
  readonly varKind: number;
  /** The net kind's index, or -1 when the run has no network namespaces. */
  readonly netKind: number;
  readonly cpuCount: number;
  readonly costs: KernelCostsPs;
  readonly options: SchemeOptions;
  readonly layoutShared: boolean;
  /** The per-container variables' layout (shared/container-vars). */
  readonly vars: ContainerVars;
  globalObject = -1;
  currentCpu = 0;
  readonly perCpu: KernelCpu[];
  readonly socketCpus: number[][];
  programmer: TaskProgrammer | null = null;
  /** The kernel profile's locks (none under refcounts-only). */
  readonly locks: LockTable = { classes: [], nodesObject: -1 };
  /** The linux-6 fork and exit path's shared state, or null under refcounts-only. */
  path: KernelPathState | null = null;
  readonly pathCosts: KernelPathCostsPs = kernelPathCostsPs();
  lockLog: number[] | null = null;
  readonly sleepCosts: SleepCostsPs = sleepCostsPs();
  readonly netnsCosts: NetnsCostsPs = netnsCostsPs();
  /** CPUs held by this process (all of them in an embedded run). */
  readonly ownsCpu: (cpu: number) => boolean;
  private createdSinceBarrier: KObject[] = [];
  /**
   * Reclaims retired memory (an exited task's, a freed object's: its record, its lines in
   * directories and caches) at a reclaim boundary, or null under memory reuse (see Partition).
   */
  reclaimer: Reclaimer | null = null;
  /** Keep a list of new objects for takeCreatedObjects (only distributed runs need it). */
  shareCreatedObjects = false;
  private setupNextId = 0;
  private idBase = -1;
  private setupMemory: Map<number, number> | null = null;
  /**
   * Whether freed objects' memory is reused (the linux-6 profile; refcounts-only keeps today's
   * fresh memory for every object, so its results stay as they were).
   */
  readonly reuseMemory: boolean;
  readonly slabLimits: readonly number[];
  /** Each node's partial lists (only the partition holding the node's home uses its entry). */
  readonly slabNodes: SlabNodeState[];
  /** Per cache, the global object whose per-CPU lines stand for each node's list line (-1: none yet). */
  private slabListObjects: number[] = [];
  /** First CPU of each node (its per-CPU lines are homed on the node). */
  private readonly nodeFirstCpu: number[] = [];

  constructor(
    config: RunConfig,
    machine: Machine,
    engine: Engine,
    ownsCpu: (cpu: number) => boolean = () => true,
    scheme: Scheme = SCHEMES[config.scheme],
  ) {
    this.config = config;
    this.scheme = scheme;
    this.machine = machine;
    this.engine = engine;
    this.ownsCpu = ownsCpu;
    this.kindNames = config.kinds;
    this.kindCount = config.kinds.length;
    this.hierarchical = config.kinds.map((k) => k === "pid" || k === "user");
    const net = config.kinds.indexOf("net");
    this.varKind = net >= 0 ? net : 0;
    this.netKind = net;
    this.cpuCount = machine.cpuCount;
    this.costs = config.costs;
    this.options = config.options;
    this.layoutShared = config.layoutShared;
    this.vars = new ContainerVars(config.vars, config.kinds, this.varKind, scheme.varHome, this.cpuCount);
    this.perCpu = [];
    for (let cpu = 0; cpu < this.cpuCount; cpu++) {
      this.perCpu.push({
        runQueue: [],
        kwork: [],
        prng: Prng.forEntity(config.seed, cpu),
        nextLocalId: 0,
        childrenSent: new Map(),
        awaiting: newAwaitingLog(),
        freed: [],
        switched: [],
        switchedGen: [],
        switchedAt: new Map(),
        violations: [],
        refcacheDirty: new Set(),
        refcacheReviews: [],
        refcacheEpoch: 0,
        locks: newLockCpuState(0),
        inScheme: false,
        timeByOp: new Float64Array(OP_KIND_COUNT * ATTR_LOCK_WAIT),
        sleeping: new Map(),
        wakePending: new Set(),
        ready: [],
        netnsWorker: newNetnsWorkerState(),
        slab: newSlabCpu(cacheCount(config.kinds.length)),
      });
    }
    this.reuseMemory = config.kernel === "linux-6";
    this.slabLimits = cpuPartialLimits(config.kinds);
    this.slabNodes = Array.from({ length: machine.nodeCount }, () => newSlabNode(cacheCount(config.kinds.length)));
    for (let cpu = this.cpuCount - 1; cpu >= 0; cpu--) this.nodeFirstCpu[machine.topology.nodeOf(cpu)] = cpu;
    this.socketCpus = [];
    for (let cpu = 0; cpu < this.cpuCount; cpu++) {
      const s = machine.topology.socketOf(cpu);
      (this.socketCpus[s] ??= []).push(cpu);
    }
  }

  get nowPs(): number {
    return this.engine.nowPs;
  }

  // ---- set-up: steps applied at once to an image of memory, before time starts ----

  /** Runs `build` as set-up on `cpu`: its steps take effect immediately and cost nothing. */
  setup<T>(cpu: number, build: (w: StepWriter) => T): T {
    if (this.setupMemory === null) this.setupMemory = new Map();
    this.currentCpu = cpu;
    const w = new StepWriter([]);
    const result = build(w);
    const program: Program = { op: OP_KWORK, taskId: -1, startPs: 0, steps: w.steps, pc: 0, scratch: 0 };
    const mem = this.setupMemory;
    const out = new Float64Array(2);
    while (program.pc < program.steps.length) {
      const s = program.steps[program.pc++];
      const more = new StepWriter([]);
      if (s.kind === STEP_ACCESS) {
        applyRmw(s.rmw, mem.get(s.line) ?? 0, s.arg, out);
        mem.set(s.line, out[0]);
        if (s.tag !== 0) this.dispatchResult(program, s, out[1], more);
      } else if (s.kind === STEP_ACTION) {
        this.dispatchAction(program, s, more);
      }
      if (more.steps.length > 0) program.steps = insertSteps(program.steps, program.pc, more.steps);
    }
    return result;
  }

  /** Ends set-up: later objects get ids from the CPUs' own counters. Returns the memory image. */
  finishSetup(): Map<number, number> {
    const mem = this.setupMemory ?? new Map<number, number>();
    this.setupMemory = null;
    this.idBase = this.setupNextId;
    return mem;
  }

  /** The CPU that created an object after set-up, or -1 for a set-up object. */
  creatorCpu(id: number): number {
    if (this.idBase < 0 || id < this.idBase) return -1;
    return (id - this.idBase) % this.cpuCount;
  }

  /** Objects created since the last call (a distributed run sends them to every partition). */
  takeCreatedObjects(): KObject[] {
    const out = this.createdSinceBarrier;
    this.createdSinceBarrier = [];
    return out;
  }

  // ---- KernelApi ----

  object(id: number): KObject {
    const o = this.objects.find(id);
    if (o !== undefined) return o;
    // Without memory reuse a freed object's record leaves with its memory (protocol/reclaim.ts).
    const why = this.reclaimer === null ? "" : ": a use after free, past its memory's reclaim";
    throw new SimulationError(`object ${id} is in no table here${why}`, this.engine.nowPs, `cpu ${this.currentCpu}`);
  }

  private allocateId(): number {
    if (this.idBase < 0) return this.setupNextId++;
    const st = this.perCpu[this.currentCpu];
    return this.idBase + st.nextLocalId++ * this.cpuCount + this.currentCpu;
  }

  create(w: StepWriter, type: number, nsKind: number, holds: number[], counter: number): number {
    const cache = cacheOf(type, nsKind);
    const reused = this.reuseMemory && this.idBase >= 0 && cache >= 0 ? slabTake(this, this.perCpu[this.currentCpu].slab, this.currentCpu, cache, w) : null;
    const id = reused === null ? this.allocateId() : reused[0];
    const record: KObject = {
      id,
      type,
      nsKind,
      home: this.machine.topology.nodeOf(this.currentCpu),
      holds: holds.slice(),
      counter,
      createdPs: this.engine.nowPs,
      gen: reused === null ? 0 : reused[1] + 1,
    };
    if (reused === null) this.objects.add(record);
    else {
      const old = this.objects.has(id) ? this.object(id) : null;
      if (old !== null && old.home !== record.home) throw new SimulationError(`object memory ${id} of node ${old.home} reused on node ${record.home}`, this.engine.nowPs, `cpu ${this.currentCpu}`);
      this.objects.install(record);
      // pcpu_alloc() hands out zeroed per-CPU memory: a reused percpu_ref's counters start at 0
      // again (fresh memory is zero already).
      if (counter === COUNTER_PERCPU) for (let cpu = 0; cpu < this.cpuCount; cpu++) w.access(this.perCpuLine(id, cpu), RMW_SET, 0);
    }
    if (this.shareCreatedObjects && this.idBase >= 0) this.createdSinceBarrier.push(record);
    if (type === OBJ_TASK) {
      // dup_task_struct writes the new task's thread_info and its task_struct (the namespace pointers' line too).
      w.access(this.threadInfoLine(id), RMW_SET, 0);
      w.access(this.taskStructLine(id), RMW_SET, 0);
      return id;
    }
    const c = COUNTERS[counter];
    if (c !== null) c.init(this, w, id);
    else w.access(this.countLine(id), RMW_SET, 0);
    if (!this.layoutShared) w.access(this.readLine(id), RMW_SET, 0);
    w.access(this.varsLine(id), RMW_SET, 0);
    this.vars.init(w, record);
    return id;
  }

  /** Creates a task's record and writes its task_struct line on the current CPU. */
  newTask(w: StepWriter, cpu: number, role: number, attach: number[], owned: boolean): Task {
    const id = this.create(w, OBJ_TASK, -1, [], COUNTER_NONE);
    const task: Task = { id, cpu, role, attach, owned, parent: -1, pull: false, thinkNext: false, churnPhase: 0, churn: null };
    this.tasks.set(id, task);
    return task;
  }

  createGlobal(w: StepWriter): number {
    this.globalObject = this.create(w, OBJ_GLOBAL, -1, [], COUNTER_NONE);
    return this.globalObject;
  }

  private counterOf(obj: number): Counter {
    const c = COUNTERS[this.object(obj).counter];
    if (c === null) throw new SimulationError(`object ${obj} has no reference count`, this.engine.nowPs, `cpu ${this.currentCpu}`);
    return c;
  }

  get(w: StepWriter, obj: number): void {
    this.counterOf(obj).get(this, w, obj);
  }
  put(w: StepWriter, obj: number): void {
    this.counterOf(obj).put(this, w, obj);
  }
  release(w: StepWriter, obj: number): void {
    this.counterOf(obj).release(this, w, obj);
  }
  leave(w: StepWriter, obj: number, owned: boolean): void {
    if (owned) this.release(w, obj);
    else this.put(w, obj);
  }

  namespaceCreation(w: StepWriter, kind: number): void {
    const path = this.path;
    if (path === null) w.compute(this.costs.nsCreatePs[kind]);
    else if (kind === this.netKind) createNetns(this, w, path, this.costs.nsCreatePs[kind]);
    else w.compute(this.costs.nsCreateLinuxPs[kind]);
  }

  free(w: StepWriter, obj: number, countAlreadyPoisoned: boolean): void {
    if (this.path !== null && this.netKind >= 0) {
      const o = this.object(obj);
      if (o.type === OBJ_NAMESPACE && o.nsKind === this.netKind) return putNetns(this, w, this.path, obj, countAlreadyPoisoned);
    }
    w.compute(this.costs.freePs);
    if (!countAlreadyPoisoned) w.access(this.countLine(obj), RMW_SET, FREED);
    w.action(TAG_FREED, obj);
    for (const held of this.object(obj).holds) this.put(w, held);
  }

  countLine(obj: number): number {
    return objectLine(obj, SLOT_COUNT);
  }
  readLine(obj: number): number {
    return objectLine(obj, this.layoutShared ? SLOT_COUNT : SLOT_READ);
  }
  varsLine(obj: number): number {
    return objectLine(obj, SLOT_VARS);
  }
  perCpuLine(obj: number, cpu: number): number {
    return perCpuLine(obj, cpu, this.cpuCount);
  }
  threadInfoLine(task: number): number {
    return objectLine(task, SLOT_COUNT);
  }
  taskStructLine(task: number): number {
    return objectLine(task, SLOT_READ);
  }

  violation(kind: ViolationKind, obj: number, detail: string): void {
    this.perCpu[this.currentCpu].violations.push({ kind, obj, cpu: this.currentCpu, timePs: this.engine.nowPs, detail });
  }

  noteAwaitingFree(obj: number, delta: 1 | -1): void {
    const gen = this.object(obj).gen;
    noteAwaiting(this.perCpu[this.currentCpu].awaiting, this.engine.nowPs, this.config.durationPs, obj, gen, delta);
  }

  timer(delayPs: number, kind: number, obj: number): void {
    const cpu = this.currentCpu;
    this.engine.send(delayPs, PRIO_TIMER, cpu, cpu, EV_TIMER, kind, obj);
  }

  cpuState(cpu: number): PerCpuCounterState {
    return this.perCpu[cpu];
  }

  // ---- LockHost ----

  lockState(cpu: number): LockCpuState {
    return this.perCpu[cpu].locks;
  }
  nodeLine(cpu: number): number {
    return perCpuLine(this.locks.nodesObject, cpu, this.cpuCount);
  }
  measured(timePs: number): boolean {
    return timePs >= this.config.warmupPs && timePs < this.config.durationPs;
  }
  needResched(cpu: number): boolean {
    const st = this.perCpu[cpu];
    return st.ready.length > 0 || st.kwork.length > 0 || (st.runQueue.length > 0 && this.engine.nowPs < this.config.durationPs);
  }
  wakeTask(task: number, cpu: number, delayPs: number): void {
    this.engine.send(delayPs, PRIO_ARRIVAL, this.currentCpu, cpu, EV_TASK_WAKE, task);
  }
  /** EV_TASK_WAKE on `cpu`: the task's sleeping program is ready to run again. */
  taskWoken(cpu: number, task: number): void {
    const st = this.perCpu[cpu];
    const asleep = st.sleeping.get(task);
    if (asleep === undefined) {
      st.wakePending.add(task);
      return;
    }
    st.sleeping.delete(task);
    st.ready.push(asleep);
  }
  /** Gives every CPU its lock statistics once the profile's lock classes are known. */
  initLockState(): void {
    if (ATTR_LOCK_WAIT + this.locks.classes.length > ATTR_CAPACITY) throw new RangeError(`${this.locks.classes.length} lock classes: a CPU tells at most ${ATTR_CAPACITY - ATTR_LOCK_WAIT} apart`);
    for (const st of this.perCpu) {
      st.locks = newLockCpuState(this.locks.classes.length);
      st.timeByOp = new Float64Array(OP_KIND_COUNT * this.timeClasses);
    }
  }

  /** Classes of time (metrics/attribution.ts): the fixed ones and a lock wait per lock class. */
  get timeClasses(): number {
    return ATTR_LOCK_WAIT + this.locks.classes.length;
  }

  timeClass(cpu: number, compute: boolean): number {
    const st = this.perCpu[cpu];
    const l = st.locks;
    if (l.waiting > 0) return ATTR_LOCK_WAIT + l.waitingFor;
    if (st.inScheme) return ATTR_NAMESPACE_REFS;
    if (l.holding > 0) return ATTR_LOCKED;
    return compute ? ATTR_COMPUTE : ATTR_KERNEL_MEMORY;
  }

  // ---- CpuHooks ----

  reclaimed(line: number): boolean {
    return this.reclaimer !== null && !this.objects.has(this.ownerOfLine(line));
  }

  /** The object a line belongs to: an object line, a per-CPU line or a per-container variable's line. */
  ownerOfLine(line: number): number {
    if (isVarLine(line)) return varLineOwner(line, this.cpuCount, this.vars.stride, this.vars.slotLines).obj;
    return objectOfLine(line, this.cpuCount);
  }

  /**
   * Forgets what the kernel keeps of reclaimed objects (protocol/reclaim.ts): their records, and
   * their entries in the CPUs' lists of freed and switched objects. A partition may not hold
   * every record (it learns of an object only through an event).
   */
  forgetObjects(dead: ReadonlySet<number>): void {
    for (const id of dead) this.objects.forget(id);
    for (const st of this.perCpu) {
      if (st.freed.some((o) => dead.has(o))) st.freed = st.freed.filter((o) => !dead.has(o));
      if (!st.switched.some((o) => dead.has(o))) continue;
      const switched: number[] = [];
      const gens: number[] = [];
      st.switchedAt.clear();
      st.switched.forEach((o, i) => {
        if (dead.has(o)) return;
        st.switchedAt.set(o, switched.length);
        switched.push(o);
        gens.push(st.switchedGen[i]);
      });
      st.switched = switched;
      st.switchedGen = gens;
    }
  }

  lineHome(line: number): number {
    if (isVarLine(line)) {
      return this.vars.lineHome(
        line,
        (obj) => this.object(obj).home,
        (cpu) => this.machine.topology.nodeOf(cpu),
      );
    }
    if (line < 0) return this.machine.topology.nodeOf((-1 - line) % this.cpuCount);
    return this.object(Math.floor(line / 4)).home;
  }

  nextProgram(cpu: Cpu, kernelWorkOnly: boolean): Program | null {
    this.currentCpu = cpu.id;
    const st = this.perCpu[cpu.id];
    if (st.kwork.length > 0) return st.kwork.shift() as Program;
    if (kernelWorkOnly) return null;
    const woken = st.ready.shift();
    if (woken !== undefined) {
      // Mid-operation: it runs to its end even after the duration, with what it had collected.
      cpu.programTimePs.set(woken.timePs);
      if (woken.sleepClass >= 0) cpu.programTimePs[woken.sleepClass] += this.engine.nowPs - woken.sleptAtPs;
      st.locks.waiting = woken.waiting;
      st.locks.waitingFor = woken.waitingFor;
      st.locks.holding = woken.holding;
      st.inScheme = woken.inScheme;
      return woken.program;
    }
    if (this.engine.nowPs >= this.config.durationPs) return null;
    const taskId = st.runQueue.shift();
    if (taskId === undefined) return null;
    const task = this.tasks.get(taskId);
    if (task === undefined) throw new SimulationError(`task ${taskId} is queued but does not exist`, this.engine.nowPs, `cpu ${cpu.id}`);
    if (this.programmer === null) throw new Error("Kernel has no task programmer");
    return this.programmer.nextProgram(this, cpu.id, task);
  }

  onResult(cpu: Cpu, program: Program, step: Step, result: number, out: StepWriter): void {
    this.currentCpu = cpu.id;
    this.dispatchResult(program, step, result, out);
  }

  onAction(cpu: Cpu, program: Program, step: Step, out: StepWriter): void {
    this.currentCpu = cpu.id;
    this.dispatchAction(program, step, out);
  }

  onProgramDone(cpu: Cpu, program: Program): void {
    // Kernel work (which may interrupt a task's program) takes no lock and runs no scheme step.
    if (program.taskId < 0) return;
    const st = this.perCpu[cpu.id];
    if (this.measured(this.engine.nowPs)) {
      const n = this.timeClasses;
      const at = program.op * n;
      for (let c = 0; c < n; c++) st.timeByOp[at + c] += cpu.programTimePs[c];
    }
    const task = this.tasks.get(program.taskId);
    if (task !== undefined && task.cpu === cpu.id) this.perCpu[cpu.id].runQueue.push(task.id);
  }

  onSleep(cpu: Cpu, program: Program): boolean {
    this.currentCpu = cpu.id;
    const st = this.perCpu[cpu.id];
    if (st.wakePending.delete(program.taskId)) return false;
    if (st.sleeping.has(program.taskId)) throw new SimulationError(`task ${program.taskId} sleeps twice`, this.engine.nowPs, `cpu ${cpu.id}`);
    const l = st.locks;
    st.sleeping.set(program.taskId, {
      program,
      timePs: Float64Array.from(cpu.programTimePs),
      // Asleep waiting for a lock counts as that lock's wait; a timed sleep (RCU) as what it sleeps in.
      sleepClass: this.timeClass(cpu.id, true),
      sleptAtPs: this.engine.nowPs,
      waiting: l.waiting,
      waitingFor: l.waitingFor,
      holding: l.holding,
      inScheme: st.inScheme,
    });
    cpu.programTimePs.fill(0);
    l.waiting = 0;
    l.waitingFor = -1;
    l.holding = 0;
    st.inScheme = false;
    return true;
  }

  private dispatchResult(program: Program, step: Step, result: number, out: StepWriter): void {
    const owner = step.tag >> 4;
    if (owner === TAG_OWNER_SLEEP) return sleepQueueResult(this, program, step, result, out);
    if (owner === TAG_OWNER_MUTEX) return mutexResult(this, program, step, result, out);
    if (owner === TAG_OWNER_RWSEM) return rwsemResult(this, program, step, result, out);
    if (owner === TAG_OWNER_SPIN) return spinLockResult(this, program, step, result, out);
    if (owner === TAG_OWNER_RW) return rwLockResult(this, program, step, result, out);
    const counter = COUNTERS[step.tag >> 4];
    if (counter === null || counter === undefined) {
      throw new SimulationError(`no handler for result tag ${step.tag}`, this.engine.nowPs, `cpu ${this.currentCpu}`);
    }
    counter.onResult(this, program, step, result, out);
  }

  private dispatchAction(program: Program, step: Step, out: StepWriter): void {
    const owner = step.tag >> 4;
    if (owner === TAG_OWNER_SPIN) return spinLockAction(this, step);
    if (owner === TAG_OWNER_RW) return rwLockAction(this, step);
    if (owner === TAG_OWNER_SLEEP) return sleepQueueAction(this, program, step);
    if (owner !== 0) {
      if (step.tag === TAG_PERCPU_SWITCHED || step.tag === TAG_SLOPPY_RECONCILED) {
        const st = this.perCpu[this.currentCpu];
        const gen = this.object(step.obj).gen;
        const at = st.switchedAt.get(step.obj);
        if (at === undefined) {
          st.switchedAt.set(step.obj, st.switched.length);
          st.switched.push(step.obj);
          st.switchedGen.push(gen);
        } else if (st.switchedGen[at] < gen) st.switchedGen[at] = gen;
      }
      (COUNTERS[owner] as Counter).onAction(this, program, step, out);
      return;
    }
    switch (step.tag) {
      case TAG_FREED: {
        const o = this.object(step.obj);
        if (o.counter === COUNTER_PERCPU || o.counter === COUNTER_SLOPPY) this.noteAwaitingFree(step.obj, -1);
        if (this.freeMemory(o, out)) return;
        this.perCpu[this.currentCpu].freed.push(step.obj);
        if (this.idBase >= 0) this.reclaimer?.retire(step.obj);
        return;
      }
      case TAG_SPAWN:
        this.sendTask(step.obj, step.arg, true);
        return;
      case TAG_MIGRATE:
        this.sendTask(step.obj, step.arg, false);
        return;
      case TAG_TASK_EXIT: {
        this.tasks.delete(step.obj);
        // The task_struct goes back to the slab on the CPU it exited on (its RCU-delayed free
        // is not modelled apart); without memory reuse it is reclaimed at a reclaim boundary.
        const task = this.object(step.obj);
        if (!this.freeMemory(task, out) && this.idBase >= 0) this.reclaimer?.retire(step.obj);
        return;
      }
      case TAG_SCHEME_BEGIN:
        this.perCpu[this.currentCpu].inScheme = true;
        return;
      case TAG_SCHEME_END:
        this.perCpu[this.currentCpu].inScheme = false;
        return;
      case TAG_NETNS_PUT:
        queueNetnsCleanup(this, this.path as KernelPathState, step.obj);
        return;
      case TAG_NETNS_BATCH:
        netnsBatch(this, out);
        return;
      case TAG_NETNS_DONE:
        netnsBatchDone(this);
        return;
      default:
        throw new SimulationError(`unknown action tag ${step.tag}`, this.engine.nowPs, `cpu ${this.currentCpu}`);
    }
  }

  // ---- object memory (shared/slab/) ----

  /** Creates the lines that stand for each node's slab lists (set-up, linux-6 only). */
  setUpSlabs(): void {
    if (!this.reuseMemory) return;
    this.slabListObjects = this.setup(0, (sw) => this.perCpu[0].slab.lists.map(() => this.create(sw, OBJ_GLOBAL, -1, [], COUNTER_NONE)));
  }

  slabListLine(cache: number, node: number): number {
    return perCpuLine(this.slabListObjects[cache], this.nodeFirstCpu[node], this.cpuCount);
  }

  /**
   * The memory of a freed object (or an exited task) goes back to the slab of the current CPU,
   * under memory reuse and once time runs; returns whether it did (else the object stays in the
   * table, freed for good).
   */
  private freeMemory(o: KObject, out: StepWriter): boolean {
    const cache = cacheOf(o.type, o.nsKind);
    if (!this.reuseMemory || cache < 0 || this.idBase < 0) return false;
    slabFree(this, this.perCpu[this.currentCpu].slab, this.currentCpu, cache, o.id, o.gen, o.home, out);
    return true;
  }

  /** EV_SLAB_PUT at a node's home. */
  slabPut(node: number, cache: number, id: number, gen: number): void {
    slabNodePut(this.slabNodes[node], cache, id, gen);
  }

  /** EV_SLAB_REFILL at a node's home. */
  slabRefill(node: number, cache: number, cpu: number): void {
    slabNodeRefill(this, this.slabNodes[node], node, cache, cpu);
  }

  /** EV_SLAB_GRANT at a CPU. */
  slabGrant(cpu: number, cache: number, id: number, gen: number, last: boolean): void {
    slabGranted(this.perCpu[cpu].slab, cache, id, gen, last);
  }

  /** Moves a task (a new child, or a migrating one) to `dst`'s run queue. */
  private sendTask(taskId: number, dst: number, isNew: boolean): void {
    const task = this.tasks.get(taskId) as Task;
    const src = this.currentCpu;
    task.cpu = dst;
    if (dst === src) {
      // A task migrating to its own CPU stays put: onProgramDone queues it again, as after any
      // operation. Only a new child needs queueing here.
      if (isNew) this.perCpu[dst].runQueue.push(taskId);
      return;
    }
    task.pull = true;
    // The wake-up takes the destination runqueue's lock: one ownership transfer between the CPUs.
    const delay = this.machine.costs.atomicPs[this.machine.topology.cpuDistance(src, dst)];
    this.engine.send(delay, PRIO_ARRIVAL, src, dst, EV_TASK_ARRIVE, taskId, isNew ? 1 : 0);
  }

  /** EV_TASK_ARRIVE on `cpu`. */
  taskArrived(cpu: number, taskId: number): void {
    this.perCpu[cpu].runQueue.push(taskId);
  }

  /** EV_KWORK_QUEUED on `cpu`: work for a kernel worker there. */
  kworkQueued(cpu: number, kind: number, obj: number): void {
    this.currentCpu = cpu;
    if (kind !== KWORK_NETNS) throw new SimulationError(`unknown kernel work ${kind}`, this.engine.nowPs, `cpu ${cpu}`);
    netnsQueued(this, cpu, obj);
  }

  /** EV_TIMER on `cpu`: queues the kernel work, re-arming the refcache epoch until the run ends. */
  timerFired(cpu: number, kind: number, obj: number): void {
    this.currentCpu = cpu;
    const counter = COUNTERS[kind >> 4];
    if (counter === null || counter === undefined) throw new SimulationError(`unknown timer ${kind}`, this.engine.nowPs, `cpu ${cpu}`);
    if (kind === TIMER_REFCACHE_EPOCH && this.engine.nowPs + this.options.refcacheEpochPs < this.config.durationPs) {
      this.timer(this.options.refcacheEpochPs, kind, obj);
    }
    const w = new StepWriter([]);
    counter.onTimer(this, kind, obj, w);
    if (w.steps.length > 0) this.perCpu[cpu].kwork.push({ op: OP_KWORK, taskId: -1, startPs: 0, steps: w.steps, pc: 0, scratch: 0 });
  }

  /** Starts the refcache epoch timers on this process's CPUs. */
  startTimers(): void {
    if (this.config.scheme !== "refcache") return;
    for (let cpu = 0; cpu < this.cpuCount; cpu++) {
      if (!this.ownsCpu(cpu)) continue;
      this.engine.send(this.options.refcacheEpochPs, PRIO_TIMER, cpu, cpu, EV_TIMER, TIMER_REFCACHE_EPOCH, -1);
    }
  }
}
