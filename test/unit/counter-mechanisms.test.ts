import { describe, expect, it, vi } from "vitest";
import { awaitingReport } from "../../shared/metrics/awaiting-free.ts";
import { EV_TIMER, FREED, RMW_SET } from "../../shared/coherence/protocol.ts";
import { decodeRefcacheWord } from "../../shared/coherence/rmw.ts";
import { Engine } from "../../shared/engine/engine.ts";
import { Kernel } from "../../shared/kernel/kernel.ts";
import { COUNTER_ATOMIC, COUNTER_PERCPU, COUNTER_REFCACHE, COUNTER_SLOPPY, COUNTER_VE, OBJ_CONTAINER, objectLine, SLOT_MODE } from "../../shared/kernel/objects.ts";
import { StepWriter } from "../../shared/kernel/program.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { atomicCounter } from "../../shared/schemes/atomic-counter.ts";
import { COUNTERS } from "../../shared/schemes/index.ts";
import { PERCPU_BIAS, percpuCounter, TIMER_PERCPU_SWITCH } from "../../shared/schemes/percpu.ts";
import { refcacheCounter, TIMER_REFCACHE_EPOCH } from "../../shared/schemes/refcache.ts";
import { sloppyCounter, TIMER_SLOPPY_RECONCILE } from "../../shared/schemes/sloppy.ts";
import { PCOUNT_UNIT, pgetVe, pputVe, veCounter } from "../../shared/schemes/ve-counter.ts";
import { runOf } from "./support/spec.ts";

// Each counter's arithmetic, worked by hand. The kernel's set-up mode applies a counter's steps
// at once to an image of memory (no time, no coherence), so each figure below is exactly what the
// scheme's rules give; finishSetup() hands the image back to read.

function kernelFor(scheme: string, options: Record<string, unknown> = {}) {
  const config = runOf({ machine: "small-4", cpus: [4], schemes: [scheme], workload: "migration", duration: "1ms", warmup: "0ns", options });
  const machine = new Machine(config.machine, config.cpuCount);
  const engine = new Engine(machine.cpuCount + machine.nodeCount);
  const k = new Kernel(config, machine, engine);
  return { k, engine, config };
}

/** Creates one container object with `counter` on CPU 0 (count 1: its creator's reference). */
function container(k: Kernel, counter: number): number {
  return k.setup(0, (w) => k.create(w, OBJ_CONTAINER, -1, [], counter));
}

function times(n: number, f: () => void): void {
  for (let i = 0; i < n; i++) f();
}

