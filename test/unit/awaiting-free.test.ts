import { describe, expect, it } from "vitest";
import { AWAITING_SAMPLES, awaitingReport, awaitingSlot, mergeAwaiting, newAwaitingLog, noteAwaiting } from "../../shared/metrics/awaiting-free.ts";

const MS = 1_000_000_000;

describe("the awaiting-free count in bounded memory", () => {
  it("puts a change in the slot of the sampling interval it falls in, and a change at or after the duration in the drain's", () => {
    expect(AWAITING_SAMPLES).toBe(1024);
    // 1 ms in 1024 slots of 976,562.5 ps.
    expect(awaitingSlot(0, MS)).toBe(0);
    expect(awaitingSlot(976_562, MS)).toBe(0);
    expect(awaitingSlot(976_563, MS)).toBe(1);
    expect(awaitingSlot(MS / 2, MS)).toBe(512);
    expect(awaitingSlot(MS - 1, MS)).toBe(1023);
    expect(awaitingSlot(MS, MS)).toBe(1024);
    expect(awaitingSlot(3 * MS, MS)).toBe(1024);
    // A duration near 2^53 ps (2.5 hours): the last picosecond before it is still in the last slot.
    const long = 2 ** 53 - 2;
    expect(awaitingSlot(long - 1, long)).toBe(1023);
    expect(awaitingSlot(long, long)).toBe(1024);
    // Fewer picoseconds than slots: each picosecond its own slots' share.
    expect(awaitingSlot(0, 2)).toBe(0);
    expect(awaitingSlot(1, 2)).toBe(512);
  });

  it("keeps one entry per slot changed and per object whose changes do not net to zero", () => {
    const log = newAwaitingLog();
    noteAwaiting(log, 10, MS, 7, 0, 1);
    noteAwaiting(log, 20, MS, 8, 0, 1);
    noteAwaiting(log, 30, MS, 7, 0, -1);
    // Slot 0: +1 +1 -1; object 7 nets to zero and leaves.
    expect(log.slots).toEqual([0, 1]);
    expect([...log.objects]).toEqual([[8, { gen: 0, net: 1 }]]);
    noteAwaiting(log, 2_000_000, MS, 8, 0, -1);
    noteAwaiting(log, MS + 5, MS, 9, 0, -1);
    expect(log.slots).toEqual([0, 1, 2, -1, 1024, -1]);
    expect([...log.objects]).toEqual([[9, { gen: 0, net: -1 }]]);
    expect(awaitingReport(log)).toEqual({ awaitingSlots: [0, 1, 2, -1, 1024, -1], awaitingObjects: [9, 0, -1] });
    // The report is a copy.
    awaitingReport(log).awaitingSlots.push(5);
    expect(log.slots).toHaveLength(6);
  });

  it("adds a slot's changes up, and an object's changes of one generation", () => {
    const log = newAwaitingLog();
    // Two objects made to await in slot 0, one twice (changes not yet paired on this CPU: its kill here, its free elsewhere).
    noteAwaiting(log, 10, MS, 3, 0, 1);
    noteAwaiting(log, 20, MS, 3, 0, 1);
    noteAwaiting(log, 30, MS, 6, 0, 1);
    expect(log.slots).toEqual([0, 3]);
    expect(log.objects.get(3)).toEqual({ gen: 0, net: 2 });
    noteAwaiting(log, 40, MS, 3, 0, -1);
    expect(log.slots).toEqual([0, 2]);
    expect(log.objects.get(3)).toEqual({ gen: 0, net: 1 });
  });

  it("replaces an object's entry by its memory's newer generation, and ignores a change of an older one", () => {
    const log = newAwaitingLog();
    noteAwaiting(log, 10, MS, 4, 1, 1);
    noteAwaiting(log, 20, MS, 4, 2, 1);
    expect(log.objects.get(4)).toEqual({ gen: 2, net: 1 });
    noteAwaiting(log, 30, MS, 4, 1, -1);
    expect(log.objects.get(4)).toEqual({ gen: 2, net: 1 });
    // The count itself takes every change.
    expect(log.slots).toEqual([0, 1]);
  });

  it("refuses a change in an earlier slot than the last (a CPU's changes come in time order)", () => {
    const log = newAwaitingLog();
    noteAwaiting(log, 5_000_000, MS, 1, 0, 1);
    expect(() => noteAwaiting(log, 10, MS, 2, 0, 1)).toThrow("awaiting-free change at slot 0 after slot 5");
  });

  it("sums the CPUs' slots into the count at each instant, its peak and its end, and the objects' nets of their current generation", () => {
    // CPU 0: +2 in slot 0, -1 in slot 10, +1 at the drain. CPU 1: +1 in slot 10, +2 in slot 500, -3 in slot 1023.
    const cpus = [
      { awaitingSlots: [0, 2, 10, -1, 1024, 1], awaitingObjects: [1, 0, 1, 2, 3, 1, 5, 0, -1] },
      { awaitingSlots: [10, 1, 500, 2, 1023, -3], awaitingObjects: [2, 3, -1, 5, 0, 1, 6, 1, 1] },
    ];
    const gens = new Map([
      [1, 0],
      [2, 3],
      [5, 0],
      [6, 2],
    ]);
    const s = mergeAwaiting(cpus, (id) => gens.get(id) ?? 0);
    // Count: 2 from instant 1 (slot 0), 2 after slot 10 (-1 +1), 4 after slot 500, 1 after slot 1023. The
    // drain's +1 counts for neither.
    expect(s.peak).toBe(4);
    expect(s.atEnd).toBe(1);
    // 1: +1 (awaiting). 2: +1 -1 (not). 5: -1 +1 (not). 6: +1 at generation 1, its memory holds 2 (not).
    expect([...s.objects]).toEqual([1]);
  });

  it("gives 0 for a count that never rose, and a peak above the end when it fell", () => {
    expect(mergeAwaiting([], () => 0)).toEqual({ peak: 0, atEnd: 0, objects: new Set() });
    const s = mergeAwaiting([{ awaitingSlots: [3, 1, 4, -1], awaitingObjects: [] }], () => 0);
    expect([s.peak, s.atEnd]).toEqual([1, 0]);
    // A count below zero on its own (changes not yet paired) never makes a peak.
    expect(mergeAwaiting([{ awaitingSlots: [0, -2], awaitingObjects: [] }], () => 0)).toMatchObject({ peak: 0, atEnd: -2 });
  });
});
