import { availableParallelism } from "node:os";
import { checkProjectedMemory, memoryLimit } from "../memory-limit.ts";
import { join } from "node:path";
import { SpecError } from "../../shared/engine/errors.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { codeVersion } from "../code-version.ts";
import { prepareOutDir } from "../out-dir.ts";
import { OutputError } from "../atomic-write.ts";
import { restoreCursor, watchInterrupts } from "../interrupt.ts";
import { InterruptedError, KeptError, sameOptions } from "../run-command.ts";
import { beginPartial, clearPartial, loadPartial, PARTIAL_DIR, readPartialState, savePartial } from "../run-state.ts";
import { UsageError } from "../usage-error.ts";
import { gate } from "../assertions.ts";
import { PointPool } from "./point-pool.ts";
import type { SweepProgress } from "./outcome.ts";
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
  memoryLimit?: string;
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

/** `refsim sweep [SPEC] [--cluster ...] [--workers N] [--out DIR] [--resume SWEEP_ID | DIR] [--quiet]` */
export async function sweepCommand(specFile: string | undefined, o: SweepOptions): Promise<void> {
  if (specFile === undefined && o.resume === undefined) throw new SpecError("", "give a sweep spec file (refsim sweep SPEC), --resume DIR (an interrupted sweep's folder), or --resume SWEEP_ID with --cluster");
  // As `refsim run`: the option, else the environment, else the local default.
  const redisUrl = o.redis ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const queue = o.queue ?? DEFAULT_POINT_QUEUE;
  const version = codeVersion();
  // Embedded, --resume names the folder of the sweep; on the cluster, the sweep's id.
  const resumeDir = o.resume !== undefined && !o.cluster ? o.resume : undefined;
  if (resumeDir !== undefined && o.out !== undefined) throw new UsageError(`--resume ${resumeDir} writes to ${resumeDir}: --out cannot change it`);
  let plan: SweepPlan;
  if (resumeDir !== undefined) {
    const state = readPartialState(resumeDir, "sweep", version);
    plan = loadSweep(state.spec as Record<string, unknown>, version);
    if (specFile !== undefined && loadSweep(readSpecFile(specFile), version).id !== plan.id) throw new UsageError(`${specFile} is not the sweep ${resumeDir} holds (${plan.id})`);
  } else if (specFile !== undefined) {
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
  // As `refsim run`: a point projected over the memory limit is refused before any runs.
  const limit = memoryLimit(o.memoryLimit);
  for (const p of plan.points) checkProjectedMemory(p.spec, p.distributed ? Math.max(1, workers) : 1, limit);
  const out = resumeDir ?? o.out ?? join("results", plan.id);
  prepareOutDir(out, { force: o.force, resume: o.resume !== undefined });
  // Every finished point is on disk as soon as it finishes (DIR/partial/<point id>.json).
  const earlier = new Map<string, PointOutcome>();
  if (resumeDir !== undefined) {
    const saved = loadPartial(out);
    for (const p of plan.points) {
      const r = saved.get(p.id);
      if (r !== undefined) earlier.set(p.id, { status: "done", result: r, earlier: true });
    }
  } else {
    clearPartial(out);
    beginPartial(out, { tool: "refsim", kind: "sweep", codeVersion: version, spec: plan.document, id: plan.id });
  }
  const continueWith = o.cluster
    ? `refsim sweep --cluster --resume ${plan.id}${sameOptions(["--nats", o.nats], ["--redis", o.redis], ["--queue", o.queue], ["--partition-queue", o.partitionQueue])}`
    : `refsim sweep --resume ${out}`;
  const shown = sweepProgress({ quiet: o.quiet === true, tty: process.stderr.isTTY === true });
  const outcomes = new Map<string, PointOutcome>(earlier);
  let writeFailure: KeptError | null = null;
  const interrupts = watchInterrupts();
  let stopSweep: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stopSweep = resolve));
  void interrupts.signalled.then(() => stopSweep());
  const progress: SweepProgress = {
    ...shown,
    point(p, outcome) {
      if (outcome.status === "done" && writeFailure === null) {
        try {
          savePartial(out, p.id, outcome.result);
        } catch (e) {
          if (!(e instanceof OutputError)) throw e;
          const kept = [...outcomes.values()].filter((x) => x.status === "done").length;
          writeFailure = new KeptError(`${e.message}; kept: ${kept} finished points in ${join(out, PARTIAL_DIR)} (${continueWith} continues once it can write)`);
          stopSweep();
        }
      }
      outcomes.set(p.id, outcome);
      shown.point(p, outcome);
    },
  };
  const distributed = plan.points.filter((p) => p.distributed).length;
  progress.note(
    `refsim ${version}: sweep ${plan.id} "${plan.name}": ${plan.points.length} points${distributed > 0 ? ` (${distributed} with more than ${plan.distributeAbove} CPUs distributed)` : ""}, ${o.cluster ? "on the cluster" : `embedded, ${Math.min(workers, plan.points.length)} thread(s)`}${earlier.size > 0 ? `; ${earlier.size} done before` : ""}`,
  );
  for (const s of plan.skipped) progress.note(`  ${s.machine} has fewer CPUs than ${s.cpus.join(", ")}: those points are left out for it`);
  const started = performance.now();
  const pool = o.cluster ? null : new PointPool(Math.max(1, Math.min(workers, plan.points.length - earlier.size)));
  let halted = false;
  try {
    const running = o.cluster
      ? runSweepOnCluster(plan, { redisUrl, queue, partitionQueue: o.partitionQueue, partitions: workers === 0 ? undefined : workers, progress })
      : runSweepEmbedded(plan, { workers, progress, pool: pool as PointPool, done: new Set(earlier.keys()), stopped: () => halted });
    // A cluster sweep also returns the points an earlier submission finished (their results are in
    // Redis and never pass through progress.point): they count as done here too.
    const returned = await Promise.race([running, stopped.then(() => null)]);
    if (returned !== null) for (const [id, outcome] of returned) if (!outcomes.has(id)) outcomes.set(id, outcome);
  } finally {
    halted = true;
    shown.stop();
    interrupts.dispose();
    await pool?.close();
  }
  const wallS = (performance.now() - started) / 1000;
  if (writeFailure !== null) throw writeFailure;
  const done = [...outcomes.values()].filter((x) => x.status === "done").length;
  const complete = outcomes.size === plan.points.length;
  const incomplete = complete ? undefined : { reason: interrupts.signal !== null ? `interrupted by ${interrupts.signal}` : "stopped", done, total: plan.points.length, continueWith };
  let files: ReturnType<typeof writeSweepResults>;
  try {
    files = writeSweepResults(out, plan, outcomes, incomplete);
  } catch (e) {
    if (e instanceof OutputError) throw new KeptError(`${e.message}; kept: ${done} finished points in ${join(out, PARTIAL_DIR)} (${continueWith} writes them)`);
    throw e;
  }
  // The report of the results written (the one call site); a failure to draw it loses no result.
  let report: string | null = null;
  if (files.doc.runs.length > 0) {
    try {
      report = await writeReport(out, files.doc);
    } catch (e) {
      process.stderr.write(`refsim: the report was not written: ${(e as Error).message}\n`);
    }
  }
  if (interrupts.signal !== null) {
    restoreCursor();
    throw new InterruptedError(
      `refsim: interrupted by ${interrupts.signal}: kept ${done} of ${plan.points.length} points in ${out}: results.json (marked incomplete), results.csv${report !== null ? ", report.html" : ""}\nrefsim: continue with: ${continueWith}`,
    );
  }
  const failed = failedPoints(plan, outcomes);
  if (failed.length === 0) clearPartial(out);
  if (!o.quiet) printSummary(plan, outcomes, files, report, wallS);
  if (failed.length > 0) {
    process.stderr.write(`refsim: ${failed.length} of ${plan.points.length} points of sweep ${plan.id} failed:\n`);
    for (const f of failed) process.stderr.write(`  ${f.id} ${f.point}: ${f.error}\n`);
    throw new SweepFailedError(`${failed.length} of ${plan.points.length} points failed; the ${done} that finished are kept; after fixing the cause, ${continueWith} runs the rest`);
  }
  // A broken invariant fails the command, so CI can gate on it.
  gate(files.doc.runs, [], () => {});
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