describe("sloppy counter (batch 4, at most 6 spares)", () => {
  // Eight gets on CPU 1: the first finds no spare and takes a batch of 4 from the central count
  // (central 1 + 4 = 5, CPU 1 keeps 3 spares), the next three use the spares; the fifth takes
  // another batch (central 9, 3 spares), the last three use them. Central 9 = the creator's 1 +
  // 8 in use + 0 spares.
  // Seven puts on CPU 0 (the references moved there with their tasks): each adds a spare; the
  // seventh makes 7 > 6, so CPU 0 returns every spare above the batch, 7 - 4 = 3: CPU 0 keeps 4,
  // central 9 - 3 = 6 = the creator's 1 + 1 in use + 4 spares.
  it("takes a batch when spares run out and returns the spares above the batch once they pass the maximum", () => {
    const { k } = kernelFor("sloppy", { sloppyBatch: 4, sloppyMaxSpares: 6 });
    const obj = container(k, COUNTER_SLOPPY);
    times(8, () => k.setup(1, (w) => k.get(w, obj)));
    times(6, () => k.setup(0, (w) => k.put(w, obj)));
    times(1, () => k.setup(0, (w) => k.put(w, obj)));
    const mem = k.finishSetup();
    expect(mem.get(k.perCpuLine(obj, 1))).toBe(0);
    expect(mem.get(k.perCpuLine(obj, 0))).toBe(4);
    expect(mem.get(k.countLine(obj))).toBe(6);
    const value = (line: number) => mem.get(line) ?? 0;
    expect(sloppyCounter.trueCount(k.object(obj), value, k, { freed: false, switched: false })).toBe(2);
    expect(k.perCpu.flatMap((s) => s.violations)).toEqual([]);
  });

  it("keeps spares up to the maximum without touching the central count", () => {
    const { k } = kernelFor("sloppy", { sloppyBatch: 4, sloppyMaxSpares: 6 });
    const obj = container(k, COUNTER_SLOPPY);
    times(8, () => k.setup(1, (w) => k.get(w, obj)));
    times(6, () => k.setup(0, (w) => k.put(w, obj)));
    const mem = k.finishSetup();
    expect(mem.get(k.perCpuLine(obj, 0))).toBe(6);
    expect(mem.get(k.countLine(obj))).toBe(9);
  });

  // With a batch of 1 a get that finds no spare takes exactly one reference from the central
  // count and keeps no spare: the mode word read, the spare taken (0), the atomic +1, and no
  // write of the CPU's spare line (batch - 1 = 0 spares to keep).
  it("with a batch of 1 takes one reference from the central count and writes no spare", () => {
    const { k } = kernelFor("sloppy", { sloppyBatch: 1, sloppyMaxSpares: 6 });
    const obj = container(k, COUNTER_SLOPPY);
    const written = vi.spyOn(StepWriter.prototype, "access");
    k.setup(1, (w) => k.get(w, obj));
    const lines = written.mock.calls.map((c) => [c[0], c[2]]);
    written.mockRestore();
    expect(lines).toEqual([
      [objectLine(obj, SLOT_MODE), 0],
      [k.perCpuLine(obj, 1), 0],
      [k.countLine(obj), 1],
    ]);
    const mem = k.finishSetup();
    expect([mem.get(k.countLine(obj)), mem.get(k.perCpuLine(obj, 1))]).toEqual([2, 0]);
  });

  // Destroying it: the mode word turns dead, and the reconcile waits one RCU grace period. Then
  // every CPU's spares are taken (XCHG to 0) and the central count drops by all of them plus the
  // creator's reference: 6 - 4 - 1 = 1, the one reference still in use. Its put then frees it.
  it("reconciles one RCU grace period after the kill: central minus every spare minus the creator's reference", () => {
    const { k, engine, config } = kernelFor("sloppy", { sloppyBatch: 4, sloppyMaxSpares: 6, rcuGracePeriod: "250us" });
    const obj = container(k, COUNTER_SLOPPY);
    times(8, () => k.setup(1, (w) => k.get(w, obj)));
    times(7, () => k.setup(0, (w) => k.put(w, obj)));
    k.setup(2, (w) => k.release(w, obj));
    expect(config.options.rcuGracePeriodPs).toBe(250_000_000);
    expect(engine.nextEventTime()).toBe(250_000_000);
    expect(engine.queue.size).toBe(1);
    const slot = engine.queue.pop();
    expect([engine.queue.type(slot), engine.queue.target(slot), engine.queue.a0(slot), engine.queue.a1(slot)]).toEqual([EV_TIMER, 2, TIMER_SLOPPY_RECONCILE, obj]);
    expect(awaitingReport(k.perCpu[2].awaiting)).toEqual({ awaitingSlots: [0, 1], awaitingObjects: [obj, 0, 1] });
    k.setup(2, (w) => sloppyCounter.onTimer(k, TIMER_SLOPPY_RECONCILE, obj, w));
    expect(k.perCpu[2].switched).toEqual([obj]);
    k.setup(3, (w) => k.put(w, obj));
    const mem = k.finishSetup();
    expect(mem.get(k.perCpuLine(obj, 0))).toBe(0);
    expect(mem.get(k.countLine(obj))).toBe(FREED);
    expect(k.perCpu[3].freed).toEqual([obj]);
    expect(k.perCpu.flatMap((s) => s.violations)).toEqual([]);
  });
  // After the kill (and before the reconcile) the mode word is dead, so gets and puts are
  // atomics on the central count and leave the spares alone. CPU 1's get takes a batch (central
  // 1 + 4 = 5, 3 spares on CPU 1); the kill; CPU 0's get: central 6; CPU 1's put: central 5, CPU
  // 1 still has 3 spares. The reconcile gathers them: 5 - 3 - 1 (the creator's) = 1, the one
  // reference still in use (CPU 0's), whose put frees it.
  it("after the kill takes and drops references on the central count, not from or to the spares", () => {
    const { k } = kernelFor("sloppy", { sloppyBatch: 4, sloppyMaxSpares: 6 });
    const obj = container(k, COUNTER_SLOPPY);
    k.setup(1, (w) => k.get(w, obj));
    k.setup(2, (w) => k.release(w, obj));
    k.setup(0, (w) => k.get(w, obj));
    k.setup(1, (w) => k.put(w, obj));
    k.setup(2, (w) => sloppyCounter.onTimer(k, TIMER_SLOPPY_RECONCILE, obj, w));
    expect(k.perCpu.flatMap((s) => s.freed)).toEqual([]);
    // After the reconcile too: a get and a put are atomics (a get that took a batch would leave
    // the count 4 high, and the last put would not free it).
    k.setup(0, (w) => k.get(w, obj));
    k.setup(1, (w) => k.put(w, obj));
    k.setup(3, (w) => k.put(w, obj));
    expect(k.perCpu[3].freed).toEqual([obj]);
    const mem = k.finishSetup();
    expect([0, 1, 2, 3].map((c) => mem.get(k.perCpuLine(obj, c)) ?? 0)).toEqual([0, 0, 0, 0]);
    expect(k.perCpu.flatMap((s) => s.violations)).toEqual([]);
  });

  // Objects a and a + 1: b = a + 1 has one spare on CPU 0 (a get on CPU 1 took a batch, a put on
  // CPU 0 added a spare). a's true count is its central 1 minus its own spares (none) on the 4
  // CPUs: 1; b's is 5 - 3 - 1 = 1 (the creator's; the get's reference was put).
  it("counts true references from the object's own spares on each CPU", () => {
    const { k } = kernelFor("sloppy", { sloppyBatch: 4, sloppyMaxSpares: 6 });
    const a = container(k, COUNTER_SLOPPY);
    const b = container(k, COUNTER_SLOPPY);
    expect(b).toBe(a + 1);
    k.setup(1, (w) => k.get(w, b));
    k.setup(0, (w) => k.put(w, b));
    const mem = k.finishSetup();
    const value = (line: number) => mem.get(line) ?? 0;
    const life = { freed: false, switched: false };
    expect([sloppyCounter.trueCount(k.object(a), value, k, life), sloppyCounter.trueCount(k.object(b), value, k, life)]).toEqual([1, 1]);
  });

  it("keeps one spare line per CPU beside the central count: 8 + 8 x CPUs bytes", () => {
    expect(sloppyCounter.bytesPerObject(4)).toBe(40);
    expect(sloppyCounter.bytesPerObject(64)).toBe(520);
  });
});

