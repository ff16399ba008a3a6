import { RMW_NONE } from "../coherence/protocol.ts";
import { OBJ_CONTAINER } from "../kernel/objects.ts";
import type { StepWriter } from "../kernel/program.ts";
import type { Counter, KernelApi, Scheme, SchemeName } from "./scheme.ts";
import { atomicCounter } from "./atomic-counter.ts";
import { allKinds, namespaceSet } from "./namespaces.ts";

/**
 * The 2006 container proposal (econtainer, after OpenVZ's VE), idealised: a task carries one container pointer beside
 * `current`; a fork takes one reference on the container. A container holds its namespaces and,
 * when nested, its parent container.
 * - A nested container (created inside another, or by fork with CLONE_NEW*) holds its parent.
 * - unshare makes a sibling: new namespaces for the chosen kinds, a reference on each shared one
 *   and on the old container's parent (if any), never on the old container itself, so repeated
 *   unshares do not chain; the old container is left, and freed at once if nobody else holds it.
 * - setns enters the target container: a get on it, the old container left.
 * A new container costs its allocation and initialisation (`containerAlloc`) once; the create
 * call's own cost is the caller's. The count is kept by `counter`: a plain atomic here, per-CPU
 * schemes elsewhere.
 */
export function containerScheme(name: SchemeName, summary: string, counter: Counter, source: string): Scheme {
  const namespacesOf = (k: KernelApi, container: number) => k.object(container).holds.slice(0, k.kindCount);
  const parentOf = (k: KernelApi, container: number): number | null => k.object(container).holds[k.kindCount] ?? null;

  /** A new container holding `namespaces` (their references already taken) and a reference on `parent`. */
  const newContainer = (k: KernelApi, w: StepWriter, namespaces: number[], parent: number | null): number => {
    if (parent !== null) k.get(w, parent);
    w.compute(k.costs.containerAllocPs);
    return k.create(w, OBJ_CONTAINER, -1, parent === null ? namespaces : [...namespaces, parent], counter.id);
  };

  return {
    name,
    summary,
    source,
    namespaced: true,
    varHome: "container",
    bytesPerTask() {
      return 8;
    },
    createContainer(k, w, parent) {
      const from = parent === null ? null : parent[0];
      const c = newContainer(k, w, namespaceSet(k, w, from === null ? null : namespacesOf(k, from), allKinds(k)), from);
      return { attach: [c], creatorHolds: [c] };
    },
    destroyContainer(k, w, c) {
      for (const obj of c.creatorHolds) k.release(w, obj);
    },
    fork(k, w, parent, newKinds) {
      if (newKinds === 0) {
        k.get(w, parent[0]);
        return [parent[0]];
      }
      return [newContainer(k, w, namespaceSet(k, w, namespacesOf(k, parent[0]), newKinds), parent[0])];
    },
    exit(k, w, attach, owned) {
      k.leave(w, attach[0], owned);
    },
    unshare(k, w, attach, kinds, owned) {
      const old = attach[0];
      const c = newContainer(k, w, namespaceSet(k, w, namespacesOf(k, old), kinds), parentOf(k, old));
      k.leave(w, old, owned);
      return { attach: [c], owned: true };
    },
    setns(k, w, attach, _kind, target, owned) {
      k.get(w, target[0]);
      k.leave(w, attach[0], owned);
      return { attach: [target[0]], owned: false };
    },
    namespaces(k, attach) {
      return namespacesOf(k, attach[0]);
    },
    access(k, w, attach, task) {
      // econtainer sits beside `current`, on the task's hot thread_info line.
      const c = attach[0];
      w.access(k.threadInfoLine(task), RMW_NONE);
      w.access(k.readLine(c), RMW_NONE);
      return { container: c, namespaces: namespacesOf(k, c) };
    },
  };
}

export const econtainerScheme = containerScheme(
  "container",
  "one container pointer per task (the 2006 econtainer proposal, idealised): 1 atomic increment per fork; unshare makes a sibling container, setns enters the target",
  atomicCounter,
  "the 2006 container proposal (econtainer kept beside current, one reference per task; containers created by a clone-like call and nestable), idealised: one count, no process count (see openvz for OpenVZ's own rule)",
);
