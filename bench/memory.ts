import { parseSpec } from "../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../shared/spec/resolve.ts";
import { Simulation } from "../shared/simulation.ts";

/**
 * Memory over simulated time: the same fork-storm run 10 and 100 ms long, with memory reuse
 * (linux-6), without it (refcounts-only, where retired memory is reclaimed at reclaim
 * boundaries), and without it with a new UTS namespace on every fork (freed namespaces and
 * bundles to reclaim too): the object table's largest size along the run (sampled 200 times),
 * and the heap (plus array buffers) the run's state holds after it and a full GC. Needs
 * --expose-gc (npm run bench passes it).
 */
export function memoryBench(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    console.log("memory: skipped (run with node --expose-gc)");
    return;
  }
  const cases = [
    ["linux-6", [], ""],
    ["refcounts-only", [], ""],
    ["refcounts-only", ["uts"], ", a new UTS namespace on every fork"],
  ] as const;
  for (const [kernel, newNamespaces, what] of cases) {
    const parts: string[] = [];
    for (const duration of ["10ms", "100ms"]) {
      const config = planRuns(resolveSpec(parseSpec({ machine: "small-4", cpus: [4], schemes: ["nsproxy"], workload: { preset: "fork-storm", fork: { newNamespaces: [...newNamespaces] } }, duration, warmup: "200us", kernel })))[0];
      gc();
      const before = process.memoryUsage();
      const sim = new Simulation(config);
      let peak = 0;
      const r = sim.run(() => {
        peak = Math.max(peak, sim.kernel.objects.size);
      });
      gc();
      const after = process.memoryUsage();
      const mib = (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / 2 ** 20;
      parts.push(`${duration}: ${r.totalOps.toLocaleString("en-US")} ops, at most ${peak.toLocaleString("en-US")} object records, ${sim.kernel.objects.size.toLocaleString("en-US")} at the end, ${mib.toFixed(1)} MiB held`);
      void sim;
    }
    console.log(`fork-storm${what}, nsproxy on small-4 x 4, kernel ${kernel}: ${parts.join("; ")}`);
  }
}
