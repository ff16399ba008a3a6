import { Engine, type EventHandler, type Router } from "../engine/engine.ts";
import { LateEventError, LineInUseError, SimulationError } from "../engine/errors.ts";
import { EventQueue } from "../engine/event-queue.ts";
import { Machine } from "../machine/machine.ts";
import { HomeNode } from "../coherence/home.ts";
import {
  EV_CPU_STEP,
  EV_LINE_DATA,
  EV_LINE_FREE,
  EV_LINE_INVALIDATE,
  EV_LINE_RECALL,
  EV_LINE_REQUEST,
  EV_SLAB_GRANT,
  EV_SLAB_PUT,
  EV_SLAB_REFILL,
  EV_TASK_ARRIVE,
  EV_KWORK_QUEUED,
  EV_TASK_WAKE,
  EV_TIMER,
} from "../coherence/protocol.ts";
import { Cpu, type CpuHooks } from "../kernel/cpu.ts";
import { Kernel, type Reclaimer, type Task } from "../kernel/kernel.ts";
import { OBJ_TASK, type KObject } from "../kernel/objects.ts";
import { OP_KIND_COUNT } from "../kernel/program.ts";
import type { Scheme } from "../schemes/scheme.ts";
import type { RunConfig } from "../spec/resolve.ts";
import { WorkloadDriver } from "../workloads/driver.ts";
import { setUpWorkload } from "../workloads/setup.ts";
import { deepestLevel } from "../kernel-path/levels.ts";
import { setUpKernelPath } from "../kernel-path/setup.ts";
import { wholeMachine, type Ownership } from "./partitioning.ts";
import { isolatedByDesign } from "./isolation.ts";
import type { PartitionReport } from "../report.ts";
import { awaitingReport } from "../metrics/awaiting-free.ts";
import { nextBoundaryPs, RECLAIM_PERIOD_PS, reclaimDuePs } from "./reclaim.ts";

export interface PartitionOptions {
  /** Sees every access a CPU makes (tests count accesses with it). */
  trace?: CpuHooks["trace"];
  /**
   * Runs this scheme in place of the one config.scheme names (results keep that name). Tests use
   * it to check that the invariant checks catch a deliberately broken scheme.
   */
  schemeOverride?: Scheme;
}

/** Fields per event in EventBatch.events. */
export const EVENT_FIELDS = 8;

/**
 * What one partition sends another at a window barrier: the events for the other's entities
 * (flattened, EVENT_FIELDS numbers each: time, rank, target, type, a0..a3), the tasks that
 * travel with EV_TASK_ARRIVE events, and the object records the receiver may not have yet.
 * A partition can only learn of an object through an event, so records travel with events:
 * everything the sender created or learned since its last batch to that receiver.
 */
export interface EventBatch {
  from: number;
  to: number;
  events: number[];
  tasks: Task[];
  objects: KObject[];
}

/**
 * The entities of one run that one process holds: its CPUs, its home nodes, their events and
 * the kernel state of its CPUs. Events for entities held elsewhere leave through the engine's
 * router into per-destination batches; a coordinator moves the batches between partitions at
 * window barriers. With the whole machine in one partition it is the embedded run.
 */
export class Partition implements EventHandler, Router, Reclaimer {
  readonly config: RunConfig;
  readonly index: number;
  readonly ownership: Ownership;
  readonly engine: Engine;
  readonly machine: Machine;
  readonly kernel: Kernel;
  /** CPUs by id; undefined where another partition holds the CPU. */
  readonly cpus: Array<Cpu | undefined>;
  readonly homes: Array<HomeNode | undefined>;
  private readonly outbox: number[][];
  private readonly outTasks: Task[][];
  /** Events received from, and sent to, each partition over the whole run. */
  readonly sentTo: Float64Array;
  readonly receivedFrom: Float64Array;

