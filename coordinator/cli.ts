import { Command, CommanderError, Option } from "commander";
import { printKernelPathCosts, printSlabSources } from "./kernel-path-costs.ts";
import { dirname, join } from "node:path";
import { SpecError, SimulationError } from "../shared/engine/errors.ts";
import { MACHINE_PRESETS, presetSources } from "../shared/machine/presets.ts";
import { totalCpus } from "../shared/machine/machine.ts";
import { WORKLOAD_PRESETS } from "../shared/workloads/presets.ts";
import { SCHEMES, SCHEME_NAMES } from "../shared/schemes/index.ts";
import { COST_SOURCES, DEFAULT_COSTS } from "../shared/kernel/costs.ts";
import { DEFAULT_VARIABLES, LINE_BYTES, VAR_SOURCES } from "../shared/container-vars/variables.ts";
import { parseSpec } from "../shared/spec/parse.ts";
import { resolveSpec } from "../shared/spec/resolve.ts";
import { experimentSeeds } from "../shared/spec/seeds.ts";
import { specJsonSchema } from "../shared/spec/spec.ts";
import { codeVersion } from "./code-version.ts";
import type { ExperimentResult } from "./experiment.ts";
import { existsSync, statSync } from "node:fs";
import type { RunResult } from "../shared/metrics/result.ts";
import { planRuns, type ResolvedSpec } from "../shared/spec/resolve.ts";
import { INTERRUPTED_EXIT_CODE, restoreCursor, watchInterrupts } from "./interrupt.ts";
import { PointPool } from "./sweep/point-pool.ts";
import { clearPartial, PARTIAL_DIR } from "./run-state.ts";
import { experimentOf, incompleteRun, InterruptedError, interruptedMessage, KeptError, RunLedger, runMissing, sameOptions, writeOutputs, type WrittenResults } from "./run-command.ts";
import { runInThreads } from "./threaded.ts";
import { distributionAdvice, RunProgress } from "./run-progress.ts";
import type { DistributedStats } from "./distributed.ts";
import { Cluster, DEFAULT_CHECKPOINT_SECONDS, DEFAULT_WAIT_WORKERS_MS, ResumeError, type RunDone } from "./cluster.ts";
import { newRunId } from "./run-id.ts";
import { runWorkerProcess } from "../worker/worker-process.ts";
import { sweepCommand, type SweepOptions } from "./sweep/command.ts";
import type { RunConfig } from "../shared/spec/resolve.ts";
import { defaultCpuList, parseCpuList, readSpecFile } from "./load-spec.ts";
import { freshDir, prepareOutDir } from "./out-dir.ts";
import { UsageError } from "./usage-error.ts";
import { checkProjectedMemory, memoryLimit } from "./memory-limit.ts";
import { gate, GateFailedError, parseAssertion, type Assertion } from "./assertions.ts";
import { findMachinePreset } from "../shared/machine/presets.ts";
import { formatTable, formatVerdict } from "./table.ts";
import { readResultsDocument, ResultsFileError, writeReport } from "./report/write-report.ts";
import { compareDocuments, formatComparison } from "./compare.ts";
import { describeMachineFile, readMachineFile, specMachineFiles } from "./machine-file.ts";
import { isMachineFilePath, MachineFileError } from "../shared/machine/machine-file.ts";
import { registerCalibrate } from "./calibrate/command.ts";
import { registerValidate } from "./validate/command.ts";
import { quietBrokenPipes } from "./quiet-pipe.ts";

/**
 * The default comparison of `npm start`: a machine with many sockets, where the schemes part
 * ways by mechanism. On 512 CPUs over 32 sockets every fork of clone-flags and nsproxy
 * increments shared counters whose lines cross the interconnect, and both saturate, while
 * percpu's counters stay on their CPUs and it scales like `none` (no counting at all). The 1-CPU
 * point gives the scaling efficiency; 2 ms keeps it above the low-sample mark (100 operations).
 * The kernel profile `refcounts-only` isolates the question refsim asks: with `linux-6` the
 * kernel's own fork path (tasklist_lock and the rest) saturates first and hides the schemes.
 */
