import { describe, expect, it } from "vitest";
import { RMW_NONE } from "../../shared/coherence/protocol.ts";
import { areaLine } from "../../shared/container-vars/lines.ts";
import { Engine } from "../../shared/engine/engine.ts";
import { Kernel } from "../../shared/kernel/kernel.ts";
import { OBJ_CONTAINER, OBJ_NAMESPACE, OBJ_NSPROXY } from "../../shared/kernel/objects.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { withChaseOf } from "../../shared/schemes/chase.ts";
import { MAX_PID_NS_LEVEL, MAX_USER_NS_PARENT_LEVEL, mayNest, namespaceLevel, withinNestingLimits } from "../../shared/schemes/depth.ts";
import { SCHEMES } from "../../shared/schemes/index.ts";
import { namespaceSet } from "../../shared/schemes/namespaces.ts";
import type { Scheme } from "../../shared/schemes/scheme.ts";
import { containersBench, KINDS, kindBits, kindIndex } from "./support/operation-bench.ts";
import { runOf } from "./support/spec.ts";

// What each scheme's methods return, checked by hand against the Scheme interface
// (shared/schemes/scheme.ts): the attachments, `owned`, what an access's pointer chase reached,
// the objects a call creates, and the nesting checks of depth.ts. small-4, 4 CPUs, the linux set
// of 8 kinds, two top-level containers (or chains of two when nested), one worker per CPU.

const kind = kindIndex;
const bit = kindBits;
const bench = containersBench;

describe("none: no virtualization", () => {
  it("creates, forks, unshares and enters nothing: every call returns an empty attachment and touches no line", () => {
    const b = bench("none");
    const task = b.worker(0);
    expect(task.attach).toEqual([]);
    expect(b.kernel.containers.map((c) => c.attach)).toEqual([[], []]);
    const create = b.run(0, (k, w) => b.scheme.createContainer(k, w, null));
    expect(create.value).toEqual({ attach: [], creatorHolds: [] });
    const fork = b.run(1, (k, w) => b.scheme.fork(k, w, task.attach, bit("pid", "uts")));
    expect(fork.value).toEqual([]);
    const unshare = b.run(0, (k, w) => b.scheme.unshare(k, w, task.attach, bit("uts"), false));
    expect(unshare.value).toEqual({ attach: [], owned: false });
    const setns = b.run(0, (k, w) => b.scheme.setns(k, w, task.attach, kind("uts"), [], true));
    expect(setns.value).toEqual({ attach: [], owned: false });
    const quiet = [create, fork, unshare, setns, b.run(0, (k, w) => b.scheme.exit(k, w, [], true)), b.run(0, (k, w) => b.scheme.destroyContainer(k, w, create.value))];
    expect(quiet.map((r) => [r.accesses.length, r.created.length])).toEqual(quiet.map(() => [0, 0]));
    expect(b.scheme.namespaces(b.kernel, [])).toEqual([]);
    expect(b.scheme.bytesPerTask(8)).toBe(0);
  });

  // A task in no namespace (none's attachment is []) is never past a nesting limit: clone and
  // unshare with CLONE_NEWPID | CLONE_NEWUSER pass the check (the scheme then creates nothing).
  it("passes the nesting check for pid and user from no namespace at all", () => {
    const b = bench("none");
    expect(withinNestingLimits(b.kernel, [], bit("pid", "user"))).toBe(true);
  });
});

describe("what an access's pointer chase reached", () => {
  // VarRoots: the container object, or -1 where the scheme has none, and the task's namespaces.
  it("none reaches no container and no namespace (the variables are globals): only thread_info is read", () => {
    const b = bench("none");
    const task = b.worker(2);
    const r = b.run(2, (k, w) => b.scheme.access(k, w, task.attach, task.id));
    expect(r.value).toEqual({ container: -1, namespaces: [] });
    expect(r.accesses.map((a) => [a.line, a.rmw])).toEqual([[b.kernel.threadInfoLine(task.id), RMW_NONE]]);
  });

  it("clone-flags and nsproxy reach the task's namespaces and no container", () => {
    const cf = bench("clone-flags");
    const t = cf.worker(0);
    expect(cf.run(0, (k, w) => cf.scheme.access(k, w, t.attach, t.id)).value).toEqual({ container: -1, namespaces: t.attach });
    const np = bench("nsproxy");
    const u = np.worker(0);
    const holds = np.kernel.object(u.attach[0]).holds;
    expect(holds).toHaveLength(8);
    expect(np.run(0, (k, w) => np.scheme.access(k, w, u.attach, u.id)).value).toEqual({ container: -1, namespaces: holds });
  });

  it("container reaches its container and the container's namespaces; a counterfactual chase of it reaches the namespaces only", () => {
    const b = bench("container");
    const t = b.worker(0);
    const c = t.attach[0];
    const namespaces = b.kernel.object(c).holds;
    expect(b.run(0, (k, w) => b.scheme.access(k, w, t.attach, t.id)).value).toEqual({ container: c, namespaces });
    for (const model of ["clone-flags", "nsproxy"] as const) {
      const chase = withChaseOf(b.scheme, model);
      const r = b.run(0, (k, w) => chase.access(k, w, t.attach, t.id));
      expect(r.value).toEqual({ container: -1, namespaces });
      // The task_struct line, then (nsproxy's chase) the bundle's, here the container's read line.
      const lines = model === "nsproxy" ? [b.kernel.taskStructLine(t.id), b.kernel.readLine(c)] : [b.kernel.taskStructLine(t.id)];
      expect(r.accesses.map((a) => a.line)).toEqual(lines);
    }
  });
});

