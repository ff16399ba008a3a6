import { RMW_NONE } from "../coherence/protocol.ts";
import type { Scheme } from "./scheme.ts";
import { allKinds, createNamespace, hasKind, namespaceSet } from "./namespaces.ts";

/**
 * The clone-flags model: a task points to each of its K namespaces. A plain fork takes one
 * reference on each (K atomic increments), exit drops K; unshare replaces the chosen kinds
 * (a new namespace each, the old one put); setns takes the target's namespace of one kind and
 * puts the task's. Namespace counts are plain atomics, so leaving is a put whether or not the
 * task made the namespace (`owned` changes nothing here).
 */
export const cloneFlagsScheme: Scheme = {
  name: "clone-flags",
  summary: "a pointer per namespace kind in the task: K atomic increments per fork, K decrements per exit",
  source: "the 2006 clone model: each namespace a separate pointer in task_struct with its own count (as Linux kept task->namespace for the mount namespace before nsproxy, 2.6.19), one get per kind on fork",
  namespaced: true,
  varHome: "namespaces",
  bytesPerTask(kindCount) {
    return 8 * kindCount;
  },
  createContainer(k, w, parent) {
    const ns = namespaceSet(k, w, parent, allKinds(k));
    return { attach: ns, creatorHolds: ns.slice() };
  },
  destroyContainer(k, w, c) {
    for (const ns of c.creatorHolds) k.put(w, ns);
  },
  fork(k, w, parent, newKinds) {
    return namespaceSet(k, w, parent, newKinds);
  },
  exit(k, w, attach) {
    for (const ns of attach) k.put(w, ns);
  },
  unshare(k, w, attach, kinds) {
    const next = attach.slice();
    for (let kind = 0; kind < k.kindCount; kind++) {
      if (!hasKind(kinds, kind)) continue;
      next[kind] = createNamespace(k, w, kind, attach[kind]);
      k.put(w, attach[kind]);
    }
    return { attach: next, owned: true };
  },
  setns(k, w, attach, kind, target) {
    const next = attach.slice();
    k.get(w, target[kind]);
    k.put(w, attach[kind]);
    next[kind] = target[kind];
    return { attach: next, owned: false };
  },
  namespaces(_k, attach) {
    return attach;
  },
  access(k, w, attach, task) {
    // The per-namespace pointers are task_struct fields (one line for all K of them).
    w.access(k.taskStructLine(task), RMW_NONE);
    return { container: -1, namespaces: attach };
  },
};