export const DEFAULT_SPEC = {
  kernel: "refcounts-only",
  machine: "numa-4096",
  cpus: [1, 64, 512],
  workload: "fork-storm",
  schemes: ["none", "clone-flags", "nsproxy", "percpu"],
  duration: "2ms",
} as const;

interface RunOptions {
  spec?: string;
  workload?: string;
  machine?: string;
  cpus?: string;
  schemes?: string;
  seed?: string;
  seeds?: string;
  duration?: string;
  warmup?: string;
  namespaces?: string;
  layout?: string;
  out?: string;
  quiet?: boolean;
  force?: boolean;
  workers?: string;
  cluster?: boolean;
  nats?: string;
  redis?: string;
  queue?: string;
  checkpointEvery?: string;
  checkpointSeconds?: string;
  waitWorkers?: string;
  resume?: string;
  assert?: string[];
  memoryLimit?: string;
  /** The thresholds of --assert and the spec's `assert:`, parsed. */
  assertions?: Assertion[];
}


function buildSpecDocument(o: RunOptions): Record<string, unknown> {
  const doc: Record<string, unknown> = o.spec !== undefined ? readSpecFile(o.spec) : {};
  if (o.spec === undefined) Object.assign(doc, { ...DEFAULT_SPEC, cpus: [...DEFAULT_SPEC.cpus], schemes: [...DEFAULT_SPEC.schemes] });
  // Another machine or workload than the default's gets every scheme and that machine's CPU counts, as without defaults.
  if (o.spec === undefined && (o.machine !== undefined || o.workload !== undefined)) doc.schemes = "all";
  if (o.spec === undefined && (o.machine !== undefined || o.workload !== undefined)) {
    delete doc.kernel;
    if (o.duration === undefined) delete doc.duration;
  }
  if (o.workload !== undefined) doc.workload = o.workload;
  if (o.machine !== undefined) doc.machine = o.machine;
  if (o.cpus !== undefined) doc.cpus = parseCpuList(o.cpus);
  else if (o.spec === undefined && o.machine !== undefined) {
    // The default CPU counts follow the machine asked for: powers of two, and all of it.
    const machine = isMachineFilePath(o.machine) ? readMachineFile(o.machine).machine : findMachinePreset(o.machine);
    if (machine !== undefined) doc.cpus = defaultCpuList(totalCpus(machine));
  }
  if (o.schemes !== undefined) doc.schemes = o.schemes === "all" ? "all" : o.schemes.split(",").map((s) => s.trim());
  if (o.seed !== undefined) doc.seed = /^\d+$/.test(o.seed.trim()) ? Number(o.seed) : o.seed;
  if (o.seeds !== undefined) doc.seeds = /^\d+$/.test(o.seeds.trim()) ? Number(o.seeds) : o.seeds;
  if (o.duration !== undefined) doc.duration = o.duration;
  if (o.warmup !== undefined) doc.warmup = o.warmup;
  if (o.namespaces !== undefined) doc.namespaces = o.namespaces.includes(",") ? o.namespaces.split(",") : o.namespaces;
  if (o.layout !== undefined) doc.layout = o.layout;
  return doc;
}

/** NATS and Redis URLs from the options, else NATS_URL / REDIS_URL, else the local defaults. */
function serviceUrls(o: { nats?: string; redis?: string }): { natsUrl: string; redisUrl: string } {
  return {
    natsUrl: o.nats ?? process.env.NATS_URL ?? "nats://127.0.0.1:4222",
    redisUrl: o.redis ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  };
}

