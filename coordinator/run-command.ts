import { join } from "node:path";
import type { RunResult } from "../shared/metrics/result.ts";
import { planRuns, type ResolvedSpec, type RunConfig } from "../shared/spec/resolve.ts";
import { OutputError } from "./atomic-write.ts";
import { codeVersion } from "./code-version.ts";
import { fillScalingEfficiency, type ExperimentResult } from "./experiment.ts";
import { challengeEvidence } from "./challenge.ts";
import { restoreCursor, type Interrupts } from "./interrupt.ts";
import { resultsDocument, writeResults, type Incomplete, type ResultsDocument } from "./output.ts";
import { writeReport } from "./report/write-report.ts";
import { beginPartial, clearPartial, loadPartial, PARTIAL_DIR, readPartialState, savePartial } from "./run-state.ts";

/** A command stopped by SIGINT or SIGTERM after keeping what finished: exit code 130. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
}

/** The results could not be written (a full disk...): the message says what was kept, exit code 1. */
export class KeptError extends Error {
  override readonly name = "KeptError";
}

const runKey = (i: number) => `run-${i}`;

/** The experiment of the runs done so far, in plan order, with scaling efficiency over them. */
export function experimentOf(spec: ResolvedSpec, done: ReadonlyMap<number, RunResult>): ExperimentResult {
  const runs: RunResult[] = [];
  planRuns(spec).forEach((_, i) => {
    const r = done.get(i);
    if (r !== undefined) runs.push(structuredClone(r));
  });
  fillScalingEfficiency(runs);
  return { spec, runs };
}

/** An embedded run's state in its --out folder: the spec, and each run as it finishes. */
export class RunLedger {
  readonly done = new Map<number, RunResult>();

  private constructor(
    readonly out: string,
    readonly spec: ResolvedSpec,
  ) {}

  /** A new run: DIR/partial/ records the spec. */
  static begin(out: string, spec: ResolvedSpec): RunLedger {
    beginPartial(out, { tool: "refsim", kind: "run", codeVersion: codeVersion(), spec });
    return new RunLedger(out, spec);
  }

  /** `refsim run --resume DIR`: the spec and the runs that finished before. */
  static resume(out: string): RunLedger {
    const state = readPartialState(out, "run", codeVersion());
    const ledger = new RunLedger(out, state.spec as ResolvedSpec);
    for (const [key, result] of loadPartial(out)) {
      const m = /^run-(\d+)$/.exec(key);
      if (m !== null) ledger.done.set(Number(m[1]), result);
    }
    return ledger;
  }

  get total(): number {
    return planRuns(this.spec).length;
  }

  /** Records a finished run, on disk first. */
  save(index: number, result: RunResult): void {
    try {
      savePartial(this.out, runKey(index), result);
    } catch (e) {
      if (e instanceof OutputError) throw new KeptError(`${e.message}; kept: ${this.done.size} of ${this.total} runs in ${join(this.out, PARTIAL_DIR)} (refsim run --resume ${this.out} continues once it can write)`);
      throw e;
    }
    this.done.set(index, result);
  }
}

/**
 * Runs every configuration of the ledger's spec that is not done yet, one after another,
 * saving each as it finishes. Stops at the first interrupt (the run in progress is dropped).
 */
export async function runMissing(
  ledger: RunLedger,
  runOne: (index: number, config: RunConfig) => Promise<RunResult>,
  interrupts: Interrupts,
  onRun?: (done: number, total: number, config: RunConfig) => void,
): Promise<void> {
  const plan = planRuns(ledger.spec);
  const stop = interrupts.signalled.then(() => null);
  for (let i = 0; i < plan.length; i++) {
    if (ledger.done.has(i)) continue;
    const result = await Promise.race([runOne(i, plan[i]), stop]);
    if (result === null) return;
    ledger.save(i, result);
    onRun?.(ledger.done.size, plan.length, plan[i]);
  }
}

export interface WrittenResults {
  doc: ResultsDocument;
  json: string;
  csv: string;
  report: string | null;
}

/**
 * Writes results.json, results.csv and report.html of what finished (marked incomplete when
 * something is missing). `kept` says, for an error, where the finished runs still are.
 */
export async function writeOutputs(out: string, result: ExperimentResult, incomplete: Incomplete | undefined, kept: string): Promise<WrittenResults> {
  // The 2006 challenge's counterfactual runs, in this process, once every run is in.
  const doc = resultsDocument(result, codeVersion(), incomplete === undefined ? challengeEvidence(result.spec, result.runs) : []);
  if (incomplete !== undefined) doc.incomplete = incomplete;
  try {
    const files = writeResults(out, doc);
    const report = doc.runs.length > 0 ? await writeReport(out, doc) : null;
    return { doc, ...files, report };
  } catch (e) {
    if (e instanceof OutputError) throw new KeptError(`${e.message}; kept: ${kept}`);
    throw e;
  }
}

/**
 * What a --resume must repeat of the interrupted command, " (with the same --nats and --queue)",
 * or "": the servers and queues it named (a resume on another queue finds no workers, gives up
 * waiting and aborts the run it was meant to finish).
 */
export function sameOptions(...options: Array<[string, string | undefined]>): string {
  const given = options.filter(([, v]) => v !== undefined).map(([flag]) => flag);
  if (given.length === 0) return "";
  const list = given.length === 1 ? given[0] : `${given.slice(0, -1).join(", ")} and ${given[given.length - 1]}`;
  return ` (with the same ${list})`;
}

/** What an interrupted command prints: what it kept, and the command that continues it. */
export function interruptedMessage(signal: string, what: string, files: WrittenResults | null, out: string, continueWith: string): string {
  restoreCursor();
  const kept = files === null ? `nothing had finished` : `kept ${what} in ${out}: results.json (marked incomplete), results.csv${files.report !== null ? ", report.html" : ""}`;
  return `refsim: interrupted by ${signal}: ${kept}\nrefsim: continue with: ${continueWith}`;
}

/** The incomplete mark of a run stopped after `done` of `total` configurations. */
export function incompleteRun(signal: string, done: number, total: number, continueWith: string): Incomplete {
  return { reason: `interrupted by ${signal}`, done, total, continueWith };
}

export { clearPartial };
