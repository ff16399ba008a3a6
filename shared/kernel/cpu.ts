import type { Engine } from "../engine/engine.ts";
import { LineInUseError, SimulationError } from "../engine/errors.ts";
import type { Machine } from "../machine/machine.ts";
import { SELF } from "../machine/distance.ts";
import {
  EV_CPU_STEP,
  EV_LINE_DATA,
  EV_LINE_REQUEST,
  isAtomic,
  needsOwnership,
  PRIO_COHERENCE,
  PRIO_STEP,
  READ,
  recallContended,
  recallHolderRequest,
  recallKind,
  RMW_NONE,
  WRITE,
} from "../coherence/protocol.ts";
import { spinSatisfied } from "../locks/lock-word.ts";
import { applyRmw } from "../coherence/rmw.ts";
import { isContended, isUpgrade, SOURCE_COUNT, sourceCode, sourceOf } from "../coherence/source.ts";
import { LatencyHistogram } from "../metrics/latency-histogram.ts";
import { ATTR_CAPACITY, ATTR_INTERRUPTED } from "../metrics/attribution.ts";
import { insertSteps, isCountedOp, OP_ACCESS, OP_KIND_COUNT, OP_KWORK, STEP_ACCESS, STEP_ACTION, STEP_COMPUTE, STEP_SLEEP, STEP_SPIN, StepWriter, type Program, type Step } from "./program.ts";

/** What a CPU asks of the kernel model around it. */
export interface CpuHooks {
  /** The home memory node of a line. */
  lineHome(line: number): number;
  /** The next program to run on this CPU (only kernel work if `kernelWorkOnly`), or null. */
  nextProgram(cpu: Cpu, kernelWorkOnly: boolean): Program | null;
  /** An access tagged by the kernel completed with `result`; may write more steps. */
  onResult(cpu: Cpu, program: Program, step: Step, result: number, out: StepWriter): void;
  /** An action step; may write more steps. */
  onAction(cpu: Cpu, program: Program, step: Step, out: StepWriter): void;
  onProgramDone(cpu: Cpu, program: Program): void;
  /**
   * A sleep step: true if the kernel took the program away (it comes back through nextProgram
   * once woken, with what programTimePs held), false if a wake-up already came and it goes on.
   */
  onSleep?(cpu: Cpu, program: Program): boolean;
  /**
   * Optional: the class (metrics/attribution.ts) of the time a task's step that begins now
   * takes, `compute` for a compute step, else a memory access or a spin. Without it the CPU
   * attributes nothing.
   */
  timeClass?(cpu: number, compute: boolean): number;
  /**
   * Optional: whether a line's memory was reclaimed (an exited task's or a freed object's, see
   * Partition.reclaim). An invalidation already on its way to a copy that the reclaim took
   * away finds nothing to drop, and is then no protocol error.
   */
  reclaimed?(line: number): boolean;
  /** Optional: sees every access (tests use it to count accesses per operation). */
  trace?(cpu: number, line: number, rmw: number, arg: number, source: number, timePs: number): void;
}

/** Metrics count what happens at or after the warm-up and before the duration ends. */
export interface MeasuredWindow {
  warmupPs: number;
  durationPs: number;
}

export interface CpuStats {
  /** Operations completed in the measured window, by kind. */
  opsByKind: Float64Array;
  /** Operations completed at any time (warm-up and drain included), by kind. */
  completedByKind: Float64Array;
  /** Operations (of the kinds counted) that were in flight at the end of the window and completed in the drain. */
  drainedOps: number;
  /** Latencies of the operations completed in the measured window, by kind (picoseconds). */
  latencyPsByKind: LatencyHistogram[];
  /** Accesses by where their data came from (SOURCE_* codes; 0 = local hit). */
  accessesBySource: Float64Array;
  /** Atomic RMWs by where their line came from. */
  atomicsBySource: Float64Array;
  /** The accesses of `access` operations (per-container variables) by where their line came from. */
  varAccessesBySource: Float64Array;
  /** Distinct lines the `access` operations completed in the measured window touched, summed. */
  varLinesTouched: number;
  /** Atomic RMWs on shared lines (not per-CPU data). */
  sharedAtomics: number;
  /** Time spent waiting for lines, in picoseconds. */
  stallPs: number;
  busyPs: number;
}

