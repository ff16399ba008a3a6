import { parseSpec } from "../../../shared/spec/parse.ts";
import { planRuns, resolveSpec, type RunConfig } from "../../../shared/spec/resolve.ts";

/** Every run of a spec document (as a YAML/JSON file would give it), in plan order. */
export function runsOf(doc: Record<string, unknown>): RunConfig[] {
  return planRuns(resolveSpec(parseSpec(doc)));
}

/** The single run of a spec document with one scheme and one CPU count. */
export function runOf(doc: Record<string, unknown>): RunConfig {
  const runs = runsOf(doc);
  if (runs.length !== 1) throw new Error(`expected one run, the spec plans ${runs.length}`);
  return runs[0];
}