  constructor(config: RunConfig, ownership: Ownership | null = null, index = 0, options: PartitionOptions = {}) {
    this.config = config;
    this.index = index;
    this.machine = new Machine(config.machine, config.cpuCount);
    this.ownership = ownership ?? wholeMachine(this.machine);
    const own = this.ownership;
    const n = this.machine.cpuCount;
    this.engine = new Engine(n + this.machine.nodeCount, own.partitions > 1 ? this : null);
    this.engine.setHandler(this);
    this.kernel = new Kernel(config, this.machine, this.engine, (cpu) => own.cpuOwner[cpu] === index, options.schemeOverride);
    this.kernel.programmer = new WorkloadDriver(config.workload);
    this.kernel.shareCreatedObjects = own.partitions > 1;
    // Without memory reuse retired memory is reclaimed at reclaim boundaries (reclaim.ts).
    // Nothing reads it again, so the results are those of a run that kept it.
    this.reclaimPeriodPs = this.kernel.reuseMemory ? null : RECLAIM_PERIOD_PS;
    if (this.reclaimPeriodPs !== null) this.kernel.reclaimer = this;
    const window = { warmupPs: config.warmupPs, durationPs: config.durationPs };
    const hooks: CpuHooks = options.trace === undefined ? this.kernel : Object.assign(Object.create(this.kernel) as Kernel, { trace: options.trace });
    this.cpus = [];
    for (let cpu = 0; cpu < n; cpu++) {
      this.cpus.push(own.cpuOwner[cpu] === index ? new Cpu(cpu, this.engine, this.machine, hooks, window) : undefined);
    }
    this.homes = [];
    for (let node = 0; node < this.machine.nodeCount; node++) {
      this.homes.push(own.nodeOwner[node] === index ? new HomeNode(node, n + node, this.engine, this.machine, window, config.seed) : undefined);
    }
    this.outbox = Array.from({ length: own.partitions }, () => []);
    this.outTasks = Array.from({ length: own.partitions }, () => []);
    this.pendingObjects = Array.from({ length: own.partitions }, () => []);
    this.sentTo = new Float64Array(own.partitions);
    this.receivedFrom = new Float64Array(own.partitions);
    setUpWorkload(this.kernel, config.workload);
    if (config.kernel === "linux-6") {
      this.kernel.path = setUpKernelPath(this.kernel, deepestLevel(this.kernel.kindNames, this.kernel.scheme.namespaced, config.workload));
    }
    this.kernel.setUpSlabs();
    this.kernel.initLockState();
    for (const [line, value] of this.kernel.finishSetup()) this.homes[this.kernel.lineHome(line)]?.presetValue(line, value);
    for (const [id, task] of this.kernel.tasks) if (own.cpuOwner[task.cpu] !== index) this.kernel.tasks.delete(id);
    this.isolatedAtStart = isolatedByDesign(this.kernel, own, index);
  }

  /** See isolation.ts: true while nothing has crossed this partition's boundary either way. */
  private readonly isolatedAtStart: boolean;

  /**
   * A lower bound on the time of this partition's next event for another partition, given that
   * nothing reaches it before then: Infinity while it is isolated (see isolation.ts), else its
   * next event's time (any event may lead to a message out at once).
   */
  earliestSendPs(): number {
    if (this.isolatedAtStart) {
      let crossed = 0;
      for (let p = 0; p < this.ownership.partitions; p++) crossed += this.sentTo[p] + this.receivedFrom[p];
      if (crossed === 0) return Infinity;
    }
    return this.engine.nextEventTime();
  }

  private ownerOf(entity: number): number {
    const n = this.cpus.length;
    return entity < n ? this.ownership.cpuOwner[entity] : this.ownership.nodeOwner[entity - n];
  }

  isLocal(entity: number): boolean {
    return this.ownerOf(entity) === this.index;
  }

  outbound(timePs: number, priority: number, origin: number, seq: number, target: number, type: number, a0: number, a1: number, a2: number, a3: number): void {
    const to = this.ownerOf(target);
    this.outbox[to].push(timePs, EventQueue.rank(priority, origin, seq), target, type, a0, a1, a2, a3);
    this.sentTo[to]++;
    if (type === EV_TASK_ARRIVE) {
      const task = this.kernel.tasks.get(a0);
      if (task === undefined) throw new SimulationError(`task ${a0} leaves for cpu ${target} but is not here`, this.engine.nowPs, `partition ${this.index}`);
      this.kernel.tasks.delete(a0);
      this.outTasks[to].push(task);
    }
  }

  /**
   * The reclaim period (reclaim.ts), or null under memory reuse, where nothing is reclaimed this
   * way: windows of a partitioned run end at its boundaries.
   */
  readonly reclaimPeriodPs: number | null;
  /** What waits for its reclaim boundary, flattened [duePs, id, ...] in due order. */
  private retiredQueue: number[] = [];
  /** What this partition retired since the last barrier, as retiredQueue (for the others). */
  private retiredOut: number[] = [];

