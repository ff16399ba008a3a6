import { decodeCheckpoint, encodeCheckpoint } from "../shared/protocol/checkpoint.ts";
import { Machine } from "../shared/machine/machine.ts";
import { Partition } from "../shared/protocol/partition.ts";
import { socketAligned } from "../shared/protocol/partitioning.ts";
import { parseSpec } from "../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../shared/spec/resolve.ts";

const fmt = (v: number, digits = 0) => v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** What a checkpoint costs: encode and decode time and size, for one partition mid-run. */
export function checkpointBench(): void {
  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    ["(a) dense 1024-CPU fork-storm, one of 2 partitions", { machine: "numa-4096", cpus: [1024], schemes: ["nsproxy"], workload: "fork-storm", duration: "100us", warmup: "10us" }, 2, "50us"],
    [
      "numa-4096 scale run, 102,400 tasks in 10,000 containers, whole machine",
      {
        machine: "numa-4096",
        cpus: [4096],
        schemes: ["nsproxy"],
        duration: "1ms",
        warmup: "100us",
        workload: { preset: "fork-storm", tasksPerCpu: 25, containers: { count: 10000, nesting: 0, pinToSockets: true } },
      },
      1,
      "200us",
    ],
  ];
  for (const [label, doc, partitions, at] of cases) {
    const spec = resolveSpec(parseSpec(doc));
    const config = planRuns(spec)[0];
    const own = socketAligned(new Machine(config.machine, config.cpuCount), partitions);
    const p = new Partition(config, own, 0);
    p.start();
    p.runUntil(planRuns(resolveSpec(parseSpec({ ...doc, duration: at })))[0].durationPs);
    const t0 = performance.now();
    const bytes = encodeCheckpoint(p);
    const t1 = performance.now();
    decodeCheckpoint(bytes, config, own, 0);
    const t2 = performance.now();
    console.log(
      `  ${label}, at ${at}: ${fmt(bytes.byteLength / 1024)} KiB, encode ${fmt(t1 - t0, 1)} ms, restore ${fmt(t2 - t1, 1)} ms (a fresh partition built from the spec included)`,
    );
  }
}
