import { describe, expect, it } from "vitest";
import { RMW_ATOMIC_ADD, RMW_NONE, RMW_PLAIN_ADD, RMW_TAKE_SPARE } from "../../shared/coherence/protocol.ts";
import { isPerCpuLine, OBJ_CONTAINER, OBJ_NAMESPACE, OBJ_NSPROXY } from "../../shared/kernel/objects.ts";
import type { SchemeName } from "../../shared/schemes/scheme.ts";
import type { Kernel, Task } from "../../shared/kernel/kernel.ts";
import type { StepWriter } from "../../shared/kernel/program.ts";
import { atomics, distinctLines, OperationBench, reads, sharedAtomics, type ExecutedAccess } from "./support/operation-bench.ts";

// DESIGN.md's table of schemes, operation by operation: exactly which accesses each one writes.
// small-4 with 4 CPUs, two top-level containers (a setns target), one worker task per CPU.

const KINDS = ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"];
const bit = (...names: string[]) => names.reduce((m, n) => m | (1 << KINDS.indexOf(n)), 0);

function bench(scheme: SchemeName, namespaces: string = "linux", layout = "separate"): OperationBench {
  return new OperationBench({
    machine: "small-4",
    cpus: [4],
    schemes: [scheme],
    namespaces,
    layout,
    workload: { preset: "fork-storm", containers: { count: 2, nesting: 0, pinToSockets: false } },
  });
}

const increments = (a: readonly ExecutedAccess[]) => a.filter((x) => x.rmw === RMW_ATOMIC_ADD && x.arg === 1);
const decrements = (a: readonly ExecutedAccess[]) => a.filter((x) => x.rmw === RMW_ATOMIC_ADD && x.arg === -1);
const linesOf = (a: readonly ExecutedAccess[]) => a.map((x) => x.line).sort((p, q) => p - q);

/** A plain fork (share everything) by the worker of `cpu`, then the child's exit on the same CPU. */
function forkThenExit(b: OperationBench, cpu: number) {
  const parent = b.worker(cpu).attach;
  const fork = b.run(cpu, (k, w) => b.scheme.fork(k, w, parent, 0));
  const exit = b.run(cpu, (k, w) => b.scheme.exit(k, w, fork.value, false));
  return { parent, fork, exit };
}