/** The distinct lines a program's access steps touch. */
function distinctLines(steps: readonly Step[]): number {
  const seen: number[] = [];
  for (const s of steps) if (s.kind === STEP_ACCESS && !seen.includes(s.line)) seen.push(s.line);
  return seen.length;
}

interface PendingForward {
  to: number;
  kind: number;
  contended: boolean;
  grantAtPs: number;
}

/**
 * One hardware thread: its private cache (the lines it holds and their values), and the
 * program it runs, one step at a time. A step's effect happens when it starts; a hit keeps
 * the CPU busy for the hit cost, a miss sends a request to the line's home and waits.
 */
export class Cpu {
  readonly id: number;
  readonly stats: CpuStats;
  /** Lines held, with their values. */
  private readonly held = new Map<number, number>();
  /** The subset of `held` owned exclusively (Modified). */
  private readonly exclusive = new Set<number>();
  /**
   * Owned lines granted while other requests waited: the CPU made its one access and the line is
   * promised to the next requester, so its next write asks the home again instead of hitting.
   */
  private readonly yielding = new Set<number>();
  program: Program | null = null;
  private waitingLine = -1;
  /**
   * The line a spin step waits on while its condition does not hold (-1: none). The CPU keeps
   * its copy and loads the line again only when the copy is invalidated or taken away.
   */
  private spinningLine = -1;
  private waitingSincePs = 0;
  private pendingForward: PendingForward | null = null;
  private pendingInvalidate = false;
  /** Line requests sent so far; the last one is the pending one while waitingLine is set. */
  private requestsSent = 0;
  private scheduled = false;
  /** Numbers EV_CPU_STEP events; a step event whose number is not the latest is stale (preempted). */
  private stepToken = 0;
  /** When the step the CPU is busy with ends (-1 when it is not in a timed step). */
  private busyUntilPs = -1;
  /** Whether that step's time went into busyPs (it started inside the measured window). */
  private busyCounted = false;
  /** A program set aside by kernel work (an interrupt), with the time its step still needs. */
  private preempted: { program: Program; remainingPs: number; sincePs: number; timeClass: number } | null = null;
  /**
   * Where the running task program's time went so far, by class (metrics/attribution.ts): the
   * kernel reads it when the program is done (CpuHooks.onProgramDone) and it is cleared then.
   * The classes sum to the program's latency.
   */
  readonly programTimePs = new Float64Array(ATTR_CAPACITY);
  /** The class of the timed segment in progress (-1: none, or kernel work) and when it began. */
  private segmentClass = -1;
  private segmentSincePs = 0;
  private readonly rmwOut = new Float64Array(2);
  private readonly engine: Engine;
  private readonly machine: Machine;
  private readonly hooks: CpuHooks;
  private readonly window: MeasuredWindow;

  constructor(id: number, engine: Engine, machine: Machine, hooks: CpuHooks, window: MeasuredWindow) {
    this.id = id;
    this.engine = engine;
    this.machine = machine;
    this.hooks = hooks;
    this.window = window;
    this.stats = {
      opsByKind: new Float64Array(OP_KIND_COUNT),
      completedByKind: new Float64Array(OP_KIND_COUNT),
      drainedOps: 0,
      latencyPsByKind: Array.from({ length: OP_KIND_COUNT }, () => new LatencyHistogram()),
      accessesBySource: new Float64Array(SOURCE_COUNT),
      atomicsBySource: new Float64Array(SOURCE_COUNT),
      varAccessesBySource: new Float64Array(SOURCE_COUNT),
      varLinesTouched: 0,
      sharedAtomics: 0,
      stallPs: 0,
      busyPs: 0,
    };
  }

  get idle(): boolean {
    return this.program === null && !this.scheduled && this.waitingLine === -1;
  }

  /** Makes an idle CPU look for work now. */
  wake(): void {
    if (this.program !== null || this.scheduled || this.waitingLine !== -1) return;
    this.scheduled = true;
    this.engine.send(0, PRIO_STEP, this.id, this.id, EV_CPU_STEP, ++this.stepToken);
  }