describe("percpu_ref", () => {
  // Three gets on CPU 0 and a put on CPU 1 are plain per-CPU adds (+3 and -1); the shared count
  // keeps 1 + bias. The kill marks the mode word dead and arms the switch one grace period later.
  // The switch sums every CPU (3 - 1 = 2) and adds sum - bias - 1 to the shared count:
  // 1 + bias + 2 - bias - 1 = 2, the two references still held. After that, gets and puts are
  // atomics on the shared count: +1, then three puts reach 0 and free it.
  it("switches to atomic one RCU grace period after the kill, folding in every CPU's counter and dropping the bias and the creator's reference", () => {
    const { k, engine } = kernelFor("percpu", { rcuGracePeriod: "300us" });
    const obj = container(k, COUNTER_PERCPU);
    times(3, () => k.setup(0, (w) => k.get(w, obj)));
    k.setup(1, (w) => k.put(w, obj));
    k.setup(2, (w) => k.release(w, obj));
    expect(engine.nextEventTime()).toBe(300_000_000);
    const slot = engine.queue.pop();
    expect([engine.queue.type(slot), engine.queue.target(slot), engine.queue.a0(slot), engine.queue.a1(slot)]).toEqual([EV_TIMER, 2, TIMER_PERCPU_SWITCH, obj]);
    expect(awaitingReport(k.perCpu[2].awaiting)).toEqual({ awaitingSlots: [0, 1], awaitingObjects: [obj, 0, 1] });
    expect(k.perCpu[2].switched).toEqual([]);
    k.setup(2, (w) => percpuCounter.onTimer(k, TIMER_PERCPU_SWITCH, obj, w));
    expect(k.perCpu[2].switched).toEqual([obj]);
    k.setup(0, (w) => k.get(w, obj));
    times(2, () => k.setup(3, (w) => k.put(w, obj)));
    expect(k.perCpu[3].freed).toEqual([]);
    k.setup(3, (w) => k.put(w, obj));
    expect(k.perCpu[3].freed).toEqual([obj]);
    // The free is the end of its wait for a free (the -1 that pairs with the kill's +1).
    expect(awaitingReport(k.perCpu[3].awaiting)).toEqual({ awaitingSlots: [0, -1], awaitingObjects: [obj, 0, -1] });
    const mem = k.finishSetup();
    expect(mem.get(k.countLine(obj))).toBe(FREED);
    expect(mem.get(k.perCpuLine(obj, 0))).toBe(3);
    expect(mem.get(k.perCpuLine(obj, 1))).toBe(-1);
    expect(k.perCpu.flatMap((s) => s.violations)).toEqual([]);
  });

  // Objects a and b = a + 1: b's CPU-0 counter (+3, three gets) is the line just past a's last
  // CPU's (perCpuLine(a, 4) = perCpuLine(a + 1, 0)); a's true count is its own: 1 + bias - bias
  // + 0 = 1; b's is 1 + 3 = 4.
  it("counts true references from the object's own CPUs only", () => {
    const { k } = kernelFor("percpu");
    const a = container(k, COUNTER_PERCPU);
    const b = container(k, COUNTER_PERCPU);
    expect(b).toBe(a + 1);
    times(3, () => k.setup(0, (w) => k.get(w, b)));
    const mem = k.finishSetup();
    const value = (line: number) => mem.get(line) ?? 0;
    const life = { freed: false, switched: false };
    expect([percpuCounter.trueCount(k.object(a), value, k, life), percpuCounter.trueCount(k.object(b), value, k, life)]).toEqual([1, 4]);
  });

  it("counts true references as shared - bias + the per-CPU sum while live", () => {
    const { k } = kernelFor("percpu");
    const obj = container(k, COUNTER_PERCPU);
    times(5, () => k.setup(1, (w) => k.get(w, obj)));
    times(2, () => k.setup(3, (w) => k.put(w, obj)));
    const mem = k.finishSetup();
    expect(mem.get(k.countLine(obj))).toBe(1 + PERCPU_BIAS);
    const value = (line: number) => mem.get(line) ?? 0;
    expect(percpuCounter.trueCount(k.object(obj), value, k, { freed: false, switched: false })).toBe(4);
    expect(percpuCounter.bytesPerObject(4)).toBe(16 + 56 + 8 * 4);
  });
});