  /** Memory nothing may touch again (Reclaimer): reclaimed here, and everywhere, when due. */
  retire(id: number): void {
    const due = reclaimDuePs(this.engine.nowPs, this.reclaimPeriodPs as number);
    this.retiredQueue.push(due, id);
    if (this.ownership.partitions > 1) this.retiredOut.push(due, id);
  }

  /**
   * What this partition retired since the last call, as flattened pairs [duePs, id, ...]: every
   * other partition must reclaim the same memory at the same boundary (a step message carries it).
   */
  takeRetired(): number[] {
    const out = this.retiredOut;
    this.retiredOut = [];
    return out;
  }

  /**
   * Takes in what partition `from` retired (takeRetired's pairs), to reclaim here when due. They
   * come at the barrier of the window that retired them, which ends at a boundary at least a
   * period before they fall due, and so after everything already waiting here.
   */
  learnRetired(from: number, pairs: readonly number[]): void {
    if (pairs.length === 0) return;
    const q = this.retiredQueue;
    const boundary = this.reclaimPeriodPs === null ? Infinity : nextBoundaryPs(this.engine.nowPs, this.reclaimPeriodPs);
    for (let i = 0; i < pairs.length; i += 2) {
      const due = pairs[i];
      const last = q.length > 0 ? q[q.length - 2] : 0;
      if (due < boundary || due < last) {
        throw new SimulationError(`partition ${from} retired object ${pairs[i + 1]} due at ${due} ps, out of order here (due at ${boundary} ps or later, not before ${last} ps)`, this.engine.nowPs, `partition ${this.index}`);
      }
      q.push(due, pairs[i + 1]);
    }
  }

  /** Reclaims what is due at or before `boundaryPs` (everything, for Infinity). */
  private reclaimDue(boundaryPs: number): void {
    const q = this.retiredQueue;
    if (q.length === 0 || q[0] > boundaryPs) return;
    const dead = new Set<number>();
    let i = 0;
    for (; i < q.length && q[i] <= boundaryPs; i += 2) dead.add(q[i + 1]);
    q.splice(0, i);
    this.reclaim(dead, boundaryPs);
  }

  /**
   * Reclaims the memory of `dead`: their lines leave the directories held here and the caches of
   * the CPUs held here, their records and kernel entries go, and records waiting to be sent on
   * are dropped. An invalidation already on its way to a copy finds nothing to drop (the kernel's
   * `reclaimed`), and a line still in use is an error naming it.
   */
  private reclaim(dead: ReadonlySet<number>, boundaryPs: number): void {
    const k = this.kernel;
    const isDead = (line: number) => dead.has(k.ownerOfLine(line));
    try {
      for (const home of this.homes) {
        if (home === undefined) continue;
        const copies = home.forgetWhere(isDead);
        for (let i = 0; i < copies.length; i += 2) this.cpus[copies[i + 1]]?.forget(copies[i]);
      }
      // The directory of a line homed in another partition is there: look through the caches.
      if (this.ownership.partitions > 1) for (const cpu of this.cpus) cpu?.forgetWhere(isDead);
    } catch (e) {
      if (!(e instanceof LineInUseError)) throw e;
      const obj = k.ownerOfLine(e.line);
      const retiredBefore = boundaryPs - (this.reclaimPeriodPs as number);
      throw new SimulationError(`use after free: ${e.message} of object ${obj}, whose memory is reclaimed at ${boundaryPs} ps (it was freed or exited before ${retiredBefore} ps)`, this.engine.nowPs, `partition ${this.index}`);
    }
    k.forgetObjects(dead);
    for (let p = 0; p < this.pendingObjects.length; p++) {
      if (this.pendingObjects[p].some((o) => dead.has(o.id))) this.pendingObjects[p] = this.pendingObjects[p].filter((o) => !dead.has(o.id));
    }
  }

  /** Starts the run: timers, and every CPU looks for work. */
  start(): void {
    this.kernel.startTimers();
    for (const cpu of this.cpus) cpu?.wake();
  }

  /** The end of the window being run (runUntil's endPs): no event may arrive due before it. */
  private windowEndPs = 0;