  /**
   * Kernel work is waiting (a timer fired): like an interrupt, it runs now if the CPU is in a
   * timed step of a task's program; that program resumes afterwards with the time it still
   * needs. A CPU waiting for a line, or already running kernel work, takes it afterwards.
   */
  interrupt(): void {
    const p = this.program;
    const now = this.engine.nowPs;
    if (p === null || this.waitingLine !== -1) {
      this.wake();
      return;
    }
    if (p.op === OP_KWORK || this.preempted !== null || this.busyUntilPs <= now) return;
    const remainingPs = this.busyUntilPs - now;
    // The resumed step counts its remaining time again (after() below), so take it back, if it
    // was counted at all: a step begun before the warm-up was not.
    if (this.busyCounted) this.stats.busyPs -= remainingPs;
    const timeClass = this.segmentClass;
    this.endSegment();
    this.preempted = { program: p, remainingPs, sincePs: now, timeClass };
    this.program = null;
    this.busyUntilPs = -1;
    this.scheduled = true;
    this.engine.send(0, PRIO_STEP, this.id, this.id, EV_CPU_STEP, ++this.stepToken);
  }

  /** Handles EV_CPU_STEP: runs steps until one takes time. A stale (preempted) step is ignored. */
  step(token: number): void {
    if (token !== this.stepToken) return;
    this.endSegment();
    this.scheduled = false;
    this.busyUntilPs = -1;
    this.run();
  }

  /** Whether something happening now falls in the measured window [warm-up, duration). */
  private counted(t: number): boolean {
    return t >= this.window.warmupPs && t < this.window.durationPs;
  }

  /** Every line held, flattened as line, value, line, value... (for the end-of-run report). */
  heldEntries(): number[] {
    const out: number[] = [];
    for (const [line, value] of this.held) out.push(line, value);
    return out;
  }

  /** The line a spin step still waits on, or -1 (at the end of a run: a waiter left behind). */
  get spinningOn(): number {
    return this.spinningLine;
  }

  /** The value of a line this CPU holds, or undefined (for invariant checks at the end of a run). */
  heldValue(line: number): number | undefined {
    return this.held.get(line);
  }

  private run(): void {
    const now = this.engine.nowPs;
    for (;;) {
      let p = this.program;
      if (p === null) {
        p = this.hooks.nextProgram(this, this.preempted !== null);
        if (p === null) {
          const set = this.preempted;
          if (set === null) return;
          this.preempted = null;
          this.program = set.program;
          if (set.timeClass >= 0) {
            this.programTimePs[ATTR_INTERRUPTED] += now - set.sincePs;
            this.segmentClass = set.timeClass;
            this.segmentSincePs = now;
          }
          this.after(set.remainingPs);
          return;
        }
        // A program coming back from a sleep keeps its start.
        if (p.pc === 0) p.startPs = now;
        this.program = p;
      }
      if (p.pc >= p.steps.length) {
        this.program = null;
        this.finish(p);
        continue;
      }
      const s = p.steps[p.pc++];
      if (s.kind === STEP_COMPUTE) {
        this.beginSegment(p, true);
        this.after(s.ps);
        return;
      }
      if (s.kind === STEP_SLEEP) {
        if (this.hooks.onSleep === undefined) throw new SimulationError("a sleep step, but the kernel cannot sleep", now, `cpu ${this.id}`);
        if (this.hooks.onSleep(this, p)) this.program = null;
        continue;
      }
      if (s.kind === STEP_ACTION) {
        const out = new StepWriter([]);
        this.hooks.onAction(this, p, s, out);
        this.insert(p, out);
        continue;
      }
      if (s.kind !== STEP_ACCESS && s.kind !== STEP_SPIN) throw new SimulationError(`unknown step kind ${s.kind}`, now, `cpu ${this.id}`);
      const spin = s.kind === STEP_SPIN;
      const kind = !spin && needsOwnership(s.rmw) ? WRITE : READ;
      this.beginSegment(p, false);
      if (this.held.has(s.line) && (kind === READ || (this.exclusive.has(s.line) && !this.yielding.has(s.line)))) {
        if (spin && !spinSatisfied(s.rmw, this.held.get(s.line) as number, s.arg)) {
          this.spinningLine = s.line;
          return;
        }
        const cost = !spin && isAtomic(s.rmw) ? this.machine.costs.localAtomicPs : this.machine.costs.hitPs;
        this.complete(p, s, SELF);
        this.after(cost);
        return;
      }
      this.request(s.line, kind);
      return;
    }
  }

