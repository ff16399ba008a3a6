import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findMachinePreset } from "../../shared/machine/presets.ts";
import { runLineScenario, type LineOp } from "../../coordinator/validate/line-scenario.ts";

// The directory protocol on its own: CPUs run hand-written access sequences on a few shared lines,
// with no kernel around them. Whatever the interleaving, every line behaves as one memory word:
// no increment is lost, and the results of the increments on a line are 1, 2, ..., n.

type Op = LineOp;

interface Scenario {
  machine: string;
  cpuCount: number;
  programs: Map<number, Op[]>;
}

function runScenario(s: Scenario) {
  return runLineScenario({ preset: findMachinePreset(s.machine)!, cpuCount: s.cpuCount, programs: s.programs });
}

function scenarioArb(machine: string, cpuCount: number): fc.Arbitrary<Scenario> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("read" as const), line: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("atomic" as const), line: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("plain" as const), line: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("compute" as const), ps: fc.integer({ min: 1, max: 300_000 }) }) },
  );
  return fc
    .uniqueArray(fc.integer({ min: 0, max: cpuCount - 1 }), { minLength: 2, maxLength: Math.min(6, cpuCount) })
    .chain((active) => fc.tuple(...active.map((cpu) => fc.array(op, { minLength: 1, maxLength: 40 }).map((ops) => [cpu, ops] as const))))
    .map((entries) => ({ machine, cpuCount, programs: new Map(entries) }));
}

describe("directory coherence protocol", () => {
  it.each([
    ["small-4", 4],
    ["modern-2s", 40], // SMT siblings (CPU n and n + 16) and the second socket
    ["opteron-48", 24], // dies of one package and sockets one and two hops apart
  ])("on %s (%i CPUs), concurrent reads and increments lose no update and every increment sees a distinct count", (machine, cpuCount) => {
    fc.assert(
      fc.property(scenarioArb(machine, cpuCount), (s) => {
        const { results, finalValue, idle } = runScenario(s);
        expect(idle).toBe(true);
        const increments = new Map<number, number>();
        for (const ops of s.programs.values()) for (const o of ops) if (o.kind === "atomic" || o.kind === "plain") increments.set(o.line, (increments.get(o.line) ?? 0) + 1);
        for (const [line, count] of increments) {
          expect(finalValue.get(line), `line ${line}`).toBe(count);
          expect([...(results.get(line) ?? [])].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
        }
      }),
      { numRuns: 150, seed: 4242 },
    );
  });

  it("a CPU holding a Shared copy while its ownership request is granted does not pass the stale copy on (regression)", () => {
    // Both CPUs read the line (one becomes the forwarding holder, the other a sharer), then both
    // increment it: the second increment must see the first.
    const { results, finalValue } = runScenario({
      machine: "small-4",
      cpuCount: 2,
      programs: new Map([
        [0, [{ kind: "read", line: 0 }, { kind: "compute", ps: 50_000 }, { kind: "atomic", line: 0 }]],
        [1, [{ kind: "read", line: 0 }, { kind: "compute", ps: 50_000 }, { kind: "atomic", line: 0 }]],
      ] as Array<[number, Op[]]>),
    });
    expect(finalValue.get(0)).toBe(2);
    expect(results.get(0)!.sort()).toEqual([1, 2]);
  });
});
