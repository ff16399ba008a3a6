import { describe, expect, it } from "vitest";
import type { Kernel, Task, TaskProgrammer } from "../../shared/kernel/kernel.ts";
import { OP_HOT_INC, OP_WORK, StepWriter, type Program } from "../../shared/kernel/program.ts";
import type { KernelPathState } from "../../shared/kernel-path/setup.ts";
import { mutexLock, mutexOwnerRuns, mutexOwnerSleeps, mutexUnlock } from "../../shared/locks/mutex.ts";
import { downRead, downWrite, upRead, upWrite } from "../../shared/locks/rwsem.ts";
import { sleepFor } from "../../shared/locks/sleep-queue.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { Simulation } from "../../shared/simulation.ts";
import { runOf } from "./support/spec.ts";

// Sleeping locks (shared/locks/mutex.ts, rwsem.ts, sleep-queue.ts) on small-4, driven by a
// programmer that runs one body per CPU a number of times. rtnl_mutex, pernet_ops_rwsem and
// net_rwsem are the linux-6 profile's sleeping locks.

type Body = (k: Kernel, p: KernelPathState, w: StepWriter, cpu: number) => void;

class LockLoop implements TaskProgrammer {
  private readonly done = new Map<number, number>();
  constructor(
    private readonly bodies: ReadonlyMap<number, Body>,
    private readonly times: number,
  ) {}
  nextProgram(k: Kernel, cpu: number, task: Task): Program {
    const w = new StepWriter([]);
    const body = this.bodies.get(cpu);
    const n = this.done.get(cpu) ?? 0;
    if (body === undefined || n >= this.times) {
      w.compute(1_000_000_000);
      return { op: OP_WORK, taskId: task.id, startPs: 0, steps: w.steps, pc: 0, scratch: 0 };
    }
    this.done.set(cpu, n + 1);
    body(k, k.path as KernelPathState, w, cpu);
    return { op: OP_HOT_INC, taskId: task.id, startPs: 0, steps: w.steps, pc: 0, scratch: 0 };
  }
}

function wordOf(sim: Simulation, name: string): number {
  const c = sim.kernel.locks.classes.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no lock ${name}`);
  return c.word;
}

function run(bodies: Map<number, Body>, times: number, duration: string, workload = "fork-storm"): { result: RunResult; log: number[]; sim: Simulation } {
  const sim = new Simulation(runOf({ machine: "small-4", cpus: [4], schemes: ["none"], workload, duration, warmup: "0ns" }));
  sim.kernel.programmer = new LockLoop(bodies, times);
  sim.kernel.lockLog = [];
  const result = sim.run();
  return { result, log: sim.kernel.lockLog, sim };
}

function lock(result: RunResult, name: string) {
  const l = result.kernelPath?.locks.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no lock ${name}`);
  return l;
}

/** Never two exclusive holders, nor an exclusive and a shared one, on a word; every hold ends. */
function checkHolders(log: number[], only: number): { maxReaders: number; holds: number } {
  const events: Array<[number, number, number, number]> = [];
  for (let i = 0; i < log.length; i += 4) if (log[i] === only) events.push([log[i], log[i + 1], log[i + 2], log[i + 3]]);
  events.sort((a, b) => a[2] - b[2] || a[3] - b[3]);
  const writers = new Map<number, number>();
  const readers = new Map<number, number>();
  let maxReaders = 0;
  let holds = 0;
  for (const [word, cpu, t, change] of events) {
    const wr = writers.get(word) ?? 0;
    const rd = readers.get(word) ?? 0;
    if (change === 1) {
      if (wr > 0 || rd > 0) throw new Error(`cpu ${cpu} took word ${word} exclusively at ${t} ps while held (${wr} writers, ${rd} readers)`);
      writers.set(word, 1);
      holds++;
    } else if (change === 2) {
      if (wr > 0) throw new Error(`cpu ${cpu} took word ${word} shared at ${t} ps while write-held`);
      readers.set(word, rd + 1);
      maxReaders = Math.max(maxReaders, rd + 1);
      holds++;
    } else if (change === -1) writers.set(word, wr - 1);
    else readers.set(word, rd - 1);
  }
  for (const [word, n] of [...writers, ...readers]) if (n !== 0) throw new Error(`word ${word} left with ${n} holders`);
  return { maxReaders, holds };
}

const SECTION_PS = 2_000_000;
const mutexSection: Body = (k, p, w) => {
  mutexLock(k, w, p.rtnl);
  w.compute(SECTION_PS);
  mutexUnlock(k, w, p.rtnl);
};
/** The owner sleeps 5 us inside its section (as cleanup_net's synchronize_net under RTNL). */
const sleepingOwner: Body = (k, p, w) => {
  mutexLock(k, w, p.rtnl);
  w.compute(SECTION_PS);
  mutexOwnerSleeps(k, w, p.rtnl);
  sleepFor(k, w, 5_000_000);
  mutexOwnerRuns(k, w, p.rtnl);
  mutexUnlock(k, w, p.rtnl);
};