  /** A task program's step that takes time begins now: its time goes to the class the kernel gives. */
  private beginSegment(p: Program, compute: boolean): void {
    if (p.taskId < 0 || this.hooks.timeClass === undefined) return;
    this.segmentClass = this.hooks.timeClass(this.id, compute);
    this.segmentSincePs = this.engine.nowPs;
  }

  /** The timed segment in progress (if any) ends now. */
  private endSegment(): void {
    if (this.segmentClass < 0) return;
    this.programTimePs[this.segmentClass] += this.engine.nowPs - this.segmentSincePs;
    this.segmentClass = -1;
  }

  private request(line: number, kind: number): void {
    this.waitingLine = line;
    this.waitingSincePs = this.engine.nowPs;
    const home = this.hooks.lineHome(line);
    const leg = this.machine.costs.legPs[this.machine.topology.nodeDistance(this.id, home)];
    this.requestsSent++;
    this.engine.send(leg, PRIO_COHERENCE, this.id, this.machine.cpuCount + home, EV_LINE_REQUEST, line, this.id, kind, this.requestsSent);
  }

  /** The copy a spin waits on is gone (someone wrote the line): load it again. */
  private lostSpinCopy(line: number): void {
    if (this.spinningLine !== line) return;
    this.spinningLine = -1;
    this.request(line, READ);
  }

  private after(ps: number): void {
    const now = this.engine.nowPs;
    this.busyCounted = this.counted(now);
    if (this.busyCounted) this.stats.busyPs += ps;
    this.scheduled = true;
    this.busyUntilPs = now + ps;
    this.engine.send(ps, PRIO_STEP, this.id, this.id, EV_CPU_STEP, ++this.stepToken);
  }

  /** Applies the current access step's RMW to the held value and hands the result on. */
  private complete(p: Program, s: Step, source: number): void {
    const out = this.rmwOut;
    const rmw = s.kind === STEP_SPIN ? RMW_NONE : s.rmw;
    applyRmw(rmw, this.held.get(s.line) as number, s.arg, out);
    this.held.set(s.line, out[0]);
    if (this.counted(this.engine.nowPs)) {
      this.stats.accessesBySource[source]++;
      if (p.op === OP_ACCESS) this.stats.varAccessesBySource[source]++;
      if (isAtomic(rmw)) {
        this.stats.atomicsBySource[source]++;
        if (s.line >= 0) this.stats.sharedAtomics++;
      }
    }
    this.hooks.trace?.(this.id, s.line, rmw, s.arg, source, this.engine.nowPs);
    if (s.tag !== 0) {
      const writer = new StepWriter([]);
      this.hooks.onResult(this, p, s, out[1], writer);
      this.insert(p, writer);
    }
  }

  private insert(p: Program, out: StepWriter): void {
    if (out.steps.length > 0) p.steps = insertSteps(p.steps, p.pc, out.steps);
  }

  private finish(p: Program): void {
    const now = this.engine.nowPs;
    this.stats.completedByKind[p.op]++;
    if (this.counted(now)) {
      this.stats.opsByKind[p.op]++;
      this.stats.latencyPsByKind[p.op].record(now - p.startPs);
      if (p.op === OP_ACCESS) this.stats.varLinesTouched += distinctLines(p.steps);
    } else if (now >= this.window.durationPs && isCountedOp(p.op)) {
      this.stats.drainedOps++;
    }
    this.hooks.onProgramDone(this, p);
    if (p.taskId >= 0) this.programTimePs.fill(0);
  }

