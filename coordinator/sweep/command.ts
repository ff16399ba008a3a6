import { availableParallelism } from "node:os";
import { join } from "node:path";
import { SpecError } from "../../shared/engine/errors.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { codeVersion } from "../code-version.ts";
import { prepareOutDir } from "../out-dir.ts";
import { readSpecFile } from "../load-spec.ts";
import { writeReport } from "../report/write-report.ts";
import { formatTable, formatVerdict } from "../table.ts";
import { runSweepOnCluster, loadStoredSweep } from "./cluster-sweep.ts";
import { runSweepEmbedded } from "./embedded.ts";
import { DEFAULT_POINT_QUEUE } from "./keys.ts";
import type { PointOutcome } from "./outcome.ts";
import { loadSweep, type SweepPlan } from "./points.ts";
import { sweepProgress } from "./progress.ts";
import { failedPoints, writeSweepResults } from "./output.ts";

export interface SweepOptions {
  cluster?: boolean;
  nats?: string;
  redis?: string;
  queue?: string;
  partitionQueue?: string;
  workers?: string;
  out?: string;
  resume?: string;
  quiet?: boolean;
  force?: boolean;
}

/** Some points of a sweep failed (they are listed on stderr and in results.json): exit code 1. */
export class SweepFailedError extends Error {
  override readonly name = "SweepFailedError";
}

function parseCount(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new SpecError("workers", `"${text}" is not a worker count between 1 and 1024`);
  return n;
}

/** `refsim sweep [SPEC] [--cluster ...] [--workers N] [--out DIR] [--resume SWEEP_ID] [--quiet]` */
export async function sweepCommand(specFile: string | undefined, o: SweepOptions): Promise<void> {
  if (specFile === undefined && o.resume === undefined) throw new SpecError("", "give a sweep spec file (refsim sweep SPEC), or --resume SWEEP_ID with --cluster");
  if (o.resume !== undefined && !o.cluster) throw new SpecError("resume", "--resume needs --cluster: an embedded sweep keeps nothing between runs (run it again instead)");
  // As `refsim run`: the option, else the environment, else the local default.
  const redisUrl = o.redis ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const queue = o.queue ?? DEFAULT_POINT_QUEUE;
  const version = codeVersion();
  let plan: SweepPlan;
  if (specFile !== undefined) {
    plan = loadSweep(readSpecFile(specFile), version);
    if (o.resume !== undefined && o.resume !== plan.id) throw new SpecError("resume", `${specFile} is sweep ${plan.id}, not ${o.resume}`);
  } else {
    const id = o.resume as string;
    const stored = await loadStoredSweep(redisUrl, queue, id);
    if (stored === null) throw new SpecError("resume", `no sweep ${id} on queue ${queue}`);
    if (stored.codeVersion !== version) {
      throw new SpecError("resume", `sweep ${id} was planned with refsim ${stored.codeVersion}, this is ${version}: its points would not be the same (submit its spec again)`);
    }
    plan = loadSweep(stored.document, version);
    if (plan.id !== id) throw new SpecError("resume", `the stored spec of sweep ${id} plans sweep ${plan.id}`);
  }
  const workers = parseCount(o.workers, o.cluster ? 0 : availableParallelism());
  const out = o.out ?? join("results", plan.id);
  prepareOutDir(out, { force: o.force, resume: o.resume !== undefined });
  const progress = sweepProgress({ quiet: o.quiet === true, tty: process.stderr.isTTY === true });
  const distributed = plan.points.filter((p) => p.distributed).length;
  progress.note(
    `refsim ${version}: sweep ${plan.id} "${plan.name}": ${plan.points.length} points${distributed > 0 ? ` (${distributed} with more than ${plan.distributeAbove} CPUs distributed)` : ""}, ${o.cluster ? "on the cluster" : `embedded, ${Math.min(workers, plan.points.length)} thread(s)`}`,
  );
  for (const s of plan.skipped) progress.note(`  ${s.machine} has fewer CPUs than ${s.cpus.join(", ")}: those points are left out for it`);
  const started = performance.now();
  const outcomes = o.cluster
    ? await runSweepOnCluster(plan, { redisUrl, queue, partitionQueue: o.partitionQueue, partitions: workers === 0 ? undefined : workers, progress })
    : await runSweepEmbedded(plan, { workers, progress });
  const wallS = (performance.now() - started) / 1000;
  const files = writeSweepResults(out, plan, outcomes);
  // The report of the results written (the one call site); a failure to draw it loses no result.
  let report: string | null = null;
  if (files.doc.runs.length > 0) {
    try {
      report = await writeReport(out, files.doc);
    } catch (e) {
      process.stderr.write(`refsim: the report was not written: ${(e as Error).message}\n`);
    }
  }
  const failed = failedPoints(plan, outcomes);
  if (!o.quiet) printSummary(plan, outcomes, files, report, wallS);
  if (failed.length > 0) {
    process.stderr.write(`refsim: ${failed.length} of ${plan.points.length} points of sweep ${plan.id} failed:\n`);
    for (const f of failed) process.stderr.write(`  ${f.id} ${f.point}: ${f.error}\n`);
    throw new SweepFailedError(`${failed.length} of ${plan.points.length} points failed${o.cluster ? `; after fixing the cause, refsim sweep --cluster --resume ${plan.id} runs them again` : ""}`);
  }
}

function printSummary(plan: SweepPlan, outcomes: ReadonlyMap<string, PointOutcome>, files: ReturnType<typeof writeSweepResults>, report: string | null, wallS: number): void {
  const runs = files.doc.runs;
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const key = `${r.machine}, ${r.workload}, seed ${r.seed}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, group] of groups) console.log(`${groups.size > 1 ? `${key}:\n` : ""}${formatTable(group)}\n`);
  if (runs.length > 0) console.log(`${formatVerdict(files.doc.verdict)}\n`);
  let earlier = 0;
  let failed = 0;
  for (const o of outcomes.values()) {
    if (o.status === "done" && o.earlier) earlier++;
    if (o.status === "failed") failed++;
  }
  const events = runs.reduce((s, r) => s + r.engineEvents, 0);
  console.log(
    `sweep ${plan.id}: ${plan.points.length} points, ${runs.length} done${earlier > 0 ? ` (${earlier} earlier)` : ""}, ${failed} failed, in ${wallS.toFixed(1)} s; ${events} events`,
  );
  console.log(`wrote ${files.json}, ${files.csv}${report !== null ? ` and ${report}` : ""}`);
}
