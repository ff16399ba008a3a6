import { RMW_NONE } from "../coherence/protocol.ts";
import { OBJ_CONTAINER } from "../kernel/objects.ts";
import type { StepWriter } from "../kernel/program.ts";
import type { Counter, KernelApi, Scheme, SchemeName } from "./scheme.ts";
import { atomicCounter } from "./atomic-counter.ts";
import { allKinds, namespaceSet } from "./namespaces.ts";

/**
 * OpenVZ's container model (econtainer): a task carries one container pointer beside
 * `current`; a fork takes one reference on the container. A container holds its namespaces and,
 * when nested, its parent. CLONE_NEW*, unshare and setns create a nested container (new
 * namespaces for the chosen kinds, a reference on each shared one) and put the old container.
 * The container's count is kept by `counter`: a plain atomic here, per-CPU schemes elsewhere.
 */
export function containerScheme(name: SchemeName, summary: string, counter: Counter): Scheme {
  const namespacesOf = (k: KernelApi, container: number) => k.object(container).holds.slice(0, k.kindCount);

  const nested = (k: KernelApi, w: StepWriter, parent: number, namespaces: number[]): number => {
    k.get(w, parent);
    w.compute(k.costs.containerCreatePs);
    return k.create(w, OBJ_CONTAINER, -1, [...namespaces, parent], counter.id);
  };

  return {
    name,
    summary,
    namespaced: true,
    bytesPerTask() {
      return 8;
    },
    createContainer(k, w, parent) {
      if (parent !== null) {
        const c = nested(k, w, parent[0], namespaceSet(k, w, namespacesOf(k, parent[0]), allKinds(k)));
        return { attach: [c], creatorHolds: [c] };
      }
      const ns = namespaceSet(k, w, null, allKinds(k));
      w.compute(k.costs.containerCreatePs);
      const c = k.create(w, OBJ_CONTAINER, -1, ns, counter.id);
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
      return [nested(k, w, parent[0], namespaceSet(k, w, namespacesOf(k, parent[0]), newKinds))];
    },
    exit(k, w, attach, owned) {
      k.leave(w, attach[0], owned);
    },
    unshare(k, w, attach, kinds, owned) {
      const c = nested(k, w, attach[0], namespaceSet(k, w, namespacesOf(k, attach[0]), kinds));
      k.leave(w, attach[0], owned);
      return [c];
    },
    setns(k, w, attach, kind, target, owned) {
      const wanted = namespacesOf(k, attach[0]);
      wanted[kind] = namespacesOf(k, target[0])[kind];
      for (const ns of wanted) k.get(w, ns);
      const c = nested(k, w, attach[0], wanted);
      k.leave(w, attach[0], owned);
      return [c];
    },
    access(k, w, attach, taskLine) {
      const c = attach[0];
      w.access(taskLine, RMW_NONE);
      w.access(k.readLine(c), RMW_NONE);
      w.access(k.varsLine(c), RMW_NONE);
    },
  };
}

export const econtainerScheme = containerScheme(
  "container",
  "one container pointer per task (OpenVZ econtainer): 1 atomic increment per fork, nested containers for unshare/setns",
  atomicCounter,
);
