import type { Command } from "commander";
import { formatGetPut, formatHotLine, formatRefcountBench, formatSources, formatValidation } from "./format.ts";
import { getPutTable, hotLineCurve, publishedRows, radixvmThinkPs, refcountBenchRows, RMWS_PER_ITERATION } from "./validate.ts";
import { forkStormCurve, forkStormPeaks, formatForkStorm } from "./fork-storm.ts";
import { formatPublishedProcess, PUBLISHED_PROCESS_CURVES, publishedProcessRows } from "./fork-published.ts";

/** Writer counts of the contended curves: within the first socket, each socket joining, all. */
export const XEON_WRITERS = [1, 2, 5, 10, 11, 15, 20, 21, 30, 40, 50, 60, 70, 80];
export const OPTERON_WRITERS = [1, 2, 3, 6, 7, 12, 13, 18, 24, 25, 36, 37, 48];
export const GET_PUT_CPUS = [1, 2, 4, 8, 10, 20, 40, 80];
/** fork-storm's CPU counts: one CPU, within the first socket, one socket, then sockets joining, all. */
export const FORK_XEON_CPUS = [1, 5, 10, 15, 20, 40, 80];
export const FORK_OPTERON_CPUS = [1, 6, 12, 18, 24, 48];

/** `refsim validate`: every published comparison, then the curves the model predicts. */
export function validateCommand(): void {
  console.log("Published figures beside the model (cycles):\n");
  const latency = publishedRows();
  console.log(formatValidation(latency));
  const bench = refcountBenchRows();
  console.log(
    `\nRadixVM's reference-counting microbenchmark (iterations/s of all cores; one iteration = 2 gets and 2 puts on one page's count) beside get-put on xeon-80 ` +
      `(shared counter = container, one refcount_t; two get-put operations per iteration, ${(radixvmThinkPs() / 1000).toFixed(1)} ns of think time each, from the 1-core input):\n`,
  );
  console.log(formatRefcountBench(bench));
  console.log(
    `\nhot-line: one counter, every writer increments it back to back. published: cycles per atomic that RadixVM's shared counter implies (1 / (${RMWS_PER_ITERATION} x iterations/s), ` +
      "the line saturated from 10 cores; E7-8870 at 2.4 GHz, in xeon-80's 2.13 GHz cycles); no contended figure was found for opteron-48:\n",
  );
  console.log(formatHotLine([...hotLineCurve("xeon-80", XEON_WRITERS), ...hotLineCurve("opteron-48", OPTERON_WRITERS)]));
  console.log("");
  console.log(formatGetPut("xeon-80", getPutTable("xeon-80", GET_PUT_CPUS)));
  console.log("\nfork-storm under kernel: linux-6, 2 ms (model output; no published fork-scaling curve of these machines was found). Ref share: the share of a fork's latency in the scheme's own namespace reference counting; lock wait share: the baseline's fork latency waiting for kernel locks, and the lock it waited for longest:\n");
  const forks = [...forkStormCurve("xeon-80", FORK_XEON_CPUS), ...forkStormCurve("opteron-48", FORK_OPTERON_CPUS)];
  console.log(formatForkStorm(forks));
  console.log("");
  for (const line of forkStormPeaks(forks)) console.log(line);
  console.log("\nPublished process-creation throughput against parallel copies, beside the linux-6 fork-storm on the closest preset (comparison only, nothing fitted):\n");
  for (const curve of PUBLISHED_PROCESS_CURVES) console.log(formatPublishedProcess(curve, publishedProcessRows(curve)));
  console.log("\nSources:");
  console.log(formatSources([...latency.map((r) => r.source), ...bench.map((r) => r.source)]));
}

/** Adds `refsim validate` to the CLI. */
export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("every published figure refsim compares itself with, beside the model's answer; then the contended curves it predicts")
    .action(() => validateCommand());
}
