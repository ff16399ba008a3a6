import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { RunResult } from "../shared/metrics/result.ts";
import type { ResolvedSpec } from "../shared/spec/resolve.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { UsageError } from "./usage-error.ts";

/**
 * An unfinished embedded run or sweep keeps what it has done in `DIR/partial/`: what it is
 * (`state.json`: the spec and the code version) and one file per finished run or point, each
 * written as it finishes, so an interrupt, a crash or a full disk loses only what was running.
 * `--resume DIR` reads them back and runs only what is missing. The folder is removed once the
 * results are written whole.
 */
export const PARTIAL_DIR = "partial";

export interface PartialState {
  tool: "refsim";
  kind: "run" | "sweep";
  codeVersion: string;
  /** A run's resolved spec, or a sweep's spec document. */
  spec: ResolvedSpec | Record<string, unknown>;
  /** A sweep's id. */
  id?: string;
}

const stateFile = (dir: string) => join(dir, PARTIAL_DIR, "state.json");
const itemFile = (dir: string, key: string) => join(dir, PARTIAL_DIR, `${key}.json`);

/** Whether DIR holds an unfinished run or sweep (what `--resume DIR` continues). */
export function hasPartialState(dir: string): boolean {
  return existsSync(stateFile(dir));
}

/** Starts DIR/partial/ with what the run or sweep is. */
export function beginPartial(dir: string, state: PartialState): void {
  mkdirSync(join(dir, PARTIAL_DIR), { recursive: true });
  writeFileAtomic(stateFile(dir), `${JSON.stringify(state)}\n`);
}

/** Reads DIR/partial/state.json; refuses a state of another kind or another code version. */
export function readPartialState(dir: string, kind: PartialState["kind"], version: string): PartialState {
  if (!hasPartialState(dir)) throw new UsageError(`--resume ${dir}: no unfinished ${kind} there (${join(dir, PARTIAL_DIR)} is missing: it finished, or was never started)`);
  const state = JSON.parse(readFileSync(stateFile(dir), "utf8")) as PartialState;
  if (state.tool !== "refsim" || state.kind !== kind) throw new UsageError(`--resume ${dir}: it holds an unfinished ${state.kind}, not a ${kind} (refsim ${state.kind} --resume ${dir})`);
  if (state.codeVersion !== version) {
    throw new UsageError(`--resume ${dir}: it was started with refsim ${state.codeVersion}, this is ${version}: its results would not match (run it again with --force)`);
  }
  return state;
}

/** Saves one finished run (key `run-<index>`) or point (its id), whole or not at all. */
export function savePartial(dir: string, key: string, result: RunResult): void {
  writeFileAtomic(itemFile(dir, key), JSON.stringify(result));
}

/** Every finished item saved in DIR/partial/, by key. */
export function loadPartial(dir: string): Map<string, RunResult> {
  const out = new Map<string, RunResult>();
  const folder = join(dir, PARTIAL_DIR);
  if (!existsSync(folder)) return out;
  for (const name of readdirSync(folder)) {
    if (!name.endsWith(".json") || name === "state.json") continue;
    out.set(name.slice(0, -".json".length), JSON.parse(readFileSync(join(folder, name), "utf8")) as RunResult);
  }
  return out;
}

/** Removes DIR/partial/ (the results are written whole). */
export function clearPartial(dir: string): void {
  rmSync(join(dir, PARTIAL_DIR), { recursive: true, force: true });
}
