import { describe, expect, it } from "vitest";
import { LateEventError, SimulationError } from "../../shared/engine/errors.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { EVENT_FIELDS, Partition } from "../../shared/protocol/partition.ts";
import { socketAligned } from "../../shared/protocol/partitioning.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { nextWindow } from "../../shared/protocol/windowed.ts";

// The window protocol's checks at a barrier: a batch must hold whole events, and no event may be
// due inside a window its receiver has already run. Both fail loudly, naming what is wrong.

const config = planRuns(resolveSpec(parseSpec({ machine: "modern-2s", cpus: [4], schemes: ["none"], workload: "migration", duration: "50us", warmup: "5us" })))[0];

function twoPartitions(): Partition[] {
  const own = socketAligned(new Machine(config.machine, config.cpuCount), 2);
  return [0, 1].map((i) => new Partition(config, own, i));
}

/** One event for `target` at `timePs`, EVENT_FIELDS numbers: time, rank, target, type, a0..a3. */
function event(timePs: number, target: number): number[] {
  return [timePs, 0, target, 1, 0, 0, 0, 0];
}

function thrown(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("Partition.deliver at a window barrier", () => {
  it("rejects a batch whose length is not a whole number of events, naming the sender and the count", () => {
    const [p0, p1] = twoPartitions();
    const target = p1.cpus.findIndex((c) => c !== undefined);
    expect(EVENT_FIELDS).toBe(8);
    for (const events of [event(10, target).slice(0, 7), [...event(10, target), 0]]) {
      const e = thrown(() => p1.deliver({ from: 0, to: 1, events, tasks: [], objects: [] }));
      expect(e).toBeInstanceOf(SimulationError);
      expect((e as Error).message).toContain(`batch from 0 has ${events.length} numbers, not a multiple of 8`);
    }
    expect(p1.engine.queue.size).toBe(0);
    // A whole event goes through.
    p1.deliver({ from: 0, to: 1, events: event(10, target), tasks: [], objects: [] });
    expect(p1.receivedFrom[0]).toBe(1);
    expect(p0.receivedFrom[1]).toBe(0);
  });

  it("rejects an event due inside the window already run, with the time and the entity", () => {
    const [, p1] = twoPartitions();
    const target = p1.cpus.findIndex((c) => c !== undefined);
    p1.start();
    p1.runUntil(5_000_000);
    const now = p1.engine.nowPs;
    expect(now).toBeLessThan(5_000_000);
    // Due after local time but before the window's end: without the check it would run next,
    // after events the sender's could never precede in the embedded run.
    for (const t of [now + 1, 4_999_999]) {
      const e = thrown(() => p1.deliver({ from: 0, to: 1, events: event(t, target), tasks: [], objects: [] }));
      expect(e).toBeInstanceOf(LateEventError);
      const le = e as LateEventError;
      expect(le.entity).toBe(`entity ${target}`);
      expect(le.timePs).toBe(now);
      expect(le.message).toContain(`due at ${t} ps`);
      expect(le.message).toContain("to 5000000 ps");
    }
    // Due exactly at the window's end: the next window runs it.
    p1.deliver({ from: 0, to: 1, events: event(5_000_000, target), tasks: [], objects: [] });
    expect(p1.receivedFrom[0]).toBe(1);
  });

  it("rejects an event for an entity the partition does not hold", () => {
    const [p0, p1] = twoPartitions();
    const foreign = p0.cpus.findIndex((c) => c !== undefined);
    const e = thrown(() => p1.deliver({ from: 0, to: 1, events: event(10, foreign), tasks: [], objects: [] }));
    expect((e as Error).message).toContain(`event for entity ${foreign} delivered to partition 1`);
  });
});

describe("nextWindow", () => {
  // Two partitions, lookahead 50 ps. The window starts at the earliest pending or just-sent event
  // and ends one lookahead after the earliest time anyone could send anyone something.
  it("starts at the earliest pending event and ends one lookahead after the earliest possible send", () => {
    const w = nextWindow(
      [
        { nextPs: 300, earliestSendPs: 300, minSentTo: [Infinity, Infinity] },
        { nextPs: 200, earliestSendPs: 250, minSentTo: [Infinity, Infinity] },
      ],
      50,
    );
    expect(w).toEqual({ startPs: 200, endPs: 300 });
  });

  it("counts an event just sent to a partition both as a start and as that partition's earliest send", () => {
    const w = nextWindow(
      [
        { nextPs: 400, earliestSendPs: 400, minSentTo: [Infinity, 120] },
        { nextPs: 500, earliestSendPs: 500, minSentTo: [Infinity, Infinity] },
      ],
      50,
    );
    expect(w).toEqual({ startPs: 120, endPs: 170 });
  });

  it("runs to the end when nobody can send anything, and stops when nothing is left", () => {
    expect(nextWindow([{ nextPs: 10, earliestSendPs: Infinity, minSentTo: [Infinity] }], 50)).toEqual({ startPs: 10, endPs: Number.MAX_SAFE_INTEGER });
    expect(nextWindow([{ nextPs: 10, earliestSendPs: 10, minSentTo: [Infinity] }], Infinity)).toEqual({ startPs: 10, endPs: Number.MAX_SAFE_INTEGER });
    expect(nextWindow([{ nextPs: Infinity, earliestSendPs: Infinity, minSentTo: [Infinity, Infinity] }, { nextPs: Infinity, earliestSendPs: Infinity, minSentTo: [Infinity, Infinity] }], 50)).toBeNull();
  });
});
