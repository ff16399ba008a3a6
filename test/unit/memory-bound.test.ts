import { getHeapStatistics } from "node:v8";
import { describe, expect, it } from "vitest";
import { checkProjectedMemory, memoryLimit } from "../../coordinator/memory-limit.ts";
import { UsageError } from "../../coordinator/usage-error.ts";
import { Simulation } from "../../shared/simulation.ts";
import { estimateMemory, parseBytes } from "../../shared/spec/memory-estimate.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";
import { runOf } from "./support/spec.ts";
import { MemoryRefusalError, runPartition, subjects, workerMemoryLimit } from "../../worker/partition-runner.ts";
import { MemoryBus } from "../../worker/transport/memory.ts";
import { newRunId, newRunSecret, runPrefix } from "../../coordinator/run-id.ts";

// Memory must not grow with simulated time: under linux-6 a freed object's memory goes back to a
// slab list and the next object of its kind reuses it, so the object table holds the live
// objects, the live tasks, the set-up globals and the free lists, whatever the duration. Counted
// in simulated objects and lines, not bytes, so the test does not depend on the garbage collector.

function state(doc: Record<string, unknown>) {
  const sim = new Simulation(runOf(doc));
  const r = sim.run();
  const k = sim.kernel;
  let lines = 0;
  for (const h of sim.homes) for (const _ of h.entries()) lines++;
  let cached = 0;
  for (const c of sim.cpus) cached += c.heldEntries().length / 2;
  const onLists = new Set<number>();
  for (const st of k.perCpu) for (const l of st.slab.lists) for (let i = 0; i < l.length; i += 2) onLists.add(l[i]);
  for (const n of k.slabNodes) for (const l of n.partial) for (let i = 0; i < l.length; i += 2) onLists.add(l[i]);
  const free = onLists.size;
  // Kernel data set up before the run: global objects, and kernel threads (tasks that are not
  // workload tasks, such as the netns cleanup worker), created at time 0.
  let globals = 0;
  for (const o of k.objects.all()) if (o.type === 4 || (o.type === 0 && o.createdPs === 0 && !k.tasks.has(o.id) && !onLists.has(o.id))) globals++;
  // Latency histogram buckets (metrics/latency-histogram.ts) and the per-CPU records of objects.
  let buckets = 0;
  for (const c of sim.cpus) for (const h of c.stats.latencyPsByKind) buckets += h.buckets;
  let records = 0;
  for (const st of k.perCpu) records += st.awaiting.slots.length + 3 * st.awaiting.objects.size + st.freed.length + st.switched.length + st.switchedGen.length + st.refcacheDirty.size + st.violations.length;
  return { kObjects: [...k.objects.all()], taskIds: new Set(k.tasks.keys()), buckets, records, ops: r.totalOps, ok: r.invariants.ok, table: k.objects.size, live: r.memory.liveObjectsAtEnd, tasks: k.tasks.size, free, globals, lines, cached };
}

const storm = { machine: "small-4", cpus: [4], schemes: ["nsproxy"], workload: "fork-storm", warmup: "100us" };
const churn = { machine: "small-4", cpus: [4], schemes: ["percpu"], workload: "container-churn", warmup: "1ms" };