  /**
   * Runs the events due before `endPs` (at most maxEvents). Without memory reuse it stops at
   * each reclaim boundary on the way and reclaims what falls due there before going on.
   */
  runUntil(endPs: number, maxEvents = Infinity): number {
    this.windowEndPs = endPs;
    const period = this.reclaimPeriodPs;
    if (period === null) return this.engine.runUntil(endPs, maxEvents);
    let ran = 0;
    for (;;) {
      const t = this.engine.nextEventTime();
      if (t >= endPs || ran >= maxEvents) return ran;
      this.reclaimDue(Math.floor(t / period) * period);
      ran += this.engine.runUntil(Math.min(endPs, nextBoundaryPs(t, period)), maxEvents - ran);
    }
  }

  nextEventTime(): number {
    return this.engine.nextEventTime();
  }

  /** The batches for every other partition since the last call (empty ones included). */
  takeBatches(): EventBatch[] {
    const created = this.kernel.takeCreatedObjects();
    const out: EventBatch[] = [];
    for (let to = 0; to < this.ownership.partitions; to++) {
      if (to === this.index) continue;
      const pending = this.pendingObjects[to];
      for (const o of created) pending.push(o);
      const events = this.outbox[to];
      const objects = events.length > 0 ? pending : [];
      if (events.length > 0) this.pendingObjects[to] = [];
      out.push({ from: this.index, to, events, tasks: this.outTasks[to], objects });
      this.outbox[to] = [];
      this.outTasks[to] = [];
    }
    return out;
  }

  /** Object records not yet sent to each partition (they go with the next events sent there). */
  private readonly pendingObjects: KObject[][];

  /** Takes in a batch from another partition: objects first, then tasks, then the events. */
  deliver(batch: EventBatch): void {
    if (batch.to !== this.index) throw new SimulationError(`batch for partition ${batch.to} delivered to ${this.index}`, this.engine.nowPs, `partition ${this.index}`);
    for (const o of batch.objects) {
      // A record older than the one held (a stale copy of reused memory's earlier object) is dropped.
      if (!this.kernel.objects.learn(o)) continue;
      // Passed on with this partition's next events to the others (a task here may carry it there).
      for (let p = 0; p < this.ownership.partitions; p++) if (p !== this.index && p !== batch.from) this.pendingObjects[p].push(o);
    }
    for (const t of batch.tasks) this.kernel.tasks.set(t.id, t);
    const e = batch.events;
    if (e.length % EVENT_FIELDS !== 0) throw new SimulationError(`batch from ${batch.from} has ${e.length} numbers, not a multiple of ${EVENT_FIELDS}`, this.engine.nowPs, `partition ${this.index}`);
    for (let i = 0; i < e.length; i += EVENT_FIELDS) {
      if (!this.isLocal(e[i + 2])) throw new SimulationError(`event for entity ${e[i + 2]} delivered to partition ${this.index}`, this.engine.nowPs, `partition ${this.index}`);
      if (e[i] < this.windowEndPs) {
        throw new LateEventError(
          `event from partition ${batch.from} due at ${e[i]} ps arrived after the window that should have run it (to ${this.windowEndPs} ps)`,
          this.engine.nowPs,
          `entity ${e[i + 2]}`,
        );
      }
      this.engine.deliverRanked(e[i], e[i + 1], e[i + 2], e[i + 3], e[i + 4], e[i + 5], e[i + 6], e[i + 7]);
    }
    this.receivedFrom[batch.from] += e.length / EVENT_FIELDS;
  }

  handle(type: number, target: number, a0: number, a1: number, a2: number, a3: number): void {
    const n = this.cpus.length;
    switch (type) {
      case EV_CPU_STEP:
        (this.cpus[target] as Cpu).step(a0);
        return;
      case EV_LINE_REQUEST:
        (this.homes[target - n] as HomeNode).request(a0, a1, a2, a3);
        return;
      case EV_LINE_RECALL:
        (this.cpus[target] as Cpu).onRecall(a0, a1, a2, a3);
        return;
      case EV_LINE_INVALIDATE:
        (this.cpus[target] as Cpu).onInvalidate(a0, a1);
        return;
      case EV_LINE_DATA:
        (this.cpus[target] as Cpu).onData(a0, a1, a2, a3);
        return;
      case EV_LINE_FREE:
        (this.homes[target - n] as HomeNode).lineFree(a0);
        return;
      case EV_TASK_ARRIVE:
        this.kernel.taskArrived(target, a0);
        (this.cpus[target] as Cpu).wake();
        return;
      case EV_KWORK_QUEUED:
        this.kernel.kworkQueued(target, a0, a1);
        (this.cpus[target] as Cpu).wake();
        return;
      case EV_TASK_WAKE:
        this.kernel.taskWoken(target, a0);
        (this.cpus[target] as Cpu).wake();
        return;
      case EV_TIMER:
        this.kernel.timerFired(target, a0, a1);
        (this.cpus[target] as Cpu).interrupt();
        return;
      case EV_SLAB_PUT:
        this.kernel.slabPut(target - n, a0, a1, a2);
        return;
      case EV_SLAB_REFILL:
        this.kernel.slabRefill(target - n, a0, a1);
        return;
      case EV_SLAB_GRANT:
        this.kernel.slabGrant(target, a0, a1, a2, a3 === 1);
        return;
      default:
        throw new SimulationError(`unknown event type ${type}`, this.engine.nowPs, `entity ${target}`);
    }
  }