describe("refcache", () => {
  const tick = (k: Kernel, cpu: number) => k.setup(cpu, (w) => refcacheCounter.onTimer(k, TIMER_REFCACHE_EPOCH, -1, w));

  // The creator's release on CPU 0 leaves a delta of -1. Epoch 1 on CPU 0 flushes it: the global
  // count goes 1 -> 0, and the object is queued for review at epoch 1 + 2 = 3. Epoch 2 reviews
  // nothing; epoch 3 finds the zero untouched and frees it: exactly two epochs after the flush.
  it("frees a zero exactly two epochs after the flush that found it", () => {
    const { k } = kernelFor("refcache");
    const obj = container(k, COUNTER_REFCACHE);
    k.setup(0, (w) => k.release(w, obj));
    expect([...k.perCpu[0].refcacheDirty]).toEqual([obj]);
    tick(k, 0);
    expect(k.perCpu[0].refcacheEpoch).toBe(1);
    expect(k.perCpu[0].refcacheDirty.size).toBe(0);
    expect(k.perCpu[0].refcacheReviews).toEqual([{ obj, dueEpoch: 3 }]);
    expect(awaitingReport(k.perCpu[0].awaiting)).toEqual({ awaitingSlots: [0, 1], awaitingObjects: [obj, 0, 1] });
    tick(k, 0);
    expect(k.perCpu[0].freed).toEqual([]);
    expect(k.perCpu[0].refcacheReviews).toEqual([{ obj, dueEpoch: 3 }]);
    tick(k, 0);
    expect(k.perCpu[0].freed).toEqual([obj]);
    expect(k.perCpu[0].refcacheReviews).toEqual([]);
    expect(awaitingReport(k.perCpu[0].awaiting)).toEqual({ awaitingSlots: [0, 0], awaitingObjects: [] });
    expect(k.finishSetup().get(k.countLine(obj))).toBe(FREED);
  });

  // A get and put on CPU 1 after the zero was queued: CPU 1's epoch flushes nothing (its delta
  // is back to 0) but marks the count dirty, so the review at epoch 3 requeues it (due at 5)
  // instead of freeing; the review at 5 frees it.
  /** The creator's release flushed to zero at CPU 0's epoch 1 (review due at 3), then a get on CPU 1, flushed at its epoch 1. */
  function zeroQueuedThenTaken() {
    const { k } = kernelFor("refcache");
    const obj = container(k, COUNTER_REFCACHE);
    k.setup(0, (w) => k.release(w, obj));
    tick(k, 0);
    k.setup(1, (w) => k.get(w, obj));
    tick(k, 1);
    return { k, obj };
  }

  it("requeues a zero touched since it was queued, and frees it at the next review", () => {
    const { k, obj } = zeroQueuedThenTaken();
    k.setup(1, (w) => k.put(w, obj));
    tick(k, 1);
    expect(k.perCpu[1].refcacheEpoch).toBe(2);
    tick(k, 0);
    tick(k, 0);
    expect(k.perCpu[0].freed).toEqual([]);
    expect(k.perCpu[0].refcacheReviews).toEqual([{ obj, dueEpoch: 5 }]);
    tick(k, 0);
    expect(k.perCpu[0].freed).toEqual([]);
    tick(k, 0);
    expect(k.perCpu[0].freed).toEqual([obj]);
    expect(k.perCpu.flatMap((s) => s.violations)).toEqual([]);
  });

  it("drops a review whose count is no longer zero, and counts true references as global + every delta", () => {
    const { k, obj } = zeroQueuedThenTaken();
    tick(k, 0);
    tick(k, 0);
    expect(k.perCpu[0].freed).toEqual([]);
    expect(k.perCpu[0].refcacheReviews).toEqual([]);
    expect(awaitingReport(k.perCpu[0].awaiting)).toEqual({ awaitingSlots: [0, 0], awaitingObjects: [] });
    k.setup(2, (w) => k.get(w, obj));
    const mem = k.finishSetup();
    expect(decodeRefcacheWord(mem.get(k.countLine(obj)) ?? 0).count).toBe(1);
    const value = (line: number) => mem.get(line) ?? 0;
    expect(refcacheCounter.trueCount(k.object(obj), value, k, { freed: false, switched: false })).toBe(2);
  });
  // A get on CPU 1 after the free: its delta flushes into a freed count, which is recorded.
  it("records a flush into a freed count as a use after free", () => {
    const { k } = kernelFor("refcache");
    const obj = container(k, COUNTER_REFCACHE);
    k.setup(0, (w) => k.release(w, obj));
    times(3, () => tick(k, 0));
    expect(k.perCpu[0].freed).toEqual([obj]);
    k.setup(1, (w) => k.get(w, obj));
    tick(k, 1);
    expect(k.perCpu.flatMap((s) => s.violations.map((v) => [v.kind, v.obj, v.cpu, v.detail]))).toEqual([["use-after-free", obj, 1, "flush into a freed count"]]);
    expect(k.finishSetup().get(k.countLine(obj))).toBe(FREED);
  });

  // The review due at epoch 3 finds the count already freed (by another path): recorded, and no
  // second free.
  it("records a review that finds the count freed, and does not free it again", () => {
    const { k } = kernelFor("refcache");
    const obj = container(k, COUNTER_REFCACHE);
    k.setup(0, (w) => k.release(w, obj));
    tick(k, 0);
    k.setup(2, (w) => w.access(k.countLine(obj), RMW_SET, FREED));
    tick(k, 0);
    tick(k, 0);
    expect(k.perCpu.flatMap((s) => s.violations.map((v) => [v.kind, v.obj, v.cpu, v.detail]))).toEqual([["use-after-free", obj, 0, "review of a freed count"]]);
    expect(k.perCpu[0].freed).toEqual([]);
    expect(k.perCpu[0].refcacheReviews).toEqual([]);
  });

  // The review that frees has already written FREED into the count (RMW_REFCACHE_REVIEW), so the
  // free path must not write it again (an extra access to the line in a timed run).
  it("frees through the kernel's free path without a second write of the count", () => {
    const { k } = kernelFor("refcache");
    const obj = container(k, COUNTER_REFCACHE);
    const free = vi.spyOn(k, "free");
    k.setup(0, (w) => k.release(w, obj));
    times(3, () => tick(k, 0));
    expect(free.mock.calls.map((c) => c.slice(1))).toEqual([[obj, true]]);
  });
});

