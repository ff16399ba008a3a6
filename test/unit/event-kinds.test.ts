import { describe, expect, it } from "vitest";
import * as protocol from "../../shared/coherence/protocol.ts";

// Event kinds are hand-numbered in one file, and the engine, the partition protocol and
// checkpoints dispatch on the number alone: two mechanisms that took the same number would
// silently run each other's handlers.
describe("event kinds", () => {
  it("are distinct positive integers", () => {
    const kinds = Object.entries(protocol).filter(([name]) => name.startsWith("EV_")) as Array<[string, number]>;
    expect(kinds.length).toBeGreaterThan(10);
    for (const [name, value] of kinds) expect(Number.isInteger(value) && value > 0, name).toBe(true);
    const byValue = new Map<number, string[]>();
    for (const [name, value] of kinds) byValue.set(value, [...(byValue.get(value) ?? []), name]);
    expect([...byValue.values()].filter((names) => names.length > 1)).toEqual([]);
  });
});
