import { describe, expect, it } from "vitest";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";
import { MemoryCheckpointStore } from "../../worker/checkpoint-store.ts";
import { newRunSecret, runPrefix } from "../../coordinator/run-id.ts";
import { runPartition } from "../../worker/partition-runner.ts";
import { MemoryBus } from "../../worker/transport/memory.ts";
import { dieAtWindow, faultOnFirstStep, loseAndReconnect, runInProcess } from "../support/in-process-run.ts";

/** Cross-CPU forks and migrations on two sockets, so events really cross partitions. */
const SPEC = resolveSpec(
  parseSpec({ machine: "xeon-80", cpus: [24], schemes: ["nsproxy"], workload: { preset: "migration", fork: { placement: "random" } }, duration: "250us", warmup: "25us" }),
);
const EMBEDDED = JSON.stringify(simulate(planRuns(SPEC)[0]));

describe("a distributed run that loses a worker or messages (in process)", () => {
  it("rolls every partition back to the newest complete checkpoint when one dies, and gives the same answer", async () => {
    const store = new MemoryCheckpointStore();
    const death = dieAtWindow(1, 45);
    const out = await runInProcess(SPEC, 0, 3, { store, checkpointEvery: 10, wrap: death.wrap });
    expect(death.died()).toBe(true);
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    expect(out.stats.epochs).toBe(2);
    expect(out.stats.rollbacks).toEqual(["partition 1 restarted (incarnation 2)"]);
    // Windows 9, 19, 29 and 39 were saved before the death at 45: the run went back to 39.
    expect(out.logs).toContain("coordinator: epoch 2 starts from checkpoint 39");
    expect(out.runnerStats.reduce((s, r) => s + r.rollbacks, 0)).toBe(2);
  });

  it("goes back to the beginning when there is no checkpoint store", async () => {
    const death = dieAtWindow(0, 12);
    const out = await runInProcess(SPEC, 0, 2, { wrap: death.wrap });
    expect(death.died()).toBe(true);
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    expect(out.stats.epochs).toBe(2);
    expect(out.logs).toContain("coordinator: epoch 1 starts from the beginning");
  });

  it("rolls back when a partition's connection dropped and a message was lost", async () => {
    const store = new MemoryCheckpointStore();
    const blip = loseAndReconnect(2, 33);
    const out = await runInProcess(SPEC, 0, 3, { store, checkpointEvery: 8, wrap: blip.wrap });
    expect(blip.fired()).toBe(true);
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    expect(out.stats.epochs).toBeGreaterThanOrEqual(2);
    expect(out.stats.rollbacks[0]).toMatch(/^partition 2: the connection to the server dropped/);
    expect(out.logs).toContain("coordinator: epoch 2 starts from checkpoint 31");
  });

  it("still stops with the counts error when a message is lost without any connection drop", async () => {
    const drop = faultOnFirstStep(1, () => {});
    await expect(runInProcess(SPEC, 0, 2, { wrap: drop.wrap, store: new MemoryCheckpointStore(), checkpointEvery: 5 })).rejects.toThrow(/never reached partition/);
  });

  it("agrees at the barriers on checkpoints by wall-clock time: every partition saves the same windows", async () => {
    const store = new MemoryCheckpointStore();
    const out = await runInProcess(SPEC, 0, 3, { store, checkpointSeconds: 0.05 });
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    const saved = out.runnerStats.map((r) => r.checkpoints);
    expect(saved[0]).toBeGreaterThan(0);
    expect(new Set(saved).size).toBe(1);
    // Each was completed by all three partitions (a disagreement would leave them incomplete).
    expect(store.lastComplete(out.run)).toBeGreaterThan(0);
  });

  it("saves a checkpoint every M windows and gives the same answer", async () => {
    const store = new MemoryCheckpointStore();
    const out = await runInProcess(SPEC, 0, 3, { store, checkpointEvery: 7 });
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    const windows = out.stats.windows;
    for (const r of out.runnerStats) expect(r.checkpoints).toBe(Math.floor((windows - 1) / 7));
    expect(out.stats.epochs).toBe(1);
  });

  it("a partition job that starts after its run finished (a stalled job run again) leaves at once", async () => {
    const store = new MemoryCheckpointStore();
    const out = await runInProcess(SPEC, 0, 2, { store });
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    const logs: string[] = [];
    const late = new MemoryBus().connect();
    // Without the run's finished mark it would wait for a start until its timeout, then fail.
    const stats = await runPartition(late, { run: out.run, prefix: runPrefix(out.run), secret: newRunSecret(), spec: SPEC, runIndex: 0, partitions: 2, partition: 1 }, { store, timeoutMs: 60_000, log: (l) => logs.push(l) });
    expect(stats.windows).toBe(0);
    expect(logs).toEqual(["partition 1 (incarnation 2): the run had finished before this incarnation started; leaving"]);
    await late.close();
  });
});