describe("refcount_t (the atomic counter)", () => {
  const kinds = (k: Kernel) => k.perCpu.flatMap((s) => s.violations.map((v) => [v.kind, v.obj, v.cpu, v.detail]));

  it("frees at the put that reaches zero, and records a put below zero, a put and a get on a freed object, and a get from zero", () => {
    const { k } = kernelFor("container");
    const a = container(k, COUNTER_ATOMIC);
    k.setup(1, (w) => k.get(w, a));
    k.setup(1, (w) => k.put(w, a));
    expect(k.perCpu[1].freed).toEqual([]);
    k.setup(2, (w) => k.put(w, a));
    expect(k.perCpu[2].freed).toEqual([a]);
    k.setup(3, (w) => k.put(w, a));
    k.setup(3, (w) => k.get(w, a));
    expect(kinds(k)).toEqual([
      [`use-after-free`, a, 3, "put on a freed object"],
      [`use-after-free`, a, 3, "get on a freed object"],
    ]);
    // A count that is 0 without a free (a lost reference): a put takes it below zero, and a
    // get that finds 0 raises a count that was already dead.
    const b = container(k, COUNTER_ATOMIC);
    const zero = () => k.setup(0, (w) => w.access(k.countLine(b), RMW_SET, 0));
    zero();
    k.setup(0, (w) => k.put(w, b));
    zero();
    k.setup(0, (w) => k.get(w, b));
    expect(k.perCpu[0].violations.map((v) => [v.kind, v.obj, v.cpu, v.detail])).toEqual([
      ["count-below-zero", b, 0, "count fell to -1"],
      ["use-after-free", b, 0, "get raised the count from 0"],
    ]);
    expect(k.perCpu[0].freed).toEqual([]);
    const mem = k.finishSetup();
    expect(mem.get(k.countLine(a))).toBe(FREED);
    expect(mem.get(k.countLine(b))).toBe(1);
  });
});