  /** This partition's share of the run's outcome, once every partition has drained. */
  report(): PartitionReport {
    // The run is over and every notice in: what still waits for its boundary goes now, so no
    // report holds retired memory (the end-of-run check takes a reference to it as a free).
    this.reclaimDue(Infinity);
    const k = this.kernel;
    const cpus = [];
    for (const cpu of this.cpus) {
      if (cpu === undefined) continue;
      const st = k.perCpu[cpu.id];
      const s = cpu.stats;
      cpus.push({
        id: cpu.id,
        opsByKind: Array.from(s.opsByKind),
        latencyPsByKind: s.latencyPsByKind.map((h) => h.report()),
        accessesBySource: Array.from(s.accessesBySource),
        varAccessesBySource: Array.from(s.varAccessesBySource),
        varLinesTouched: s.varLinesTouched,
        atomicsBySource: Array.from(s.atomicsBySource),
        sharedAtomics: s.sharedAtomics,
        stallPs: s.stallPs,
        busyPs: s.busyPs,
        heldLines: cpu.heldEntries(),
        ...awaitingReport(st.awaiting),
        freed: st.freed.slice(),
        switched: st.switched.slice(),
        switchedGen: st.switchedGen.slice(),
        freeMemory: st.slab.lists.flat(),
        refcacheDirty: [...st.refcacheDirty],
        violations: st.violations.slice(),
        lockStats: Array.from(st.locks.stats),
        spinningOn: cpu.spinningOn,
        drainedOps: s.drainedOps,
        timeByOp: Array.from(st.timeByOp),
        asleep: [...st.sleeping.keys(), ...st.ready.map((r) => r.program.taskId)],
      });
    }
    const homes = [];
    for (const home of this.homes) {
      if (home === undefined) continue;
      const lines: number[] = [];
      for (const [line, e] of home.entries()) lines.push(line, e.holder, e.value);
      const st = home.stats;
      homes.push({
        node: home.node,
        transfersByClass: Array.from(st.transfersByClass),
        dramLocal: st.dramLocal,
        dramRemote: st.dramRemote,
        invalidations: st.invalidations,
        upgrades: st.upgrades,
        queueWaitPs: st.queueWaitPs,
        lines,
        freeMemory: k.slabNodes[home.node].partial.flat(),
      });
    }
    if (cpus.some((c) => c.opsByKind.length !== OP_KIND_COUNT)) throw new Error("inconsistent operation kinds");
    return {
      partition: this.index,
      cpus,
      homes,
      tasks: [...k.tasks.values()],
      // Each object once: set-up objects from partition 0, later ones from their creator's partition.
      // With memory reuse, every record held (the merge keeps each memory's newest generation).
      // Tasks are left out (the end-of-run check does not look at their records).
      objects: [...k.objects.all()].filter((o) => {
        if (o.type === OBJ_TASK) return false;
        if (k.reuseMemory) return true;
        const creator = k.creatorCpu(o.id);
        return creator < 0 ? this.index === 0 : this.ownership.cpuOwner[creator] === this.index;
      }),
      containerHolds: this.index === 0 ? k.containers.flatMap((c) => c.chain.flatMap((level) => level.creatorHolds)) : [],
      firstContainerRoots: this.index === 0 && k.containers.length > 0 ? k.containers[0].chain[0].creatorHolds.slice() : [],
      lockClasses: k.locks.classes.map((c) => (c.head === undefined ? { name: c.name, kind: c.kind, word: c.word, waitLock: c.waitLock } : { name: c.name, kind: c.kind, word: c.word, waitLock: c.waitLock, head: c.head })),
      engineEvents: this.engine.eventsProcessed,
      endPs: this.engine.nowPs,
    };
  }
}