/** A whole number option within bounds, else a UsageError naming the option. */
function integerOption(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}: "${text}" is not a whole number from ${min} to ${max}`);
  return n;
}

interface WorkerOptions {
  nats?: string;
  redis?: string;
  queue?: string;
  pointsQueue?: string;
  stallMs?: string;
  slots?: string;
  redisExitAfter?: string;
  memoryLimit?: string;
}

async function workerCommand(o: WorkerOptions): Promise<void> {
  // Checked before anything connects: a malformed $REFSIM_MEMORY_LIMIT is a usage error here as for `run`.
  const memoryLimitBytes = memoryLimit(o.memoryLimit);
  const worker = await runWorkerProcess({
    memoryLimitBytes,
    ...serviceUrls(o),
    queue: o.queue,
    pointsQueue: o.pointsQueue,
    stallMs: integerOption("stall-ms", o.stallMs, 1000, 3_600_000),
    slots: integerOption("slots", o.slots, 1, 64),
    redisExitAfterMs: mapDefined(integerOption("redis-exit-after", o.redisExitAfter, 1, 86_400), (s) => s * 1000),
  });
  const onSignal = () => void worker.stop();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  await worker.stopped;
  const failure = worker.failure();
  if (failure !== null) {
    // Said already, in the worker's log; the exit code says it too. Whatever BullMQ still holds
    // open must not keep the process.
    setTimeout(() => process.exit(1), 3000).unref();
    throw new WorkerGaveUpError(failure.message);
  }
}

/** A worker that stopped because Redis stayed unreachable (--redis-exit-after): exit code 1, no second line. */
class WorkerGaveUpError extends Error {
  override readonly name = "WorkerGaveUpError";
}

function mapDefined<T, U>(v: T | undefined, f: (v: T) => U): U | undefined {
  return v === undefined ? undefined : f(v);
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-").replace(/-\d+Z$/, "Z");
}

function parseWorkers(text: string | undefined): number {
  if (text === undefined) return 1;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--workers: "${text}" is not a worker count from 1 to 64`);
  return n;
}

async function runCommand(o: RunOptions): Promise<void> {
  if (o.resume !== undefined) {
    if (existsSync(o.resume) && statSync(o.resume).isDirectory()) return resumeEmbedded(o.resume, o);
    return resumeCommand(o.resume, o);
  }
  const doc = buildSpecDocument(o);
  const assertions = [...(Array.isArray(doc.assert) ? doc.assert.map(String) : []), ...(o.assert ?? [])].map(parseAssertion);
  // A machine file is relative to the spec file that names it, or to the working directory for --machine.
  const spec = resolveSpec(parseSpec(doc), specMachineFiles(doc, o.machine === undefined && o.spec !== undefined ? dirname(o.spec) : process.cwd()));
  const workers = parseWorkers(o.workers);
  checkProjectedMemory(spec, workers, memoryLimit(o.memoryLimit));
  const checkpointEvery = integerOption("checkpoint-every", o.checkpointEvery, 0, 1e9);
  const checkpointSeconds = integerOption("checkpoint-seconds", o.checkpointSeconds, 0, 1e6);
  if ((checkpointEvery !== undefined || checkpointSeconds !== undefined) && !o.cluster) throw new UsageError("checkpoints need --cluster (they go to Redis)");
  // Where the results go is settled before anything runs: a run must not end with nowhere to write.
  const out = o.out ?? freshDir(join("results", timestamp()));
  prepareOutDir(out, { force: o.force });
  if (o.cluster) return clusterRun(spec, workers, out, { ...o, assertions }, { checkpointEvery, checkpointSeconds });
  clearPartial(out);
  await embeddedRun(RunLedger.begin(out, spec), workers, { ...o, assertions });
}

/**
 * The progress of a run command on stderr (not with --quiet): within each run in simulated
 * time, with an ETA; a bar on a terminal, else a plain line every few seconds.
 */
function runProgress(o: { quiet?: boolean }, spec: ResolvedSpec, done: Iterable<number>): RunProgress | null {
  if (o.quiet) return null;
  return new RunProgress(planRuns(spec), done, { interactive: process.stderr.isTTY === true, write: (t) => process.stderr.write(t), now: () => performance.now() });
}

/** Says once per command when distribution is slower than one process would be (distributionAdvice). */
function adviseOnce(progress: RunProgress | null, how: "cluster" | "threads"): (config: RunConfig, stats: DistributedStats, events: number) => void {
  let said = false;
  return (config, stats, events) => {
    if (said || progress === null) return;
    const advice = distributionAdvice(config, stats, events, how);
    if (advice === null) return;
    said = true;
    progress.note(advice);
  };
}