describe("plain fork and exit", () => {
  it("plain fork under clone-flags with 8 namespace kinds performs 8 atomic increments on 8 distinct lines, one per namespace", () => {
    const b = bench("clone-flags");
    const { parent, fork } = forkThenExit(b, 0);
    expect(parent).toHaveLength(8);
    expect(atomics(fork.accesses)).toHaveLength(8);
    expect(increments(fork.accesses)).toHaveLength(8);
    expect(distinctLines(fork.accesses)).toBe(8);
    expect(linesOf(fork.accesses)).toEqual(parent.map((ns) => b.kernel.countLine(ns)).sort((p, q) => p - q));
    expect(fork.accesses).toHaveLength(8);
    expect(fork.created).toEqual([]);
    expect(fork.value).toEqual(parent);
  });

  it("plain fork under clone-flags with the linux-2006 set (5 kinds) performs 5 atomic increments on 5 distinct lines", () => {
    const b = bench("clone-flags", "linux-2006");
    const { fork } = forkThenExit(b, 0);
    expect(increments(fork.accesses)).toHaveLength(5);
    expect(atomics(fork.accesses)).toHaveLength(5);
    expect(distinctLines(fork.accesses)).toBe(5);
  });

  it("exit under clone-flags mirrors the fork: 8 atomic decrements on the same 8 lines, none reaching zero", () => {
    const b = bench("clone-flags");
    const { fork, exit } = forkThenExit(b, 0);
    expect(atomics(exit.accesses)).toHaveLength(8);
    expect(decrements(exit.accesses)).toHaveLength(8);
    expect(linesOf(exit.accesses)).toEqual(linesOf(fork.accesses));
    expect(exit.accesses.every((a) => a.result > 0)).toBe(true);
    expect(b.violations()).toEqual([]);
  });

  it.each([
    ["nsproxy", OBJ_NSPROXY],
    ["container", OBJ_CONTAINER],
  ] as const)("plain fork under %s performs 1 atomic increment, on the shared object's count line; exit 1 decrement", (scheme, type) => {
    const b = bench(scheme);
    const { parent, fork, exit } = forkThenExit(b, 1);
    expect(parent).toHaveLength(1);
    expect(b.kernel.object(parent[0]).type).toBe(type);
    expect(fork.accesses).toEqual([{ line: b.kernel.countLine(parent[0]), rmw: RMW_ATOMIC_ADD, arg: 1, result: expect.any(Number) }]);
    expect(exit.accesses).toEqual([{ line: b.kernel.countLine(parent[0]), rmw: RMW_ATOMIC_ADD, arg: -1, result: fork.accesses[0].result - 1 }]);
    expect(fork.created).toEqual([]);
    expect(b.violations()).toEqual([]);
  });

  it("plain fork under percpu performs no atomic and no write on a shared line: 1 plain add on the CPU's own per-CPU line; exit adds -1 there", () => {
    const b = bench("percpu");
    const cpu = 2;
    const { parent, fork, exit } = forkThenExit(b, cpu);
    const own = b.kernel.perCpuLine(parent[0], cpu);
    expect(atomics(fork.accesses)).toEqual([]);
    const writes = fork.accesses.filter((a) => a.rmw !== RMW_NONE);
    expect(writes).toEqual([{ line: own, rmw: RMW_PLAIN_ADD, arg: 1, result: expect.any(Number) }]);
    // The one shared access is a read of the read-mostly mode word, which stays Shared in every cache.
    expect(reads(fork.accesses).every((a) => !isPerCpuLine(a.line))).toBe(true);
    expect(atomics(exit.accesses)).toEqual([]);
    expect(exit.accesses.filter((a) => a.rmw !== RMW_NONE)).toEqual([{ line: own, rmw: RMW_PLAIN_ADD, arg: -1, result: expect.any(Number) }]);
  });

  it("plain fork under sloppy with a spare available performs no atomic: it takes the spare from the CPU's own line", () => {
    const b = bench("sloppy");
    const cpu = 3;
    const c = b.worker(cpu).attach[0];
    const own = b.kernel.perCpuLine(c, cpu);
    expect(b.value(own)).toBeGreaterThanOrEqual(1);
    const { fork, exit } = forkThenExit(b, cpu);
    expect(atomics(fork.accesses)).toEqual([]);
    expect(fork.accesses.filter((a) => a.rmw !== RMW_NONE)).toEqual([{ line: own, rmw: RMW_TAKE_SPARE, arg: 0, result: 1 }]);
    // Exit returns the reference as a spare on the same line, again without an atomic.
    expect(atomics(exit.accesses)).toEqual([]);
    expect(exit.accesses.filter((a) => a.rmw !== RMW_NONE)).toEqual([{ line: own, rmw: RMW_PLAIN_ADD, arg: 1, result: expect.any(Number) }]);
  });

  it("plain fork under refcache performs no atomic: it adds 1 to the CPU's own delta; exit adds -1", () => {
    const b = bench("refcache");
    const cpu = 1;
    const own = b.kernel.perCpuLine(b.worker(cpu).attach[0], cpu);
    const delta = b.value(own); // the set-up fork of this CPU's worker, not flushed yet
    const { fork, exit } = forkThenExit(b, cpu);
    expect(fork.accesses).toEqual([{ line: own, rmw: RMW_PLAIN_ADD, arg: 1, result: delta + 1 }]);
    expect(exit.accesses).toEqual([{ line: own, rmw: RMW_PLAIN_ADD, arg: -1, result: delta }]);
  });

  it("plain fork and exit under none touch no line at all", () => {
    const b = bench("none");
    const { fork, exit } = forkThenExit(b, 0);
    expect(fork.accesses).toEqual([]);
    expect(exit.accesses).toEqual([]);
    expect(fork.created).toEqual([]);
  });
});

