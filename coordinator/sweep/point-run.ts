import { SpecError } from "../../shared/engine/errors.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec, type ResolvedSpec, type RunConfig } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";

/**
 * A point's run spec document: what `refsim run --spec` would read for exactly this one run
 * (one machine, one CPU count, one scheme, one seed).
 */
export type PointDocument = Record<string, unknown>;

/**
 * Resolves a point's document with the run spec machinery (parseSpec, resolveSpec, planRuns),
 * so a point is exactly the run `refsim run` makes of the same document. Throws SpecError for
 * an invalid document or one that plans more or less than one run.
 */
export function resolvePoint(doc: PointDocument): { spec: ResolvedSpec; config: RunConfig } {
  const spec = resolveSpec(parseSpec(doc));
  const runs = planRuns(spec);
  if (runs.length !== 1) throw new SpecError("", `a sweep point is one run, but this spec plans ${runs.length}`);
  return { spec, config: runs[0] };
}

/** Runs one point in this thread (the embedded run). */
export function runPoint(doc: PointDocument): RunResult {
  return simulate(resolvePoint(doc).config);
}