/**
 * An embedded run (one thread per run, or a run split over --workers threads): each finished run
 * is saved in DIR/partial/ at once; an interrupt writes what finished and says how to continue.
 */
async function embeddedRun(ledger: RunLedger, workers: number, o: RunOptions): Promise<void> {
  const { spec, out } = ledger;
  const started = performance.now();
  const interrupts = watchInterrupts();
  const progress = runProgress(o, spec, ledger.done.keys());
  const advise = adviseOnce(progress, "threads");
  // In a thread even alone, so a signal is heard while a run computes.
  const pool = workers === 1 ? new PointPool(1) : null;
  // A run with fewer CPUs than workers uses one worker per CPU; the results are the same either way.
  const runOne = async (i: number, config: RunConfig) => {
    progress?.begin(i);
    let result: RunResult;
    if (pool !== null) result = await pool.runConfig(spec, i, (ps) => progress?.simulated(i, ps));
    else {
      const out = await runInThreads(spec, i, Math.min(workers, config.cpuCount), { onProgress: (p) => progress?.windows(i, p) });
      advise(config, out.stats, out.result.engineEvents);
      result = out.result;
    }
    progress?.done(i);
    return result;
  };
  try {
    await runMissing(ledger, runOne, interrupts);
  } finally {
    progress?.stop();
    interrupts.dispose();
    void pool?.close();
  }
  const continueWith = `refsim run --resume ${out}`;
  const kept = `${ledger.done.size} of ${ledger.total} runs in ${join(out, PARTIAL_DIR)} (${continueWith} writes them)`;
  const result = experimentOf(spec, ledger.done);
  if (interrupts.signal !== null) {
    const incomplete = incompleteRun(interrupts.signal, ledger.done.size, ledger.total, continueWith);
    const files = ledger.done.size > 0 ? await writeOutputs(out, result, incomplete, kept) : null;
    throw new InterruptedError(interruptedMessage(interrupts.signal, `${ledger.done.size} of ${ledger.total} runs`, files, out, continueWith));
  }
  const files = await writeOutputs(out, result, undefined, kept);
  clearPartial(out);
  printRun(result, files, started, o);
}

/** `refsim run --resume DIR`: an interrupted embedded run, from the runs it had finished. */
async function resumeEmbedded(dir: string, o: RunOptions): Promise<void> {
  refuseChanges(dir, o);
  if (o.out !== undefined) throw new UsageError(`--resume ${dir} writes to ${dir}: --out cannot change it`);
  const ledger = RunLedger.resume(dir);
  if (!o.quiet) process.stderr.write(`refsim: resuming ${dir}: ${ledger.done.size} of ${ledger.total} runs done\n`);
  await embeddedRun(ledger, parseWorkers(o.workers), { ...o, assertions: (o.assert ?? []).map(parseAssertion) });
}

/** A cluster run: results kept in Redis as each run finishes; an interrupt writes what finished. */
async function clusterRun(spec: ResolvedSpec, workers: number, out: string, o: RunOptions, checkpoints: { checkpointEvery?: number; checkpointSeconds?: number }): Promise<void> {
  const started = performance.now();
  const cluster = await Cluster.connect({ ...serviceUrls(o), queue: o.queue, ...checkpoints, waitWorkersMs: waitWorkersMs(o), log: clusterLog(o) });
  const id = newRunId();
  if (!o.quiet) process.stderr.write(`refsim: cluster run ${id} (if this coordinator is lost: refsim run --resume ${id})\n`);
  await coordinateExperiment(cluster, id, spec, out, started, o, (onRun) => cluster.runExperiment(id, spec, workers, out, onRun));
}

