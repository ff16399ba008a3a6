import { getHeapStatistics } from "node:v8";
import { estimateMemory, memoryRefusal, parseBytes } from "../shared/spec/memory-estimate.ts";
import { planRuns, type ResolvedSpec, type RunConfig } from "../shared/spec/resolve.ts";
import { UsageError } from "./usage-error.ts";

/**
 * The memory a run may be projected to need before refsim refuses it: --memory-limit, else
 * $REFSIM_MEMORY_LIMIT, else this process's V8 heap limit (a run past it would end in V8's
 * fatal out-of-memory error instead of a message).
 */
export function memoryLimit(option: string | undefined): number {
  const text = option ?? process.env.REFSIM_MEMORY_LIMIT;
  const where = option !== undefined ? "--memory-limit" : "REFSIM_MEMORY_LIMIT";
  if (text === undefined || text === "") return getHeapStatistics().heap_size_limit;
  const n = parseBytes(text);
  if (!(n >= 1)) throw new UsageError(`${where}: "${text}" is not a size (e.g. 4GiB, 512MiB, 2GB)`);
  return n;
}

/**
 * Refuses, before anything runs, a spec one of whose runs is projected to need more than
 * `limitBytes` in one process (with `partitions` workers each holds a share): a UsageError
 * naming the run, the estimate and the limit.
 */
export function checkProjectedMemory(spec: ResolvedSpec, partitions: number, limitBytes: number): void {
  let worst: RunConfig | null = null;
  let worstBytes = -1;
  for (const config of planRuns(spec)) {
    const bytes = estimateMemory(config, partitions).bytes;
    if (bytes > worstBytes) [worst, worstBytes] = [config, bytes];
  }
  const refusal = worst === null ? null : memoryRefusal(worst, partitions, limitBytes, spec.duration);
  if (refusal !== null) throw new UsageError(refusal);
}