describe("sloppy counters: the central count is touched only when spares run out or pile up", () => {
  it("once the CPU's spares run out, one fork takes sloppyBatch (8) references from the central count in one atomic and keeps 7 spares", () => {
    const b = bench("sloppy");
    const cpu = 0;
    const c = b.worker(cpu).attach[0];
    const own = b.kernel.perCpuLine(c, cpu);
    const spares = b.value(own);
    expect(spares).toBe(7); // the set-up fork of this CPU's worker took the first batch
    for (let i = 0; i < spares; i++) expect(sharedAtomics(b.run(cpu, (k, w) => b.scheme.fork(k, w, [c], 0)).accesses)).toEqual([]);
    expect(b.value(own)).toBe(0);
    const refill = b.run(cpu, (k, w) => b.scheme.fork(k, w, [c], 0));
    expect(sharedAtomics(refill.accesses)).toEqual([{ line: b.kernel.countLine(c), rmw: RMW_ATOMIC_ADD, arg: 8, result: expect.any(Number) }]);
    expect(b.value(own)).toBe(7);
  });

  it("children exiting on another CPU pile up spares there; the exit that passes sloppyMaxSpares (16) returns the excess above sloppyBatch in one atomic", () => {
    const b = bench("sloppy");
    const c = b.worker(0).attach[0];
    const spareLine = b.kernel.perCpuLine(c, 0);
    expect(b.value(spareLine)).toBe(7);
    const children = Array.from({ length: 10 }, () => b.run(2, (k, w) => b.scheme.fork(k, w, [c], 0)).value);
    const exitAtomics = children.map((child) => sharedAtomics(b.run(0, (k, w) => b.scheme.exit(k, w, child, false)).accesses));
    // Spares go 8, 9, ... 16 without an atomic; the tenth exit makes 17 and returns 17 - 8 = 9.
    expect(exitAtomics.slice(0, 9).every((a) => a.length === 0)).toBe(true);
    expect(exitAtomics[9]).toEqual([{ line: b.kernel.countLine(c), rmw: RMW_ATOMIC_ADD, arg: -9, result: expect.any(Number) }]);
    expect(b.value(spareLine)).toBe(8);
    expect(b.violations()).toEqual([]);
  });
});