/** Runs (or resumes) a cluster experiment; an interrupt writes the runs finished so far. */
async function coordinateExperiment(
  cluster: Cluster,
  id: string,
  spec: ResolvedSpec,
  out: string,
  started: number,
  o: RunOptions,
  go: (onRun: RunDone) => Promise<ExperimentResult>,
): Promise<void> {
  const done = new Map<number, RunResult>();
  const total = planRuns(spec).length;
  const interrupts = watchInterrupts();
  const progress = runProgress(o, spec, []);
  const advise = adviseOnce(progress, "cluster");
  cluster.watch = {
    begin: (i) => progress?.begin(i),
    windows: (i, p) => progress?.windows(i, p),
    stats: (_i, config, stats, r) => advise(config, stats, r.engineEvents),
  };
  let result: ExperimentResult | null = null;
  try {
    result = await Promise.race([
      go((_d, _t, _config, index, r) => {
        done.set(index, r);
        progress?.done(index);
      }),
      interrupts.signalled.then(() => null),
    ]);
  } finally {
    progress?.stop();
    interrupts.dispose();
    // Interrupted, the process exits without waiting for its connections; otherwise they close.
    if (interrupts.signal === null) await cluster.close();
  }
  const continueWith = `refsim run --resume ${id}${sameOptions(["--nats", o.nats], ["--redis", o.redis], ["--queue", o.queue])}`;
  const kept = (n: number) => `${n} of ${total} runs in Redis (${continueWith} writes them)`;
  if (result === null) {
    const signal = interrupts.signal ?? "SIGINT";
    // The runs finished at the signal: those reported here, and any stored in Redis before the
    // signal but not yet reported (one still in flight may finish while the files are written).
    const finished = new Map(done);
    for (const [index, r] of await cluster.storedRuns(id)) if (!finished.has(index)) finished.set(index, r);
    const incomplete = incompleteRun(signal, finished.size, total, continueWith);
    const files = finished.size > 0 ? await writeOutputs(out, experimentOf(spec, finished), incomplete, kept(finished.size)) : null;
    throw new InterruptedError(interruptedMessage(signal, `${finished.size} of ${total} runs`, files, out, continueWith));
  }
  printRun(result, await writeOutputs(out, result, undefined, kept(done.size)), started, o);
}

/** --wait-workers in ms (undefined: the default). */
function waitWorkersMs(o: { waitWorkers?: string }): number | undefined {
  const s = integerOption("wait-workers", o.waitWorkers, 1, 86_400);
  return s === undefined ? undefined : s * 1000;
}

/** Coordinator log lines (rollbacks, resumes) go to stderr unless --quiet. */
function clusterLog(o: { quiet?: boolean }): ((line: string) => void) | undefined {
  return o.quiet ? undefined : (line) => process.stderr.write(`${line}\n`);
}

/** Options that would change a run being resumed. */
function refuseChanges(what: string, o: RunOptions): void {
  for (const name of ["spec", "workload", "machine", "cpus", "schemes", "seed", "seeds", "duration", "warmup", "namespaces", "layout", "workers", "checkpointEvery", "checkpointSeconds"] as const) {
    if (o[name] !== undefined) throw new UsageError(`--resume continues run ${what} as it was started: --${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} cannot change it`);
  }
}

/** `refsim run --resume ID`: takes over a cluster run whose coordinator was lost. */
async function resumeCommand(id: string, o: RunOptions): Promise<void> {
  refuseChanges(id, o);
  const started = performance.now();
  const cluster = await Cluster.connect({ ...serviceUrls(o), queue: o.queue, waitWorkersMs: waitWorkersMs(o), log: clusterLog(o) });
  let record;
  try {
    record = await cluster.experiment(id);
  } catch (e) {
    await cluster.close();
    throw e;
  }
  if (!o.quiet) process.stderr.write(`refsim: resuming cluster run ${id}\n`);
  const out = o.out ?? record.out;
  prepareOutDir(out, { force: true });
  await coordinateExperiment(cluster, id, record.spec, out, started, { ...o, assertions: (o.assert ?? []).map(parseAssertion) }, (onRun) => cluster.resumeExperiment(id, onRun));
}