describe("owned: whether the task created what it leaves", () => {
  // scheme.ts: `owned` says the task created its attachment (by CLONE_NEW*, unshare or setns).
  it("clone-flags: an unshare creates (owned), a setns takes the target's namespace (not owned)", () => {
    const b = bench("clone-flags");
    const task = b.worker(0);
    const uts = kind("uts");
    const unshare = b.run(0, (k, w) => b.scheme.unshare(k, w, task.attach, bit("uts"), false));
    expect(unshare.created.map((o) => [o.type, o.nsKind])).toEqual([[OBJ_NAMESPACE, uts]]);
    expect(unshare.value).toEqual({ attach: task.attach.map((ns, i) => (i === uts ? unshare.created[0].id : ns)), owned: true });
    const target = b.kernel.containers.find((c) => c.attach[uts] !== task.attach[uts])!.attach;
    const setns = b.run(0, (k, w) => b.scheme.setns(k, w, task.attach, uts, target, true));
    expect(setns.created).toEqual([]);
    expect(setns.value).toEqual({ attach: task.attach.map((ns, i) => (i === uts ? target[uts] : ns)), owned: false });
  });

  it("nsproxy: an unshare builds a bundle the task owns", () => {
    const b = bench("nsproxy");
    const task = b.worker(0);
    const r = b.run(0, (k, w) => b.scheme.unshare(k, w, task.attach, bit("uts"), false));
    const bundle = r.created.find((o) => o.type === OBJ_NSPROXY)!;
    expect(r.value).toEqual({ attach: [bundle.id], owned: true });
  });

  it("openvz: an unshare fails and leaves the attachment and `owned` as they were", () => {
    const b = bench("openvz");
    const task = b.worker(0);
    for (const owned of [false, true]) {
      const r = b.run(0, (k, w) => b.scheme.unshare(k, w, task.attach, bit("uts"), owned));
      expect(r.value).toEqual({ attach: task.attach, owned });
    }
  });
});

describe("the objects a call creates", () => {
  // KObject.nsKind: a namespace's kind index, or -1 (a container or a bundle is no namespace).
  it.each([
    ["container", OBJ_CONTAINER],
    ["nsproxy", OBJ_NSPROXY],
  ] as const)("a fork with CLONE_NEWUTS under %s creates a uts namespace (kind 1) and one object of kind -1", (scheme, type) => {
    const b = bench(scheme);
    const task = b.worker(0);
    const r = b.run(0, (k, w) => b.scheme.fork(k, w, task.attach, bit("uts")));
    expect(r.created.map((o) => [o.type, o.nsKind])).toEqual([
      [OBJ_NAMESPACE, kind("uts")],
      [type, -1],
    ]);
    expect(r.value).toEqual([r.created[1].id]);
  });

  // namespaceSet with no current set (null) is a first, top-level set: one new namespace of every
  // kind, whatever newKinds says, each holding nothing (it nests in the initial namespaces).
  it("a set from no current namespaces creates all 8 kinds, none holding a parent", () => {
    const b = bench("clone-flags");
    const r = b.run(0, (k, w) => namespaceSet(k, w, null, 0));
    expect(r.created.map((o) => [o.type, o.nsKind, o.holds])).toEqual(KINDS.map((_, i) => [OBJ_NAMESPACE, i, []]));
    expect(r.value).toEqual(r.created.map((o) => o.id));
  });
});