describe("unshare, setns and fork with new namespaces", () => {
  const uts = bit("uts");

  it("unshare of one kind under nsproxy builds a new nsproxy and one namespace, takes 7 increments and puts the old nsproxy once", () => {
    const b = bench("nsproxy");
    const task = b.worker(0);
    const old = task.attach[0];
    const oldNamespaces = b.kernel.object(old).holds.slice();
    const r = b.run(0, (k, w) => b.scheme.unshare(k, w, task.attach, uts, false));
    expect(r.created.map((o) => o.type).sort()).toEqual([OBJ_NAMESPACE, OBJ_NSPROXY].sort());
    const np = r.created.find((o) => o.type === OBJ_NSPROXY)!;
    const ns = r.created.find((o) => o.type === OBJ_NAMESPACE)!;
    expect(ns.nsKind).toBe(KINDS.indexOf("uts"));
    expect(r.value.attach).toEqual([np.id]);
    expect(np.holds).toEqual(oldNamespaces.map((id, kind) => (kind === KINDS.indexOf("uts") ? ns.id : id)));
    const shared = oldNamespaces.filter((_, kind) => kind !== KINDS.indexOf("uts"));
    expect(increments(r.accesses).map((a) => a.line).sort()).toEqual(shared.map((id) => b.kernel.countLine(id)).sort());
    expect(decrements(r.accesses)).toEqual([{ line: b.kernel.countLine(old), rmw: RMW_ATOMIC_ADD, arg: -1, result: expect.any(Number) }]);
    expect(atomics(r.accesses)).toHaveLength(8);
  });

  it("unshare of one kind under clone-flags creates 1 namespace and puts the old one: 1 atomic in all", () => {
    const b = bench("clone-flags");
    const task = b.worker(0);
    const oldUts = task.attach[KINDS.indexOf("uts")];
    const r = b.run(0, (k, w) => b.scheme.unshare(k, w, task.attach, uts, false));
    expect(r.created).toHaveLength(1);
    expect(r.created[0]).toMatchObject({ type: OBJ_NAMESPACE, nsKind: KINDS.indexOf("uts") });
    expect(atomics(r.accesses)).toEqual([{ line: b.kernel.countLine(oldUts), rmw: RMW_ATOMIC_ADD, arg: -1, result: expect.any(Number) }]);
    expect(r.value.attach).toEqual(task.attach.map((id, kind) => (kind === KINDS.indexOf("uts") ? r.created[0].id : id)));
  });

  it("unshare of one kind under container makes a sibling container: 7 increments on shared namespaces, none on the old container's parent (top-level: none), 1 put on the old", () => {
    const b = bench("container");
    const task = b.worker(0);
    const old = task.attach[0];
    const oldNamespaces = b.kernel.object(old).holds.slice(0, 8);
    const r = b.run(0, (k, w) => b.scheme.unshare(k, w, task.attach, uts, false));
    const container = r.created.find((o) => o.type === OBJ_CONTAINER)!;
    expect(r.created.filter((o) => o.type === OBJ_NAMESPACE)).toHaveLength(1);
    expect(r.created).toHaveLength(2);
    expect(container.holds).toHaveLength(8); // a sibling of a top-level container: no parent, and never the old one
    expect(r.value.attach).toEqual([container.id]);
    const nsIncrements = increments(r.accesses).filter((a) => b.kernel.object(b.objectOf(a.line)).type === OBJ_NAMESPACE);
    expect(nsIncrements).toHaveLength(7);
    expect(new Set(nsIncrements.map((a) => b.objectOf(a.line)))).toEqual(new Set(oldNamespaces.filter((_, kind) => kind !== KINDS.indexOf("uts"))));
    const onOld = atomics(r.accesses).filter((a) => a.line === b.kernel.countLine(old));
    expect(onOld.map((a) => a.arg)).toEqual([-1]);
    expect(atomics(r.accesses)).toHaveLength(8);
  });

  it("setns under nsproxy builds a new nsproxy with 8 increments (7 own namespaces, the target's one) and 1 put on the old nsproxy", () => {
    const b = bench("nsproxy");
    const task = b.worker(0);
    const target = b.kernel.containers.find((c) => c.attach[0] !== task.attach[0])!.attach;
    const kind = KINDS.indexOf("uts");
    const own = b.kernel.object(task.attach[0]).holds;
    const theirs = b.kernel.object(target[0]).holds;
    const r = b.run(0, (k, w) => b.scheme.setns(k, w, task.attach, kind, target, false));
    expect(r.created.map((o) => o.type)).toEqual([OBJ_NSPROXY]);
    expect(r.created[0].holds).toEqual(own.map((id, i) => (i === kind ? theirs[kind] : id)));
    expect(increments(r.accesses)).toHaveLength(8);
    expect(new Set(increments(r.accesses).map((a) => b.objectOf(a.line)))).toEqual(new Set(r.created[0].holds));
    expect(decrements(r.accesses)).toEqual([{ line: b.kernel.countLine(task.attach[0]), rmw: RMW_ATOMIC_ADD, arg: -1, result: expect.any(Number) }]);
    expect(atomics(r.accesses)).toHaveLength(9);
  });

  it("fork with m = 2 new namespaces under clone-flags creates 2 namespaces and takes K - m = 6 increments", () => {
    const b = bench("clone-flags");
    const parent = b.worker(0).attach;
    const r = b.run(0, (k, w) => b.scheme.fork(k, w, parent, bit("uts", "ipc")));
    expect(r.created.map((o) => KINDS[o.nsKind]).sort()).toEqual(["ipc", "uts"]);
    expect(increments(r.accesses)).toHaveLength(6);
    expect(atomics(r.accesses)).toHaveLength(6);
    expect(new Set(increments(r.accesses).map((a) => b.objectOf(a.line)))).toEqual(
      new Set(parent.filter((_, kind) => KINDS[kind] !== "uts" && KINDS[kind] !== "ipc")),
    );
  });

  it("a new pid namespace holds its parent: fork with CLONE_NEWPID under clone-flags takes 7 increments plus 1 on the parent pid namespace", () => {
    const b = bench("clone-flags");
    const parent = b.worker(0).attach;
    const pid = KINDS.indexOf("pid");
    const r = b.run(0, (k, w) => b.scheme.fork(k, w, parent, bit("pid")));
    expect(r.created).toHaveLength(1);
    expect(r.created[0].holds).toEqual([parent[pid]]);
    expect(increments(r.accesses)).toHaveLength(8);
    expect(increments(r.accesses).filter((a) => a.line === b.kernel.countLine(parent[pid]))).toHaveLength(1);
  });

  it("fork with m = 2 new namespaces under nsproxy creates a new nsproxy and 2 namespaces, takes 6 increments and puts nothing", () => {
    const b = bench("nsproxy");
    const parent = b.worker(0).attach;
    const r = b.run(0, (k, w) => b.scheme.fork(k, w, parent, bit("uts", "ipc")));
    expect(r.created.map((o) => o.type).sort()).toEqual([OBJ_NAMESPACE, OBJ_NAMESPACE, OBJ_NSPROXY].sort());
    expect(increments(r.accesses)).toHaveLength(6);
    expect(atomics(r.accesses)).toHaveLength(6);
  });
});