describe("refcount_t's true count", () => {
  // The creator's 1 and two gets on CPU 2: the count line holds 3, and so does the true count.
  it("is the count line's value", () => {
    const { k } = kernelFor("container");
    const obj = container(k, COUNTER_ATOMIC);
    times(2, () => k.setup(2, (w) => k.get(w, obj)));
    const mem = k.finishSetup();
    expect(atomicCounter.trueCount(k.object(obj), (line) => mem.get(line) ?? 0, k, { freed: false, switched: false })).toBe(3);
  });
});

describe("every counter's true count of a freed object", () => {
  // Counter.trueCount: "null if freed", whatever the lines hold (here a live object's lines).
  it.each([COUNTER_ATOMIC, COUNTER_PERCPU, COUNTER_SLOPPY, COUNTER_REFCACHE, COUNTER_VE])("is null (counter %i)", (id) => {
    const scheme = ["", "container", "percpu", "sloppy", "refcache", "openvz"][id];
    const { k } = kernelFor(scheme);
    const obj = container(k, id);
    const mem = k.finishSetup();
    const counter = COUNTERS[id]!;
    const value = (line: number) => mem.get(line) ?? 0;
    expect(counter.trueCount(k.object(obj), value, k, { freed: false, switched: false })).toBe(1);
    expect(counter.trueCount(k.object(obj), value, k, { freed: true, switched: false })).toBeNull();
    expect(counter.trueCount(k.object(obj), value, k, { freed: true, switched: true })).toBeNull();
  });
});