describe("sleeping mutex", () => {
  it("one CPU: the fast path, no wait beyond fetching the word, no contention", () => {
    const { result, log, sim } = run(new Map([[0, mutexSection]]), 3, "100us");
    const W = wordOf(sim, "rtnl_mutex");
    expect(result.invariants.ok).toBe(true);
    const m = lock(result, "rtnl_mutex");
    expect(m.acquisitions).toBe(3);
    expect(m.contended).toBe(0);
    expect(checkHolders(log, W).holds).toBe(3);
  });

  it("four CPUs with a running owner: waiters spin (optimistic spinning, one at a time through the osq) and nobody sleeps", () => {
    const bodies = new Map<number, Body>([0, 1, 2, 3].map((c) => [c, mutexSection]));
    const { result, log, sim } = run(bodies, 10, "400us");
    const W = wordOf(sim, "rtnl_mutex");
    expect(result.invariants.ok).toBe(true);
    const m = lock(result, "rtnl_mutex");
    expect(m.acquisitions).toBe(40);
    // The releasing CPU takes the mutex straight back through the fast path (a mutex is not
    // fair): each other CPU's spinner is contended once, then runs its ten sections.
    expect(m.contended).toBe(3);
    expect(checkHolders(log, W).holds).toBe(40);
    // Spinners queue on the osq; nobody joined the wait list.
    expect(lock(result, "rtnl_mutex.osq").acquisitions).toBeGreaterThan(0);
    expect(lock(result, "rtnl_mutex.wait_lock").acquisitions).toBe(0);
    // The section is 40 x 2 us = 80 us of a single holder: the last acquisition waits most of it.
    expect(m.waitNsPerAcquisition).toBeGreaterThan(2000);
    expect(sim.kernel.perCpu.every((st) => st.sleeping.size === 0)).toBe(true);
  });

  it("an owner that sleeps in its section sends the waiters to sleep: the hand-over goes down the wait list, never two holders, no waiter left", () => {
    const bodies = new Map<number, Body>([0, 1, 2, 3].map((c) => [c, sleepingOwner]));
    const { result, log, sim } = run(bodies, 5, "1ms");
    const W = wordOf(sim, "rtnl_mutex");
    expect(result.invariants.ok).toBe(true);
    const m = lock(result, "rtnl_mutex");
    expect(m.acquisitions).toBe(20);
    expect(checkHolders(log, W).holds).toBe(20);
    // Sleepers joined the wait list under wait_lock, and were handed the mutex.
    expect(lock(result, "rtnl_mutex.wait_lock").acquisitions).toBeGreaterThan(10);
    // 20 sections of 2 us + 5 us sleep + switches, one after another: the run's operations are
    // serialised, so the mean wait is several sections long.
    expect(m.waitNsPerAcquisition).toBeGreaterThan(7000 * 3);
  });

  it("a waiter with other work ready on its CPU (need_resched) sleeps at once instead of spinning", () => {
    // migration's preset runs two tasks per CPU: the second is ready while the first waits.
    const bodies = new Map<number, Body>([0, 1].map((c) => [c, mutexSection]));
    const { result, log, sim } = run(bodies, 6, "400us", "migration");
    const W = wordOf(sim, "rtnl_mutex");
    expect(result.invariants.ok).toBe(true);
    // A woken waiter whose CPU went on to its other task's long work runs again only after it
    // (no preemption), past the window: the log counts every hold, the statistics those inside.
    expect(checkHolders(log, W).holds).toBe(12);
    expect(lock(result, "rtnl_mutex.wait_lock").acquisitions).toBeGreaterThan(0);
  });

  it("a mutex never unlocked, and a task put to sleep with nobody to wake it, are reported at the end", () => {
    const leak: Body = (k, p, w) => mutexLock(k, w, p.rtnl);
    const { result } = run(new Map([[0, leak]]), 1, "50us");
    expect(result.invariants.ok).toBe(false);
    expect(result.invariants.violations.some((v) => v.kind === "lock-held-at-end" && v.detail.includes("rtnl_mutex"))).toBe(true);
    const forever: Body = (_k, _p, w) => w.sleep();
    const r2 = run(new Map([[1, forever]]), 1, "50us").result;
    expect(r2.invariants.violations.some((v) => v.detail.includes("still sleeps at the end"))).toBe(true);
  });
});

describe("sleeping rwsem", () => {
  it("readers share it, a writer excludes everyone; waiting writers sleep and are handed the rwsem, readers behind them wait (no overtaking)", () => {
    const reader: Body = (k, p, w) => {
      downRead(k, w, p.pernetOps);
      w.compute(SECTION_PS);
      upRead(k, w, p.pernetOps);
    };
    const writer: Body = (k, p, w) => {
      downWrite(k, w, p.pernetOps);
      w.compute(SECTION_PS);
      upWrite(k, w, p.pernetOps);
    };
    const bodies = new Map<number, Body>([
      [0, reader],
      [1, reader],
      [2, writer],
      [3, reader],
    ]);
    const { result, log, sim } = run(bodies, 8, "1ms");
    const W = wordOf(sim, "pernet_ops_rwsem");
    expect(result.invariants.ok).toBe(true);
    const s = lock(result, "pernet_ops_rwsem");
    expect(s.acquisitions).toBe(32);
    const { maxReaders, holds } = checkHolders(log, W);
    expect(holds).toBe(32);
    expect(maxReaders).toBeGreaterThan(1);
    expect(s.contended).toBeGreaterThan(0);
    expect(lock(result, "pernet_ops_rwsem.wait_lock").acquisitions).toBeGreaterThan(0);
  });

  it("writers only (net_rwsem in setup_net and cleanup_net): one at a time", () => {
    const writer: Body = (k, p, w) => {
      downWrite(k, w, p.netRwsem);
      w.compute(SECTION_PS);
      upWrite(k, w, p.netRwsem);
    };
    const bodies = new Map<number, Body>([0, 1, 2, 3].map((c) => [c, writer]));
    const { result, log, sim } = run(bodies, 5, "1ms");
    const W = wordOf(sim, "net_rwsem");
    expect(result.invariants.ok).toBe(true);
    expect(lock(result, "net_rwsem").acquisitions).toBe(20);
    expect(checkHolders(log, W)).toEqual({ maxReaders: 0, holds: 20 });
  });
});