/** Prints an experiment's table and verdict, and where its files went. */
function printRun(result: ExperimentResult, files: WrittenResults, started: number, o: { quiet?: boolean; assertions?: Assertion[] }): void {
  try {
    if (!o.quiet) printTable(result, files, started);
  } finally {
    gate(result.runs, o.assertions ?? [], (text) => !o.quiet && console.log(`\n${text}`));
  }
}

function printTable(result: ExperimentResult, files: WrittenResults, started: number): void {
  const spec = result.spec;
  const doc = files.doc;
  const wallS = (performance.now() - started) / 1000;
  const events = result.runs.reduce((s, r) => s + r.engineEvents, 0);
  const seeds = spec.seeds !== undefined && spec.seeds > 1 ? `seeds ${experimentSeeds(spec.seed, spec.seeds).join(", ")}` : `seed ${spec.seed}`;
  console.log(`refsim ${doc.codeVersion}: ${spec.name}, ${seeds}, ${spec.duration} simulated (${spec.warmup} warm-up)`);
  console.log(`machine ${doc.machine.name}: ${doc.machine.summary}`);
  console.log(`workload ${doc.workload.name}: ${doc.workload.description}\n`);
  console.log(formatTable(result.runs));
  console.log(`\n${formatVerdict(doc.verdict)}\n`);
  console.log(`${result.runs.length} runs, ${events} events in ${wallS.toFixed(1)} s (${Math.round(events / wallS)} events/s)`);
  console.log(`wrote ${files.json}, ${files.csv}${files.report !== null ? ` and ${files.report}` : ""}`);
}