describe("OpenVZ's VE counter", () => {
  const records = (k: Kernel) => k.perCpu.flatMap((s) => s.violations.map((v) => [v.kind, v.obj, v.cpu, v.detail]));
  const setCount = (k: Kernel, obj: number, counter: number, pcounter: number) => k.setup(0, (w) => w.access(k.countLine(obj), RMW_SET, counter + pcounter * PCOUNT_UNIT));

  // A VE whose counter is 0 but not freed (a lost reference): get_ve raises it to 1, which the
  // check reports as a get from 0; from -1 it reaches 0, reported as a get from -1 (and, being a
  // get, it frees nothing).
  it("records a get_ve from zero or below as a use-after-free, and frees nothing", () => {
    const { k } = kernelFor("openvz");
    const ve = container(k, COUNTER_VE);
    setCount(k, ve, 0, 2);
    k.setup(1, (w) => k.get(w, ve));
    setCount(k, ve, -1, 2);
    k.setup(2, (w) => k.get(w, ve));
    expect(records(k)).toEqual([
      ["use-after-free", ve, 1, "get_ve raised the count from 0"],
      ["use-after-free", ve, 2, "get_ve raised the count from -1"],
    ]);
    expect(k.perCpu.flatMap((s) => s.freed)).toEqual([]);
    expect(k.finishSetup().get(k.countLine(ve))).toBe(2 * PCOUNT_UNIT);
  });

  // counter 0 with 1 process: put_ve takes it to -1 (reported, not freed); pcounter stays 1.
  it("records a put_ve below zero and frees nothing", () => {
    const { k } = kernelFor("openvz");
    const ve = container(k, COUNTER_VE);
    setCount(k, ve, 0, 1);
    k.setup(3, (w) => k.put(w, ve));
    expect(records(k)).toEqual([["count-below-zero", ve, 3, "VE count fell to -1"]]);
    expect(k.perCpu.flatMap((s) => s.freed)).toEqual([]);
  });

  // The creator's reference and 2 processes (two pget_ve): its release takes counter to 0 with
  // pcounter 2, put_ve's BUG_ON case: reported with the process count, and the VE freed.
  it("records a free with processes counted, naming them, and frees the VE", () => {
    const { k } = kernelFor("openvz");
    const ve = container(k, COUNTER_VE);
    times(2, () => k.setup(0, (w) => pgetVe(k, w, ve)));
    k.setup(1, (w) => k.release(w, ve));
    expect(records(k)).toEqual([["free-while-referenced", ve, 1, "VE freed with 2 processes counted"]]);
    expect(k.perCpu[1].freed).toEqual([ve]);
  });

  // counter 1 + 2 gets = 3 references, 2 processes (pget twice, then a pput and a pget): the true
  // count is the references, 3; the line holds 3 + 2 x 2^20. Its state is two 4-byte atomics.
  it("counts true references from the counter, not the process count, in 8 bytes", () => {
    const { k } = kernelFor("openvz");
    const ve = container(k, COUNTER_VE);
    times(2, () => k.setup(1, (w) => k.get(w, ve)));
    times(2, () => k.setup(2, (w) => pgetVe(k, w, ve)));
    k.setup(3, (w) => pputVe(k, w, ve));
    k.setup(0, (w) => pgetVe(k, w, ve));
    const mem = k.finishSetup();
    expect(mem.get(k.countLine(ve))).toBe(3 + 2 * PCOUNT_UNIT);
    expect(veCounter.trueCount(k.object(ve), (line) => mem.get(line) ?? 0, k, { freed: false, switched: false })).toBe(3);
    expect(veCounter.bytesPerObject(4)).toBe(8);
    expect(records(k)).toEqual([]);
  });
});