  /**
   * EV_LINE_DATA: the line this CPU waits for has arrived (or its upgrade was granted);
   * `kind` WRITE means the copy is exclusive.
   */
  onData(line: number, value: number, kind: number, code: number): void {
    const now = this.engine.nowPs;
    if (line !== this.waitingLine || this.program === null) {
      throw new SimulationError(`line ${line} arrived but the CPU waits for ${this.waitingLine}`, now, `cpu ${this.id}`);
    }
    // The wait ends here, before the access's result can change what the kernel is doing.
    const timeClass = this.segmentClass;
    this.endSegment();
    if (isUpgrade(code)) {
      if (!this.held.has(line)) throw new SimulationError(`upgrade granted for line ${line} not held`, now, `cpu ${this.id}`);
    } else {
      this.held.set(line, value);
    }
    if (kind === WRITE) this.exclusive.add(line);
    else this.exclusive.delete(line);
    this.yielding.delete(line);
    this.waitingLine = -1;
    if (this.counted(now)) this.stats.stallPs += now - this.waitingSincePs;
    const p = this.program;
    const s = p.steps[p.pc - 1];
    if (s.kind === STEP_SPIN && !spinSatisfied(s.rmw, this.held.get(line) as number, s.arg)) this.spinningLine = line;
    else this.complete(p, s, sourceOf(code));
    const fwd = this.pendingForward;
    if (fwd !== null) {
      this.pendingForward = null;
      this.forward(line, fwd.to, fwd.kind, fwd.contended, fwd.grantAtPs);
    }
    if (this.pendingInvalidate) {
      this.pendingInvalidate = false;
      this.drop(line);
    }
    if (kind === WRITE && isContended(code) && this.exclusive.has(line)) this.yielding.add(line);
    if (this.spinningLine !== -1 || this.waitingLine !== -1) {
      // Still spinning (the condition does not hold yet, so no result was handed on): the same wait goes on.
      if (timeClass >= 0) {
        this.segmentClass = timeClass;
        this.segmentSincePs = now;
      }
      return;
    }
    this.run();
  }

  /** EV_LINE_RECALL: the home gave this CPU's line to `to`; send it the data. */
  onRecall(line: number, to: number, code: number, grantAtPs: number): void {
    const kind = recallKind(code);
    if (this.waitingLine === line && recallHolderRequest(code) === this.requestsSent) {
      // The home made this CPU the holder by the request it still waits for: that access comes
      // first. A Shared copy held meanwhile is stale and must not be passed on.
      this.pendingForward = { to, kind, contended: recallContended(code), grantAtPs };
    } else if (this.held.has(line)) {
      // Ordered before any pending request of this CPU: the copy held is the current one.
      this.forward(line, to, kind, recallContended(code), grantAtPs);
    } else {
      throw new SimulationError(`recall of line ${line} that the CPU neither holds nor awaits`, this.engine.nowPs, `cpu ${this.id}`);
    }
  }

  /**
   * EV_LINE_INVALIDATE: drop a Shared copy. `sharerRequest` is the number of this CPU's request
   * that gave it the copy: if the CPU still waits for that very request (its data, or its
   * upgrade, is on its way), the invalidation is ordered after it, so the access uses the line
   * first; otherwise the copy held is stale now, and a pending upgrade will fetch the data.
   */
  onInvalidate(line: number, sharerRequest: number): void {
    if (this.waitingLine === line && sharerRequest === this.requestsSent) {
      this.pendingInvalidate = true;
    } else if (this.held.has(line)) {
      this.drop(line);
    } else if (this.hooks.reclaimed?.(line) !== true) {
      throw new SimulationError(`invalidation of line ${line} that the CPU neither holds nor awaits`, this.engine.nowPs, `cpu ${this.id}`);
    }
  }

  /** Forgets the copy of a line whose memory was reclaimed; the CPU must not be using it. */
  forget(line: number): void {
    if (this.waitingLine === line || this.spinningLine === line) throw new LineInUseError(line, `cpu ${this.id} ${this.waitingLine === line ? "waits for" : "spins on"}`);
    this.drop(line);
  }

  /** Forgets every copy of a line whose memory was reclaimed (`dead` says which): see forget. */
  forgetWhere(dead: (line: number) => boolean): void {
    for (const line of this.held.keys()) if (dead(line)) this.forget(line);
    if (this.waitingLine !== -1 && dead(this.waitingLine)) this.forget(this.waitingLine);
  }

  private forward(line: number, to: number, kind: number, contended: boolean, grantAtPs: number): void {
    const now = this.engine.nowPs;
    const c = this.machine.costs;
    const source = this.machine.topology.cpuDistance(this.id, to);
    const delay = Math.max(grantAtPs - now, c.legPs[source]);
    this.engine.send(delay, PRIO_COHERENCE, this.id, to, EV_LINE_DATA, line, this.held.get(line) as number, kind, sourceCode(source, false, contended));
    if (kind === WRITE) this.drop(line);
    else this.exclusive.delete(line);
  }

  private drop(line: number): void {
    this.held.delete(line);
    this.exclusive.delete(line);
    this.yielding.delete(line);
    this.lostSpinCopy(line);
  }
}
