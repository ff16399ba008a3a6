import { describe, expect, it } from "vitest";
import { Wakeup } from "../../worker/wakeup.ts";

describe("Wakeup: the protocol loops' sleep", () => {
  // No upper bounds on time here: a sleeper that is never woken runs into the test's timeout.
  it("wakes at notify, long before its limit", async () => {
    const w = new Wakeup();
    const slept = w.sleep(60_000);
    setTimeout(() => w.notify(), 5);
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
