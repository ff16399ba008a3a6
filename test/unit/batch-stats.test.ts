import { describe, expect, it } from "vitest";
import { combineTrials, isSteady, median, paddedPoint, pingPongNs, sharedPoint, type CounterPoint, type ThreadBatches } from "../../coordinator/calibrate/batch-stats.ts";

const thread = (ms: number[], moved: number[], batch = 1000, arrivals: number[] = []): ThreadBatches => ({ batch, ms, moved, arrivals, wallMs: ms.reduce((a, b) => a + b, 0) });

describe("calibrate's batch statistics", () => {
  it("median", () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("shared counter, 2 threads: only batches during which the other thread added half its share count, and not interrupted ones", () => {
    // Batches of 1000: moved 2000 in 0.04 ms = 5e7/s (together); moved 1000 (the other thread was off its CPU);
    // moved 2000 in 1 ms (interrupted: longer than 3x the typical batch together).
    const a = thread([0.04, 0.04, 0.01, 1], [2000, 2000, 1000, 2000], 1000, [100, 300, 0, 900]);
    // b's last batch: 2000 moved but only 2 interleavings, b was descheduled once while a ran alone.
    const b = thread([0.05, 0.01, 0.02], [2500, 1000, 2000], 1000, [200, 0, 2]);
    const p = sharedPoint(2, [a, b]);
    expect(p.opsPerSec).toBeCloseTo(5e7, -3); // median of 5e7, 5e7, 5e7
    expect(p.nsPerOp).toBeCloseTo(40, 6); // 2 threads x 1e9 / 5e7
    expect(p.coRunShare).toBeCloseTo(3 / 7, 9);
    // The line came back 100 + 300 + 200 times over the 3000 increments of the batches that counted.
    expect(p.transfersPerOp).toBeCloseTo(600 / 3000, 9);
    // All increments over the whole window: a did 4000 in 1.09 ms, b 2000 in 0.06 ms.
    expect(p.wallOpsPerSec).toBeCloseTo((4000 * 1000) / 1.09 + (3000 * 1000) / 0.08, -2);
  });

  it("shared counter, 1 thread: every batch counts, the rate is the median batch's", () => {
    const p = sharedPoint(1, [thread([0.01, 0.02, 0.01], [1000, 1000, 1000])]);
    expect(p.opsPerSec).toBeCloseTo(1e8, -3);
    expect(p.coRunShare).toBe(1);
  });

  it("padded counters: each thread's median batch rate, summed; no batch at all gives 0", () => {
    const p = paddedPoint(2, [thread([0.01, 0.01, 0.5], [1000, 1000, 1000]), thread([0.02, 0.02], [1000, 1000])]);
    expect(p.opsPerSec).toBeCloseTo(1e8 + 5e7, -3);
    expect(paddedPoint(1, [thread([], [])]).opsPerSec).toBe(0);
  });

  it("repeated trials: the median trial's figure, every trial's rate and their spread; a trial that measured nothing is left out, all of them gives no figure", () => {
    const trial = (opsPerSec: number, coRunShare = 1): CounterPoint => ({ threads: 2, opsPerSec, nsPerOp: opsPerSec > 0 ? 2e9 / opsPerSec : 0, wallOpsPerSec: opsPerSec / 2, coRunShare, transfersPerOp: opsPerSec / 1e8, trials: [opsPerSec], spread: 0 });
    const p = combineTrials([trial(5e7), trial(4e7), trial(6e7)]);
    expect(p.opsPerSec).toBe(5e7);
    expect(p.transfersPerOp).toBe(0.5); // the median trial's own statistics
    expect(p.trials).toEqual([5e7, 4e7, 6e7]);
    expect(p.spread).toBeCloseTo(0.4, 9); // (6e7 - 4e7) / 5e7
    expect(isSteady(p)).toBe(false); // spread above 25%
    const steady = combineTrials([trial(5e7), trial(5.2e7), trial(0, 0)]);
    expect(steady.opsPerSec).toBe(5e7); // the lower middle of the two that measured
    expect(steady.spread).toBeCloseTo(0.2e7 / 5.1e7, 9);
    expect(steady.coRunShare).toBeCloseTo(2 / 3, 9);
    expect(isSteady(steady)).toBe(true);
    // One measuring trial of three: its figure, but no spread to tell, so not steady.
    const one = combineTrials([trial(0, 0), trial(5e7), trial(0, 0)]);
    expect(one.opsPerSec).toBe(5e7);
    expect(one.spread).toBeNull();
    expect(isSteady(one)).toBe(false);
    expect(combineTrials([trial(5e7)]).spread).toBe(0);
    const none = combineTrials([trial(0, 0), trial(0, 0)]);
    expect(none.opsPerSec).toBe(0);
    expect(none.spread).toBeNull();
    expect(isSteady(none)).toBe(false);
    expect(isSteady(combineTrials([trial(5e7, 0.3)]))).toBe(false); // threads together in under half the batches
  });

  it("ping-pong: half the median round trip", () => {
    expect(pingPongNs(thread([0.0032, 0.0016, 0.0032], [], 16))).toBeCloseTo(100, 6); // 3.2 us / 16 rounds / 2
    expect(pingPongNs(thread([], [], 16))).toBeNull();
  });
});