/** An access reading the first variable (loopback_dev): the scheme's pointer chase, then the layout's lines. */
function readVar(k: Kernel, w: StepWriter, t: Task): void {
  k.vars.access(k, w, k.scheme.access(k, w, t.attach, t.id), [0], []);
}

describe("access(var): reads on the way to a per-container variable", () => {
  it.each([
    ["none", 2],
    ["clone-flags", 3],
    ["container", 3],
    ["percpu", 3],
    ["sloppy", 3],
    ["refcache", 3],
    ["nsproxy", 4],
  ] as const)("under %s an access reads %i lines and writes none", (scheme, n) => {
    const b = bench(scheme);
    const task = b.worker(0);
    const r = b.run(0, (k, w) => readVar(k, w, task));
    expect(r.accesses).toHaveLength(n);
    expect(reads(r.accesses)).toHaveLength(n);
    expect(distinctLines(r.accesses)).toBe(n);
    // The task's pointer: econtainer beside `current` on thread_info; nsproxy and the
    // per-namespace pointers are task_struct fields, on a line of their own.
    const taskStruct = scheme === "nsproxy" || scheme === "clone-flags";
    expect(r.accesses[0].line).toBe(taskStruct ? b.kernel.taskStructLine(task.id) : b.kernel.threadInfoLine(task.id));
    expect(b.kernel.taskStructLine(task.id)).not.toBe(b.kernel.threadInfoLine(task.id));
  });

  it("under nsproxy the chain is task -> nsproxy -> net namespace -> variable", () => {
    const b = bench("nsproxy");
    const task = b.worker(0);
    const np = task.attach[0];
    const net = b.kernel.object(np).holds[KINDS.indexOf("net")];
    const r = b.run(0, (k, w) => readVar(k, w, task));
    const k = b.kernel;
    expect(r.accesses.map((a) => a.line)).toEqual([k.taskStructLine(task.id), k.readLine(np), k.readLine(net), k.varsLine(net)]);
  });

  it("under clone-flags the chain is task -> net namespace -> variable; under none, task -> global variable", () => {
    const cf = bench("clone-flags");
    const t = cf.worker(0);
    const net = t.attach[KINDS.indexOf("net")];
    const k = cf.kernel;
    expect(cf.run(0, (kk, w) => readVar(kk, w, t)).accesses.map((a) => a.line)).toEqual([
      k.taskStructLine(t.id),
      k.readLine(net),
      k.varsLine(net),
    ]);
    const none = bench("none");
    const u = none.worker(0);
    expect(none.run(0, (kk, w) => readVar(kk, w, u)).accesses.map((a) => a.line)).toEqual([
      none.kernel.threadInfoLine(u.id),
      none.kernel.varsLine(none.kernel.globalObject),
    ]);
  });

  it("with the shared layout the read-mostly fields sit on the count line: the container read touches the line a fork increments", () => {
    const b = bench("container", "linux", "shared");
    const task = b.worker(0);
    const read = b.run(0, (k, w) => readVar(k, w, task));
    const fork = b.run(0, (k, w) => b.scheme.fork(k, w, task.attach, 0));
    expect(read.accesses.map((a) => a.line)).toContain(fork.accesses[0].line);
    const separate = bench("container");
    const t2 = separate.worker(0);
    const read2 = separate.run(0, (k, w) => readVar(k, w, t2));
    const fork2 = separate.run(0, (k, w) => separate.scheme.fork(k, w, t2.attach, 0));
    expect(read2.accesses.map((a) => a.line)).not.toContain(fork2.accesses[0].line);
  });
});