describe("memory does not grow with simulated time", () => {
  for (const [name, doc, short] of [
    ["fork-storm, nsproxy", storm, "1ms"],
    ["container-churn, percpu", churn, "5ms"],
  ] as const) {
    it(`${name}: a run 10x longer keeps the object table within the live objects and the slab limits, and lines and caches with it`, () => {
      const long = `${Number.parseInt(short) * 10}ms`;
      const a = state({ ...doc, duration: short });
      const b = state({ ...doc, duration: long });
      expect(a.ok && b.ok).toBe(true);
      expect(b.ops).toBeGreaterThan(8 * a.ops);
      // Every record is a live object, a live task, a set-up global or free memory on a slab list.
      expect(b.table).toBe(b.live + b.tasks + b.globals + b.free);
      // Free memory stays within the per-CPU limits (SLUB's cpu partial objects per cache) and
      // what moves between them through the node lists.
      const limits = new Simulation(runOf({ ...doc, duration: short })).kernel.slabLimits.reduce((x, y) => x + y, 0);
      expect(b.free).toBeLessThanOrEqual(1.5 * 4 * limits);
      // fork-storm's caches settle within the short run: the long one's table is no larger, nor
      // are its latency histograms (a bucket per distinct latency within 0.05%, not a sample per
      // operation) or its per-CPU records of objects.
      if (doc === storm) {
        expect(b.table).toBeLessThan(1.5 * a.table);
        expect(b.buckets).toBeLessThanOrEqual(1.5 * a.buckets);
        expect(b.buckets).toBeLessThan(b.ops / 10);
        expect(b.records).toBe(0);
      }
      // Lines are those of the table's memory (4 per object, one per CPU for per-CPU data), and
      // a cache holds lines: bounded with it.
      expect(b.lines).toBeLessThanOrEqual(b.table * (4 + 4));
      expect(b.cached).toBeLessThanOrEqual(b.lines * 4);
    });
  }

  it("container-churn, percpu: the records of counters that switched mode hold each piece of memory once, not one entry per object that lived in it", () => {
    // When each switch had its own entry, this run's CPUs recorded 322 switches of 308 pieces of
    // memory (and a 3.2 s run 2,577, more than its table's 1,659 records: one per object ever).
    const sim = new Simulation(runOf({ ...churn, duration: "400ms" }));
    const r = sim.run();
    expect(r.invariants.ok).toBe(true);
    let switched = 0;
    for (const st of sim.kernel.perCpu) {
      switched += st.switched.length;
      expect(new Set(st.switched).size).toBe(st.switched.length);
    }
    expect(r.totalOps).toBeGreaterThan(3000);
    expect(switched).toBeGreaterThan(0);
    expect(switched).toBeLessThanOrEqual(sim.kernel.objects.size);
  });

  it("container-churn, percpu: the count of namespaces awaiting free keeps a net change per CPU per sampling slot and an entry per piece of memory, not one record per change", () => {
    // Before, each change was kept with its time (three numbers): 644 changes here, 1,932 numbers,
    // growing with the run. Now at most 1,025 slots a CPU, and object entries only while a CPU's
    // changes for one piece of memory do not net to zero.
    const sim = new Simulation(runOf({ ...churn, duration: "400ms" }));
    const k = sim.kernel;
    let changes = 0;
    const note = k.noteAwaitingFree.bind(k);
    k.noteAwaitingFree = (obj, delta) => {
      changes++;
      note(obj, delta);
    };
    const r = sim.run();
    expect(r.invariants.ok).toBe(true);
    expect(r.memory.awaitingFreePeak).toBeGreaterThan(0);
    let slots = 0;
    let entries = 0;
    for (const st of k.perCpu) {
      expect(st.awaiting.slots.length / 2).toBeLessThanOrEqual(1025);
      slots += st.awaiting.slots.length / 2;
      entries += st.awaiting.objects.size;
      for (const id of st.awaiting.objects.keys()) expect(k.objects.has(id)).toBe(true);
    }
    expect(changes).toBeGreaterThan(500);
    expect(slots).toBeLessThan(changes);
    expect(entries).toBeLessThanOrEqual(k.objects.size);
  });

  it("under refcounts-only exited tasks are reclaimed: fork-storm's table, lines and caches stay those of its live tasks, 10x longer", () => {
    const a = state({ ...storm, duration: "1ms", kernel: "refcounts-only" });
    const b = state({ ...storm, duration: "10ms", kernel: "refcounts-only" });
    expect(a.ok && b.ok).toBe(true);
    expect(b.ops).toBeGreaterThan(8 * a.ops);
    // Without the reclaim: 1,354 records and 2,720 lines after 10 ms (18 and 48 with it), growing with the run.
    expect(b.table).toBe(b.live + b.tasks + b.globals);
    expect(b.table).toBeLessThanOrEqual(a.table + 4);
    // A task owns at most four lines (thread_info, task_struct, siglock, mode word), a live object
    // five and its per-CPU lines, cached at most once a CPU beside the memory's copy.
    expect(b.lines).toBeLessThanOrEqual(4 * b.tasks + (5 + 4) * (b.live + b.globals));
    expect(b.cached).toBeLessThanOrEqual(b.lines * 4);
    expect(b.lines).toBeLessThanOrEqual(a.lines + 16);
  });

  it("under refcounts-only freed namespaces and bundles are reclaimed too: with a new namespace on every fork, the table after a run 10x longer is its live objects and tasks", () => {
    // Kept, this run's table grew with every fork: 2,014 records after 1 ms, 20,002 after 10 ms.
    const forks = { ...storm, kernel: "refcounts-only", workload: { preset: "fork-storm", fork: { newNamespaces: ["uts"] } } };
    const a = state({ ...forks, duration: "1ms" });
    const b = state({ ...forks, duration: "10ms" });
    expect(a.ok && b.ok).toBe(true);
    expect(b.ops).toBeGreaterThan(8 * a.ops);
    expect(b.table).toBe(b.live + b.tasks + b.globals);
    expect(b.table).toBeLessThanOrEqual(a.table + 8);
    expect(b.lines).toBeLessThanOrEqual(a.lines + 32);
    for (const o of b.kObjects) if (o.type === 0) expect(o.createdPs === 0 || b.taskIds.has(o.id)).toBe(true);
  });
});

