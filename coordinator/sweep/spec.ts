import { z } from "zod";
import { SpecError } from "../../shared/engine/errors.ts";
import { describeIssues } from "../../shared/spec/issues.ts";
import { rejectReservedKeys } from "../../shared/spec/parse.ts";
import { specSchema } from "../../shared/spec/spec.ts";

/**
 * A sweep spec: axes (machines, workloads, schemes, CPU counts, seeds) whose product is the
 * sweep's points, the fields every point shares (a run spec's duration, warm-up, namespaces,
 * layout, costs and options, with the same validation), and `distributeAbove`.
 */
export const sweepSchema = specSchema
  .pick({ name: true, schemes: true, cpus: true, namespaces: true, layout: true, duration: true, warmup: true, costs: true, options: true })
  .extend({
    machines: z.array(specSchema.shape.machine).min(1),
    workloads: z.array(specSchema.shape.workload).min(1),
    seeds: z.array(z.int().min(0).max(4294967295)).min(1).default([1]),
    /** Points with more CPUs than this run distributed over the cluster's workers (default: none do). */
    distributeAbove: z.int().min(1).optional(),
  });

export type SweepSpec = z.infer<typeof sweepSchema>;

/** Validates a parsed YAML/JSON document as a sweep spec. Throws SpecError naming each bad field. */
export function parseSweepSpec(doc: unknown): SweepSpec {
  rejectReservedKeys(doc);
  const r = sweepSchema.safeParse(doc, { reportInput: true });
  if (!r.success) throw new SpecError("", describeIssues(r.error.issues, "", sweepSchema).join("\n"));
  return r.data;
}
