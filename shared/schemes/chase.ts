import { RMW_NONE } from "../coherence/protocol.ts";
import type { Scheme } from "./scheme.ts";

/**
 * The pointer chase of another model, for counterfactual runs (the 2006 verdict's attribution):
 * a container-family scheme whose variable accesses start the way the clone model's or nsproxy's
 * do, on the container's own namespaces, while its reference counting stays its own.
 * - `clone-flags`: the task's namespace pointers are task_struct fields (its task_struct line,
 *   not the thread_info line beside `current` where econtainer sits); the variables live in the
 *   namespace structures (VarHome `namespaces`).
 * - `nsproxy`: the task_struct line, then the bundle's line (the container stands in for the
 *   nsproxy) and its namespace pointers; the variables in the namespace structures.
 * Where the variables are inside those structures stays the run's layout (shared/container-vars).
 * Only `access` and `varHome` change; every other operation is the base scheme's.
 */
export type ChaseModel = "clone-flags" | "nsproxy";

export function withChaseOf(base: Scheme, model: ChaseModel): Scheme {
  return {
    ...base,
    summary: `${base.summary} [counterfactual: ${model}'s pointer chase]`,
    varHome: "namespaces",
    access(k, w, attach, task) {
      w.access(k.taskStructLine(task), RMW_NONE);
      if (model === "nsproxy") w.access(k.readLine(attach[0]), RMW_NONE);
      return { container: -1, namespaces: base.namespaces(k, attach) };
    },
  };
}
