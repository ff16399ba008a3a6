import { describe, expect, it } from "vitest";
import { parseSpec } from "../../shared/spec/parse.ts";
import { resolveSpec } from "../../shared/spec/resolve.ts";
import { MemoryCheckpointStore } from "../../worker/checkpoint-store.ts";
import { runInProcess } from "../support/in-process-run.ts";

// A cluster experiment keeps each run's result in Redis, and the run's partition reports leave
// Redis once it is over. A coordinator stopped between the two (Ctrl-C while a run finishes) left
// neither before: `--resume` then found the run marked finished without its reports ("nothing to
// resume"), as CI once saw in cluster-interrupt. The result is now kept first.

const SPEC = resolveSpec(parseSpec({ machine: "small-4", cpus: [4], schemes: ["percpu"], workload: "migration", duration: "40us", warmup: "4us" }));

describe("a distributed run's end", () => {
  it("keeps the merged result before the store lets the partitions' reports go", async () => {
    const store = new MemoryCheckpointStore();
    const order: string[] = [];
    const finish = store.finish.bind(store);
    store.finish = async (run: string) => {
      order.push(`finish with ${(await store.reports(run)).size} reports held`);
      await finish(run);
    };
    let run = "";
    const out = await runInProcess(SPEC, 0, 2, {
      store,
      onStarted: (job) => (run = job.run),
      persist: async (r) => {
        order.push(`persist ${r.totalOps} operations, ${(await store.reports(run)).size} reports held`);
      },
    });
    expect(order).toEqual([`persist ${out.result.totalOps} operations, 2 reports held`, "finish with 2 reports held"]);
    expect((await store.reports(out.run)).size).toBe(0);
  });
});
