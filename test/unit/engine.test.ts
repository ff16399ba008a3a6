import { describe, expect, it } from "vitest";
import { Engine, type EventHandler } from "../../shared/engine/engine.ts";
import { InvalidDelayError, LateEventError, SimulationError, SpecError } from "../../shared/engine/errors.ts";
import { EventQueue } from "../../shared/engine/event-queue.ts";

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

describe("Engine: limits, routing and run slices", () => {
  it("holds at most 65536 entities", () => {
    expect(() => new Engine(65537)).toThrow("at most 65536 entities, got 65537");
    expect(() => new Engine(65536)).not.toThrow();
  });

  it("rejects a priority outside 0..15, naming it", () => {
    const engine = new Engine(2);
    for (const p of [-1, 16, Number.NaN]) expect(() => engine.send(0, p, 0, 0, 1)).toThrow(`priority must be in 0..15, got ${p}`);
    engine.send(0, 15, 0, 0, 1);
    engine.send(0, 0, 0, 0, 1);
    expect(engine.queue.size).toBe(2);
  });

  it("numbers each origin's events 0, 1, 2, ... and stops an origin at 2^32 events", () => {
    const engine = new Engine(3);
    engine.send(5, 0, 2, 0, 1);
    engine.send(5, 0, 2, 0, 1);
    engine.send(5, 0, 1, 0, 1);
    expect(Array.from(engine.sequenceCounters())).toEqual([0, 1, 2]);
    engine.sequenceCounters()[1] = 2 ** 32;
    expect(() => engine.send(0, 0, 1, 0, 1)).toThrow("entity 1 created more than 2^32 events");
    engine.sequenceCounters()[1] = 2 ** 32 - 1;
    expect(() => engine.send(0, 0, 1, 0, 1)).not.toThrow();
  });

  it("sends an event for an entity held elsewhere to the router, with its whole key, and keeps local ones", () => {
    const out: number[][] = [];
    const engine = new Engine(4, {
      isLocal: (e) => e < 2,
      outbound: (...args) => {
        out.push(args);
      },
    });
    recorder(engine);
    engine.send(0, 0, 0, 0, 1);
    engine.send(7, 3, 0, 3, 2, 10, 11, 12, 13);
    expect(out).toEqual([[7, 3, 0, 1, 3, 2, 10, 11, 12, 13]]);
    expect(engine.queue.size).toBe(1);
    engine.setRouter(null);
    engine.send(1, 0, 0, 3, 2);
    expect(engine.queue.size).toBe(2);
  });

  it("runs at most maxEvents events a call, tells which entity it is handling, and will not run without a handler", () => {
    expect(() => new Engine(1).runUntil(10)).toThrow("Engine.runUntil called before setHandler");
    const engine = new Engine(3);
    const seen: number[] = [];
    engine.setHandler({ handle: () => seen.push(engine.currentEntity) });
    for (const target of [2, 1, 0]) engine.send(target + 1, 0, 0, target, 1);
    expect(engine.runUntil(Infinity, 2)).toBe(2);
    expect(engine.eventsProcessed).toBe(2);
    expect(engine.runUntil(Infinity, 2)).toBe(1);
    expect(engine.eventsProcessed).toBe(3);
    expect(seen).toEqual([0, 1, 2]);
    expect(engine.nowPs).toBe(3);
  });
});

describe("Engine: the edges of its checks, and its errors", () => {
  it("accepts a delay of 2^53 - 1 ps, the largest exact one", () => {
    const engine = new Engine(1);
    engine.send(Number.MAX_SAFE_INTEGER, 0, 0, 0, 1);
    expect(engine.nextEventTime()).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("names the origin of a bad priority and of an origin out of sequence numbers", () => {
    const engine = new Engine(3);
    const caught = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return e as SimulationError;
      }
      throw new Error("no error");
    };
    expect(caught(() => engine.send(0, 16, 2, 0, 1)).entity).toBe("entity 2");
    engine.sequenceCounters()[1] = 2 ** 32;
    const e = caught(() => engine.send(0, 0, 1, 0, 1));
    expect(e).toBeInstanceOf(InvalidDelayError);
    expect(e.entity).toBe("entity 1");
  });

  it("handles no entity before its first event", () => {
    expect(new Engine(2).currentEntity).toBe(-1);
  });

  it("SimulationError and SpecError say what, when and where, under their own names", () => {
    const e = new SimulationError("bad thing", 1500, "cpu 3");
    expect([e.name, e.message, e.timePs, e.entity]).toEqual(["SimulationError", "bad thing (at 1500 ps, cpu 3)", 1500, "cpu 3"]);
    expect(new LateEventError("x", 0, "y").name).toBe("LateEventError");
    const s = new SpecError("workload.mix", "expected a number");
    expect([s.name, s.message, s.path]).toEqual(["SpecError", "workload.mix: expected a number", "workload.mix"]);
    expect(new SpecError("", "empty spec").message).toBe("empty spec");
  });
});

describe("EventQueue: no allocation per event", () => {
  // A released slot is reused: push, pop and release 10 000 times and the payload arrays keep
  // their initial 16 slots (64 arguments).
  it("reuses released slots instead of growing", () => {
    const q = new EventQueue(16);
    for (let i = 0; i < 10_000; i++) {
      q.push(i, 0, 0, i, 1, 1, i, 0, 0, 0);
      q.release(q.pop());
    }
    expect(q.args.length).toBe(64);
    expect(q.targetType.length).toBe(16);
  });
});

