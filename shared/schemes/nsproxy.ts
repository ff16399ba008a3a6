import { RMW_NONE } from "../coherence/protocol.ts";
import { COUNTER_ATOMIC, OBJ_NSPROXY } from "../kernel/objects.ts";
import type { StepWriter } from "../kernel/program.ts";
import type { KernelApi, Scheme } from "./scheme.ts";
import { allKinds, namespaceSet } from "./namespaces.ts";

/**
 * Linux since 2.6.19 (kernel/nsproxy.c): a task points to one shared nsproxy bundle. A plain
 * fork takes one reference on it (copy_namespaces: get_nsproxy); CLONE_NEW* and unshare build a
 * new bundle (create_new_namespaces: new namespaces for the chosen kinds, a reference on each
 * shared one) and leave the old bundle; setns builds a new bundle too (prepare_nsset calls
 * create_new_namespaces with no flags), holding the target's namespace of the kind instead of
 * the task's, and leaves the old one. A new bundle costs `nsproxyCreate` once.
 */
function namespacesOf(k: KernelApi, nsproxy: number): readonly number[] {
  return k.object(nsproxy).holds;
}

function newNsproxy(k: KernelApi, w: StepWriter, namespaces: number[]): number {
  w.compute(k.costs.nsproxyCreatePs);
  return k.create(w, OBJ_NSPROXY, -1, namespaces, COUNTER_ATOMIC);
}

export const nsproxyScheme: Scheme = {
  name: "nsproxy",
  summary: "one shared nsproxy bundle per task: 1 atomic increment per plain fork; a new bundle on unshare/setns",
  source: "Linux 2.6.19 onwards, kernel/nsproxy.c: copy_namespaces (get_nsproxy on a plain fork), create_new_namespaces, prepare_nsset for setns",
  namespaced: true,
  varHome: "namespaces",
  bytesPerTask() {
    return 8;
  },
  createContainer(k, w, parent) {
    const ns = namespaceSet(k, w, parent === null ? null : namespacesOf(k, parent[0]), allKinds(k));
    const np = newNsproxy(k, w, ns);
    return { attach: [np], creatorHolds: [np] };
  },
  destroyContainer(k, w, c) {
    for (const np of c.creatorHolds) k.put(w, np);
  },
  fork(k, w, parent, newKinds) {
    if (newKinds === 0) {
      k.get(w, parent[0]);
      return [parent[0]];
    }
    return [newNsproxy(k, w, namespaceSet(k, w, namespacesOf(k, parent[0]), newKinds))];
  },
  exit(k, w, attach, owned) {
    k.leave(w, attach[0], owned);
  },
  unshare(k, w, attach, kinds, owned) {
    const np = newNsproxy(k, w, namespaceSet(k, w, namespacesOf(k, attach[0]), kinds));
    k.leave(w, attach[0], owned);
    return { attach: [np], owned: true };
  },
  setns(k, w, attach, kind, target, owned) {
    const current = namespacesOf(k, attach[0]);
    const wanted = current.slice();
    wanted[kind] = namespacesOf(k, target[0])[kind];
    for (const ns of wanted) k.get(w, ns);
    const np = newNsproxy(k, w, wanted);
    k.leave(w, attach[0], owned);
    return { attach: [np], owned: true };
  },
  namespaces(k, attach) {
    return namespacesOf(k, attach[0]);
  },
  access(k, w, attach, task) {
    // tsk->nsproxy is a task_struct field, then the bundle's namespace pointers.
    const np = attach[0];
    w.access(k.taskStructLine(task), RMW_NONE);
    w.access(k.readLine(np), RMW_NONE);
    return { container: -1, namespaces: namespacesOf(k, np) };
  },
};
