import { describe, expect, it } from "vitest";
import { Wakeup } from "../../worker/wakeup.ts";

describe("Wakeup: the protocol loops' sleep", () => {
  // No upper bounds on time here. The notify test needs no clock at all: the sleeper's limit is a
  // minute away, so if it has resolved right after notify() (a few microtask turns), notify woke it.
  it("wakes at notify, long before its limit", async () => {
    const w = new Wakeup();
    let woken = false;
    const slept = w.sleep(60_000).then(() => {
      woken = true;
    });
    const turns = async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    await turns();
    expect(woken).toBe(false);
    w.notify();
    await turns();
    expect(woken).toBe(true);
    await slept;
    w.close();
  });

  it("wakes when its time limit passes, not before", async () => {
    const w = new Wakeup();
    for (const ms of [0, 60, 120]) {
      const t0 = performance.now();
      await w.sleep(ms);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(ms - 1);
    }
    w.close();
  });

  it("close wakes the sleeper, and a notify with nobody asleep is a no-op", async () => {
    const w = new Wakeup();
    w.notify();
    const slept = w.sleep(60_000);
    w.close();
    await slept;
    // Usable again after close (its timer starts anew).
    const t0 = performance.now();
    await w.sleep(30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
    w.close();
  });
});
