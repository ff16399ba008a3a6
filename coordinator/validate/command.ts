import type { Command } from "commander";
import { formatGetPut, formatHotLine, formatValidation } from "./format.ts";
import { getPutTable, hotLineCurve, publishedRows } from "./validate.ts";
import { forkStormCurve, formatForkStorm } from "./fork-storm.ts";

/** Writer counts of the contended curves: within the first socket, each socket joining, all. */
export const XEON_WRITERS = [1, 2, 5, 10, 11, 15, 20, 21, 30, 40, 50, 60, 70, 80];
export const OPTERON_WRITERS = [1, 2, 3, 6, 7, 12, 13, 18, 24, 25, 36, 37, 48];
export const GET_PUT_CPUS = [1, 2, 4, 8, 10, 20, 40, 80];

/** `refsim validate`: every published comparison, then the curves the model predicts. */
export function validateCommand(): void {
  console.log("Published figures beside the model (cycles):\n");
  console.log(formatValidation(publishedRows()));
  console.log("\nhot-line: one counter, every writer increments it back to back (model output; no published contended figure calibrates it):\n");
  console.log(formatHotLine([...hotLineCurve("xeon-80", XEON_WRITERS), ...hotLineCurve("opteron-48", OPTERON_WRITERS)]));
  console.log("");
  console.log(formatGetPut("xeon-80", getPutTable("xeon-80", GET_PUT_CPUS)));
  console.log("\nfork-storm under kernel: linux-6 (model output; no published fork-scaling curve is entered yet). Ref share: the share of a fork's latency in the scheme's own namespace reference counting; lock wait share: the baseline's fork latency waiting for kernel locks:\n");
  console.log(formatForkStorm([...forkStormCurve("xeon-80", [1, 5, 10, 20, 40, 80]), ...forkStormCurve("opteron-48", [1, 6, 12, 24, 48])]));
}

/** Adds `refsim validate` to the CLI. */
export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("every published figure refsim compares itself with, beside the model's answer; then the contended curves it predicts")
    .action(() => validateCommand());
}
