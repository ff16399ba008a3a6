import { describe, expect, it } from "vitest";
import { Engine, type EventHandler } from "../../shared/engine/engine.ts";
import { InvalidDelayError, LateEventError, SimulationError } from "../../shared/engine/errors.ts";

function recorder(engine: Engine) {
  const seen: Array<{ timePs: number; type: number; target: number; a0: number }> = [];
  const handler: EventHandler = {
    handle(type, target, a0) {
      seen.push({ timePs: engine.nowPs, type, target, a0 });
    },
  };
  engine.setHandler(handler);
  return seen;
}

describe("Engine.send", () => {
  it.each([
    ["a negative delay", -1],
    ["a fractional delay", 1.5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a delay beyond 2^53", 2 ** 53],
  ])("rejects %s with an InvalidDelayError naming the time and the entity", (_, delay) => {
    const engine = new Engine(4);
    recorder(engine);
    let error: unknown;
    try {
      engine.send(delay, 0, 2, 1, 1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidDelayError);
    expect(error).toBeInstanceOf(SimulationError);
    const e = error as InvalidDelayError;
    expect(e.name).toBe("InvalidDelayError");
    expect(e.timePs).toBe(0);
    expect(e.entity).toBe("entity 2");
    expect(e.message).toContain(String(delay));
    expect(engine.queue.size).toBe(0);
  });

  it("reports the simulated time at which the bad delay was asked for", () => {
    const engine = new Engine(2);
    let error: unknown;
    engine.setHandler({
      handle() {
        try {
          engine.send(-5, 0, 1, 0, 1);
        } catch (e) {
          error = e;
        }
      },
    });
    engine.send(1234, 0, 0, 0, 1);
    engine.runUntil(Infinity);
    expect(error).toBeInstanceOf(InvalidDelayError);
    expect((error as InvalidDelayError).timePs).toBe(1234);
    expect((error as InvalidDelayError).entity).toBe("entity 1");
  });

  it("accepts a zero delay and delivers events in time order, same-time events by priority then origin then send order", () => {
    const engine = new Engine(4);
    const seen = recorder(engine);
    engine.send(10, 1, 0, 3, 1, 100);
    engine.send(10, 0, 3, 3, 1, 101);
    engine.send(10, 0, 1, 3, 1, 102);
    engine.send(10, 0, 1, 3, 1, 103);
    engine.send(0, 3, 2, 3, 1, 104);
    engine.runUntil(Infinity);
    expect(seen.map((s) => s.a0)).toEqual([104, 102, 103, 101, 100]);
    expect(seen.map((s) => s.timePs)).toEqual([0, 10, 10, 10, 10]);
  });

  it("runUntil stops before its end time (exclusive) and resumes where it stopped", () => {
    const engine = new Engine(1);
    const seen = recorder(engine);
    for (const t of [5, 10, 15]) engine.send(t, 0, 0, 0, 1, t);
    expect(engine.runUntil(10)).toBe(1);
    expect(engine.nextEventTime()).toBe(10);
    expect(engine.runUntil(Infinity)).toBe(2);
    expect(seen.map((s) => s.a0)).toEqual([5, 10, 15]);
    expect(engine.eventsProcessed).toBe(3);
  });

  it("rejects an event delivered from another engine for a time already past, or the current time, with a LateEventError", () => {
    const engine = new Engine(2);
    recorder(engine);
    engine.send(100, 0, 0, 0, 1);
    engine.runUntil(Infinity);
    for (const t of [50, 100]) {
      let error: unknown;
      try {
        engine.deliver(t, 0, 1, 0, 0, 1, 0, 0, 0, 0);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LateEventError);
      const e = error as LateEventError;
      expect(e.name).toBe("LateEventError");
      expect(e.timePs).toBe(100);
      expect(e.entity).toBe("entity 0");
      expect(e.message).toContain(`arrived for ${t} ps`);
      expect(e.message).toContain("from entity 1");
    }
    expect(engine.queue.size).toBe(0);
    expect(() => engine.deliver(101, 0, 1, 0, 0, 1, 0, 0, 0, 0)).not.toThrow();
    expect(engine.nextEventTime()).toBe(101);
  });

  it("accepts an event for time 0 before anything has run", () => {
    const engine = new Engine(2);
    recorder(engine);
    expect(() => engine.deliver(0, 0, 1, 0, 0, 1, 0, 0, 0, 0)).not.toThrow();
    expect(engine.runUntil(Infinity)).toBe(1);
  });
});