function presetsCommand(): void {
  console.log("Machines:");
  for (const m of MACHINE_PRESETS) {
    console.log(`  ${m.name.padEnd(12)} ${totalCpus(m)} CPUs  ${m.summary}`);
    for (const [label, source] of presetSources(m)) console.log(`  ${"".padEnd(12)} ${label}: ${source}`);
  }
  console.log("\nWorkloads:");
  for (const [name, w] of Object.entries(WORKLOAD_PRESETS)) console.log(`  ${name.padEnd(16)} ${w.description}`);
  console.log("\nSchemes:");
  for (const name of SCHEME_NAMES) console.log(`  ${name.padEnd(12)} ${SCHEMES[name].summary}\n  ${"".padEnd(12)} source: ${SCHEMES[name].source}`);
  console.log("\nOperation costs (defaults; override under `costs:` in a spec):");
  for (const [name, value] of Object.entries(DEFAULT_COSTS)) {
    console.log(`  ${name.padEnd(17)} ${value.padStart(6)}  ${COST_SOURCES[name as keyof typeof COST_SOURCES]}`);
  }
  printKernelPathCosts();
  printSlabSources();
  console.log("\nPer-container variables (defaults; override under `vars:` in a spec):");
  for (const v of DEFAULT_VARIABLES) console.log(`  ${v.name.padEnd(17)} ${`${v.class} ${v.bytes} B`.padStart(11)}  ${VAR_SOURCES[v.name]}`);
  console.log(`  ${"line size".padEnd(17)} ${`${LINE_BYTES} B`.padStart(11)}  ${VAR_SOURCES.lineBytes}`);
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("refsim")
    .description("Simulates how the cost of reference counting for namespaces and containers grows with the number of CPUs")
    .version(`refsim ${codeVersion()}`, "-V, --version", "print refsim's version (package version + a digest of the model's code)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command("run")
    .description("run every scheme at every CPU count of an experiment, in this process; print a table and a verdict")
    .option("--spec <file>", "experiment spec (YAML or JSON); the options below override its fields")
    .option("--workload <name>", `workload preset (${Object.keys(WORKLOAD_PRESETS).join(", ")})`)
    .option("--machine <name>", `machine preset (${MACHINE_PRESETS.map((m) => m.name).join(", ")}), or a machine file (FILE.json, see refsim calibrate)`)
    .option("--cpus <list>", 'CPU counts: "1,2,4", a range "1-80" (every count), steps "1-80:x2" (1,2,4..64) or "8-80:+8"; default: powers of two and the whole machine')
    .option("--schemes <list>", `"all" or a comma list of ${SCHEME_NAMES.join(", ")}`)
    .option("--seed <n>", "experiment seed")
    .option("--seeds <n>", "repeat every scheme and CPU count with n seeds (the first is --seed, the others derived from it): the table shows means with 95% intervals")
    .option("--duration <time>", 'simulated duration, e.g. "2ms"')
    .option("--warmup <time>", 'warm-up excluded from the metrics, e.g. "200us"')
    .option("--namespaces <set>", 'namespace kinds: "linux", "linux-2006" or a comma list')
    .addOption(new Option("--layout <layout>", "refcount on its own line, or sharing the read-mostly fields' line").choices(["separate", "shared"]))
    .option("--out <dir>", "output folder (default results/<timestamp>/); checked before anything runs")
    .option("--force", "overwrite a --out folder that already holds files")
    .option("--quiet", "print nothing; only write the results")
    .option("--workers <n>", "split each run over n workers: threads, or worker processes with --cluster (same results)")
    .option("--cluster", "run on refsim workers over NATS and Redis (see `refsim worker`)")
    .option("--nats <url>", "NATS server (default $NATS_URL or nats://127.0.0.1:4222); nats://user:pass@host:port or ?token=")
    .option("--redis <url>", "Redis server (default $REDIS_URL or redis://127.0.0.1:6379); redis://user:pass@host:port, rediss:// for TLS")
    .option("--queue <name>", "BullMQ queue of partition jobs (default refsim-partitions)")
    .option("--checkpoint-seconds <s>", `with --cluster: the workers save their partitions to Redis about every s seconds (default ${DEFAULT_CHECKPOINT_SECONDS}; 0: never)`)
    .option("--checkpoint-every <windows>", "with --cluster: save every this many windows instead")
    .option("--assert <threshold>", "fail (exit 1) unless the results meet it: '<scheme>.<metric>@<cpus> <op> <number>' (metrics: ops, eff, atomics, xfers, total-ops, vs-clone-flags, vs-none); repeatable", (v: string, all: string[] = []) => [...all, v])
    .option("--wait-workers <s>", `with --cluster: give up when workers have not taken every partition after s seconds (default ${DEFAULT_WAIT_WORKERS_MS / 1000})`)
    .option("--resume <id>", "take over cluster run <id> after its coordinator was lost: from the newest checkpoint, with the same results")
    .option("--memory-limit <size>", "refuse a run projected to need more memory per process than this, e.g. 8GiB (default $REFSIM_MEMORY_LIMIT, else the V8 heap limit)")
    .action(async (o: RunOptions) => runCommand(o));
  program
    .command("worker")
    .description("a long-running worker: takes partition jobs from BullMQ and runs them over NATS until SIGTERM")
    .option("--nats <url>", "NATS server (default $NATS_URL or nats://127.0.0.1:4222)")
    .option("--redis <url>", "Redis server (default $REDIS_URL or redis://127.0.0.1:6379)")
    .option("--queue <name>", "BullMQ queue of partition jobs (default refsim-partitions)")
    .option("--points-queue <name>", "BullMQ queue of sweep points (default refsim-points)")
    .option("--stall-ms <ms>", "how long a silent worker keeps its partition job before another worker takes it (default 15000)")
    .option("--slots <n>", "partition jobs at once: a second one is taken over from a lost worker (default 2)")
    .option("--redis-exit-after <s>", "exit (code 1) once Redis has been unreachable for s seconds, at start-up or later (default: keep retrying, a line a minute)")
    .option("--memory-limit <size>", "refuse a partition projected to need more memory than this, e.g. 8GiB (default $REFSIM_MEMORY_LIMIT, else the V8 heap limit)")
    .action(async (o: WorkerOptions) => workerCommand(o));
  program
    .command("sweep")
    .description("run every point (machine x workload x scheme x CPUs x seed) of a sweep spec, in this process or on the cluster")
    .argument("[spec]", "sweep spec (YAML or JSON); optional with --resume")
    .option("--cluster", "put the points on the BullMQ points queue for refsim workers (see `refsim worker`)")
    .option("--nats <url>", "accepted as by refsim run, unused: workers coordinate distributed points over their own --nats")
    .option("--redis <url>", "Redis server (default $REDIS_URL or redis://127.0.0.1:6379)")
    .option("--queue <name>", "BullMQ queue of sweep points (default refsim-points)")
    .option("--partition-queue <name>", "BullMQ queue of partition jobs for distributed points (default refsim-partitions)")
    .option("--workers <n>", "points at a time in worker threads (default: the available CPUs); with --cluster, partitions of a distributed point (default: the workers listening)")
    .option("--out <dir>", "output folder (default results/<sweep id>/); checked before anything runs")
    .option("--force", "overwrite a --out folder that already holds files")
    .option("--resume <id>", "continue sweep <id> on the cluster: points done are not run again")
    .option("--quiet", "print nothing but failures; only write the results")
    .option("--memory-limit <size>", "refuse a sweep with a point projected to need more memory than this, e.g. 8GiB (default $REFSIM_MEMORY_LIMIT, else the V8 heap limit)")
    .action(async (spec: string | undefined, o: SweepOptions) => sweepCommand(spec, o));
  program
    .command("report")
    .description("write DIR/report.html (charts, table, verdict; opens offline) from DIR/results.json")
    .argument("<dir>", "a folder written by refsim run")
    .action(async (dir: string) => console.log(`wrote ${await writeReport(dir)}`));
  program
    .command("compare")
    .description("print the throughput of two result folders side by side, per scheme and CPU count, with 95% intervals over seeds")
    .argument("<a>", "a folder written by refsim run or sweep")
    .argument("<b>", "another one")
    .action((a: string, b: string) => console.log(formatComparison(compareDocuments(readResultsDocument(a), readResultsDocument(b)), { a, b })));
  program
    .command("presets")
    .description("list machines, workloads, schemes and operation costs, with their sources")
    .option("--machine <file>", "instead: a machine file's values and the source of each (see refsim calibrate)")
    .action((o: { machine?: string }) => (o.machine !== undefined ? console.log(describeMachineFile(o.machine)) : presetsCommand()));
  program
    .command("schema")
    .description("print the JSON Schema of an experiment spec")
    .action(() => console.log(JSON.stringify(specJsonSchema(), null, 2)));
  registerCalibrate(program);
  registerValidate(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof InterruptedError) {
      process.stderr.write(`${e.message}\n`);
      // Threads and connections of the run that was stopped are not waited for.
      process.exit(INTERRUPTED_EXIT_CODE);
    }
    if (e instanceof WorkerGaveUpError) return 1;
    if (e instanceof GateFailedError) {
      process.stderr.write(`refsim: ${e.message}\n`);
      return 1;
    }
    if (e instanceof KeptError) {
      restoreCursor();
      process.stderr.write(`refsim: ${e.message}\n`);
      return 1;
    }
    if (e instanceof SpecError) {
      process.stderr.write(`refsim: invalid spec\n${e.message.replace(/^/gm, "  ")}\n`);
      return 2;
    }
    if (e instanceof ResultsFileError || e instanceof ResumeError || e instanceof UsageError || e instanceof MachineFileError) {
      process.stderr.write(`refsim: ${e.message}\n`);
      return 2;
    }
    if (e instanceof SimulationError) {
      process.stderr.write(`refsim: simulation failed: ${e.message}\n`);
      return 1;
    }
    // Anything else (a lost server, a failed run): one clear line, the stack only on request.
    const err = e as Error;
    const plain = err.name === "Error" || err.name === "ConnectError" || err.name === "RunAbortedError";
    process.stderr.write(`refsim: ${plain ? "" : `${err.name}: `}${err.message}\n`);
    if (process.env.REFSIM_DEBUG) process.stderr.write(`${err.stack ?? ""}\n`);
    return 1;
  }
}

quietBrokenPipes();
process.exitCode = await main(process.argv.slice(2));