describe("projected memory", () => {
  const spec = (doc: Record<string, unknown>) => resolveSpec(parseSpec({ machine: "small-4", cpus: [1], schemes: ["none"], workload: "fork-storm", ...doc }));

  it("does not grow with the duration under linux-6 (latencies in bounded histograms, freed memory reused), nor under refcounts-only (retired memory reclaimed)", () => {
    const one = estimateMemory(planRuns(spec({ duration: "1s" }))[0]);
    const ten = estimateMemory(planRuns(spec({ duration: "10s" }))[0]);
    expect(ten.operations).toBeGreaterThan(9 * one.operations);
    expect(ten.bytes).toBe(one.bytes);
    // fork-storm on one CPU completes about 67,000 operations a simulated second (golden figures).
    expect(one.operations).toBeGreaterThan(50_000);
    expect(one.operations).toBeLessThan(100_000);
    // refcounts-only: what a run retires is reclaimed one to two reclaim periods later (100 us
    // each), so it holds what the last two retired, the same for 10 s as for 100 s, split or not.
    const fresh = (duration: string, partitions = 1, newNamespaces: string[] = []) =>
      estimateMemory(planRuns(spec({ duration, kernel: "refcounts-only", workload: { preset: "fork-storm", fork: { newNamespaces } } }))[0], partitions).bytes;
    expect(fresh("100s")).toBe(fresh("10s"));
    expect(fresh("10s") - one.bytes).toBeGreaterThan(0);
    expect(fresh("10s") - one.bytes).toBeLessThan(100 * 1024);
    expect(fresh("100s", 2)).toBe(fresh("10s", 2));
    expect(fresh("100s", 1, ["uts"])).toBe(fresh("10s", 1, ["uts"]));
    expect(fresh("10s", 1, ["uts"])).toBeGreaterThan(fresh("10s"));
    // Shorter than two periods, a run keeps all it retired.
    expect(fresh("100us", 1, ["uts"])).toBeGreaterThan(fresh("50us", 1, ["uts"]));
    // More CPUs, more memory.
    expect(estimateMemory(planRuns(spec({ duration: "1s", cpus: [4] }))[0]).bytes).toBeGreaterThan(3 * one.bytes);
  });

  it("does not grow with the duration for per-CPU counters that destroy namespaces either: their awaiting-free slots fill and stop", () => {
    const churn = (duration: string) => estimateMemory(planRuns(spec({ duration, schemes: ["percpu"], workload: "container-churn" }))[0]);
    const ten = churn("10s");
    const hundred = churn("100s");
    expect(hundred.operations).toBeGreaterThan(9 * ten.operations);
    expect(hundred.bytes).toBe(ten.bytes);
    // 16.4 KB of slots a CPU at most, beside what every run holds.
    expect(ten.bytes - estimateMemory(planRuns(spec({ duration: "10s", workload: "container-churn" }))[0]).bytes).toBe(1025 * 16);
  });

  it("refuses a run whose estimate exceeds the limit, in one line with the estimate and the limit; a long run is no longer refused", () => {
    // What still takes memory is the machine: 48 KB a CPU of caches, kernel state and histograms.
    const big = spec({ machine: "numa-4096", cpus: [4096], duration: "9000s" });
    let message = "";
    try {
      checkProjectedMemory(big, 1, parseBytes("64MiB"));
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/^projected memory \d+ MiB for none at 4096 CPUs \(9000s simulated, about \d\.\de\+\d+ operations\) exceeds the limit of 64 MiB/);
    expect(message).not.toContain("\n");
    // Split over workers, each process holds a share; a default run is far below any limit.
    expect(() => checkProjectedMemory(big, 1000, parseBytes("64MiB"))).not.toThrow();
    const long = spec({ duration: "9000s", kernel: "refcounts-only", workload: { preset: "fork-storm", fork: { newNamespaces: ["uts"] } } });
    expect(() => checkProjectedMemory(long, 1, parseBytes("64MiB"))).not.toThrow();
    expect(() => checkProjectedMemory(spec({}), 1, parseBytes("64MiB"))).not.toThrow();
    // 9000 s under linux-6 held every latency sample before (16 B an operation, 9.2 GiB): now bounded.
    expect(() => checkProjectedMemory(spec({ duration: "9000s" }), 1, parseBytes("64MiB"))).not.toThrow();
  });

  it("a worker refuses a partition projected past its limit with the coordinator's line, tells the coordinator, and builds nothing", async () => {
    const long = spec({ machine: "numa-4096", cpus: [4096], duration: "9000s" });
    const bus = new MemoryBus();
    const run = newRunId();
    const prefix = runPrefix(run);
    const heard: string[] = [];
    const listener = bus.connect();
    listener.subscribe(subjects.failure(prefix), (m) => heard.push(m.subject));
    await listener.flush();
    const job = { run, prefix, secret: newRunSecret(), spec: long, runIndex: 0, partitions: 1, partition: 0 };
    let coordinatorLine = "";
    try {
      checkProjectedMemory(long, 1, parseBytes("64MiB"));
    } catch (e) {
      coordinatorLine = (e as Error).message;
    }
    const refused = runPartition(bus.connect(), job, { memoryLimitBytes: parseBytes("64MiB"), timeoutMs: 2000 });
    await expect(refused).rejects.toBeInstanceOf(MemoryRefusalError);
    await expect(refused).rejects.toThrow(coordinatorLine);
    expect(coordinatorLine).toMatch(/^projected memory /);
    await listener.flush();
    expect(heard).toEqual([subjects.failure(prefix)]);
    await listener.close();
  });

  it("reads sizes people write", () => {
    expect(parseBytes("4GiB")).toBe(4 * 2 ** 30);
    expect(parseBytes("512 MiB")).toBe(512 * 2 ** 20);
    expect(parseBytes("2GB")).toBe(2e9);
    expect(parseBytes("123")).toBe(123);
    expect(parseBytes("lots")).toBeNaN();
    expect(memoryLimit("8GiB")).toBe(8 * 2 ** 30);
    expect(() => memoryLimit("lots")).toThrow(new UsageError('--memory-limit: "lots" is not a size (e.g. 4GiB, 512MiB, 2GB)'));
  });

  it("a worker reads $REFSIM_MEMORY_LIMIT by the coordinator's rule: a malformed value is an error naming it, not the heap limit", () => {
    const before = process.env.REFSIM_MEMORY_LIMIT;
    try {
      process.env.REFSIM_MEMORY_LIMIT = "2GiB";
      expect(workerMemoryLimit()).toBe(2 * 2 ** 30);
      process.env.REFSIM_MEMORY_LIMIT = "lots";
      expect(() => workerMemoryLimit()).toThrow(new UsageError('REFSIM_MEMORY_LIMIT: "lots" is not a size (e.g. 4GiB, 512MiB, 2GB)'));
      process.env.REFSIM_MEMORY_LIMIT = "";
      expect(workerMemoryLimit()).toBe(getHeapStatistics().heap_size_limit);
    } finally {
      if (before === undefined) delete process.env.REFSIM_MEMORY_LIMIT;
      else process.env.REFSIM_MEMORY_LIMIT = before;
    }
  });
});