describe("a nested container (nesting 1) is created from its parent's namespaces", () => {
  // The nested level's set is new for every kind, created from the parent's: its pid and user
  // namespaces hold the parent's (level 2), the other kinds hold nothing.
  it.each(["container", "nsproxy"] as const)("under %s the nested pid and user namespaces hold the parent level's, and namespaces() gives the 8 kinds only", (scheme) => {
    const b = bench(scheme, 1);
    const k = b.kernel;
    const [top, nested] = k.containers[0].chain;
    const outer = b.scheme.namespaces(k, top.attach);
    const inner = b.scheme.namespaces(k, nested.attach);
    expect([outer.length, inner.length]).toEqual([8, 8]);
    expect(inner.map((ns) => k.object(ns).holds)).toEqual(KINDS.map((name, i) => (name === "pid" || name === "user" ? [outer[i]] : [])));
    expect([namespaceLevel(k, inner[kind("pid")]), namespaceLevel(k, inner[kind("user")])]).toEqual([2, 2]);
    // The nested container holds its namespaces and, after them, its parent container.
    if (scheme === "container") expect(k.object(nested.attach[0]).holds).toEqual([...inner, top.attach[0]]);
    else expect(k.object(nested.attach[0]).holds).toEqual(inner);
  });
});

describe("the nesting limits (depth.ts)", () => {
  it("a pid or user namespace from the initial ones (null) is level 1 and always allowed", () => {
    const b = bench("clone-flags");
    expect([mayNest(b.kernel, kind("pid"), null), mayNest(b.kernel, kind("user"), null), mayNest(b.kernel, kind("uts"), null)]).toEqual([true, true, true]);
  });

  // 31 unshares of pid take the worker's pid namespace to level 32, the limit: a further pid
  // namespace fails, but unshares of uts (no nesting) or user (level 1, far from 33) still pass.
  it("at the pid limit only pid is refused: uts and user still pass, and so does a set with neither", () => {
    const b = bench("clone-flags");
    let attach = b.worker(0).attach;
    for (let i = 0; i < MAX_PID_NS_LEVEL - 1; i++) {
      const from = attach;
      attach = b.run(0, (k, w) => b.scheme.unshare(k, w, from, bit("pid"), false)).value.attach;
    }
    const k = b.kernel;
    expect([namespaceLevel(k, attach[kind("pid")]), namespaceLevel(k, attach[kind("user")])]).toEqual([32, 1]);
    expect(withinNestingLimits(k, attach, bit("pid"))).toBe(false);
    expect(withinNestingLimits(k, attach, bit("uts"))).toBe(true);
    expect(withinNestingLimits(k, attach, bit("user"))).toBe(true);
    expect(withinNestingLimits(k, attach, bit("user", "uts"))).toBe(true);
    expect(withinNestingLimits(k, attach, bit("user", "pid"))).toBe(false);
  });

  // A broken scheme's cycle (a namespace whose memory a descendant reuses): here by hand, a pid
  // namespace made to hold its own child. The walk stops at the cap, MAX_USER_NS_PARENT_LEVEL + 2
  // = 34 levels, one past the deepest chain Linux allows (a user namespace at level 33).
  it("the level of a cyclic chain stops at 34, one past the deepest real chain", () => {
    const b = bench("clone-flags");
    const parent = b.worker(0).attach;
    const child = b.run(0, (k, w) => b.scheme.unshare(k, w, parent, bit("pid"), false)).value.attach;
    const k = b.kernel;
    expect(namespaceLevel(k, child[kind("pid")])).toBe(2);
    k.object(parent[kind("pid")]).holds.push(child[kind("pid")]);
    expect(namespaceLevel(k, child[kind("pid")])).toBe(MAX_USER_NS_PARENT_LEVEL + 2);
  });
});

describe("a counterfactual chase keeps its variables in the namespace structures", () => {
  /** A kernel running `scheme` with the packed, padded layout: loopback_dev on line 0 of a structure's area, the two counters on line 1. */
  function kernelWith(scheme: Scheme) {
    const config = runOf({ machine: "small-4", cpus: [4], schemes: ["container"], workload: "net-heavy", vars: { layout: "packed", padded: true } });
    const machine = new Machine(config.machine, config.cpuCount);
    return new Kernel(config, machine, new Engine(machine.cpuCount + machine.nodeCount), () => true, scheme);
  }

  // A new structure that holds the variables writes its area's lines past line 0 (ContainerVars.init):
  // under container that is the container object; under its chase, the network namespace.
  it("a new container writes the counters' line in its net namespace under a chase, in the container itself otherwise", () => {
    const written = (scheme: Scheme) => {
      const k = kernelWith(scheme);
      const c = k.setup(0, (w) => k.scheme.createContainer(k, w, null)).attach[0];
      const net = k.object(c).holds[kind("net")];
      const mem = k.finishSetup();
      return [mem.has(areaLine(c, 1, k.vars.stride)), mem.has(areaLine(net, 1, k.vars.stride))];
    };
    expect(written(SCHEMES.container)).toEqual([true, false]);
    expect(written(withChaseOf(SCHEMES.container, "clone-flags"))).toEqual([false, true]);
    expect(withChaseOf(SCHEMES.container, "nsproxy").varHome).toBe("namespaces");
  });
});
