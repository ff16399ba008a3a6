import { COUNTER_ATOMIC, OBJ_NAMESPACE } from "../kernel/objects.ts";
import type { StepWriter } from "../kernel/program.ts";
import type { KernelApi } from "./scheme.ts";

/** A bit mask with every configured namespace kind set. */
export function allKinds(k: KernelApi): number {
  return (1 << k.kindCount) - 1;
}

export function hasKind(mask: number, kind: number): boolean {
  return (mask & (1 << kind)) !== 0;
}

/**
 * Creates a namespace of `kind` (its count starts at 1, the creator's). A new pid or user
 * namespace holds a reference on the namespace it was created from.
 */
export function createNamespace(k: KernelApi, w: StepWriter, kind: number, from: number | null): number {
  const holds: number[] = [];
  if (from !== null && k.hierarchical[kind]) {
    k.get(w, from);
    holds.push(from);
  }
  k.namespaceCreation(w, kind);
  return k.create(w, OBJ_NAMESPACE, kind, holds, COUNTER_ATOMIC);
}

/**
 * The namespaces of a new set, by kind: kinds in `newKinds` get a new namespace, the others
 * are shared with `current` (one get each). `current` null means a first, top-level set.
 */
export function namespaceSet(k: KernelApi, w: StepWriter, current: readonly number[] | null, newKinds: number): number[] {
  const out: number[] = [];
  for (let kind = 0; kind < k.kindCount; kind++) {
    if (current === null || hasKind(newKinds, kind)) {
      out.push(createNamespace(k, w, kind, current === null ? null : current[kind]));
    } else {
      k.get(w, current[kind]);
      out.push(current[kind]);
    }
  }
  return out;
}
