import fc from "fast-check";
import { ALL_NAMESPACE_KINDS, NAMESPACE_SETS } from "../../../shared/spec/spec.ts";
import { PLACEMENTS } from "../../../shared/workloads/workload.ts";

export const SHORT_COSTS = {
  fork: "2us",
  exit: "1us",
  migrate: "500ns",
  unshare: "500ns",
  setns: "500ns",
  containerCreate: "2us",
  containerDestroy: "500ns",
  nsCreate: "1us",
  netnsCreate: "2us",
};

/**
 * Random small experiments on small-4: a random operation mix (every operation kind may appear),
 * random placements, container layouts and nesting, unshare/setns kinds, short durations and
 * short RCU grace periods and refcache epochs so that frees happen inside the run.
 */
export function arbitrarySpec(scheme: string): fc.Arbitrary<Record<string, unknown>> {
  const weight = fc.integer({ min: 0, max: 4 });
  return fc
    .record({
      seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      cpus: fc.integer({ min: 2, max: 4 }),
      namespaces: fc.constantFrom("linux", "linux-2006"),
      layout: fc.constantFrom("separate", "shared"),
      warmup: fc.constantFrom("0ns", "10us"),
      mix: fc.record({ fork: weight, access: weight, unshare: weight, setns: weight, migrate: weight, churn: weight, hotInc: fc.integer({ min: 0, max: 1 }) }),
      placement: fc.constantFrom(...PLACEMENTS),
      tasksPerCpu: fc.integer({ min: 1, max: 2 }),
      containers: fc.record({ count: fc.integer({ min: 1, max: 3 }), nesting: fc.integer({ min: 0, max: 2 }), pinToSockets: fc.boolean() }),
      think: fc.constantFrom("0ns", "200ns", "1us"),
      childWork: fc.constantFrom("1us", "5us"),
      churnTasks: fc.integer({ min: 1, max: 3 }),
      migrateScope: fc.constantFrom("socket", "machine"),
      kindPicks: fc.record({
        fork: fc.subarray([...ALL_NAMESPACE_KINDS], { maxLength: 3 }),
        unshare: fc.subarray([...ALL_NAMESPACE_KINDS], { minLength: 1, maxLength: 3 }),
        setns: fc.constantFrom(...ALL_NAMESPACE_KINDS),
      }),
      sloppyBatch: fc.integer({ min: 1, max: 4 }),
      sloppyExtra: fc.integer({ min: 0, max: 4 }),
      grace: fc.constantFrom("2us", "10us", "30us"),
      epoch: fc.constantFrom("40us", "60us"),
    })
    .map((r) => {
      const kinds = NAMESPACE_SETS[r.namespaces];
      const inSet = (k: string) => (kinds.includes(k) ? k : kinds[ALL_NAMESPACE_KINDS.indexOf(k as never) % kinds.length]);
      const unique = (ks: string[]) => [...new Set(ks.map(inSet))];
      const mix = Object.values(r.mix).some((v) => v > 0) ? r.mix : { ...r.mix, fork: 1 };
      return {
        machine: "small-4",
        cpus: [r.cpus],
        schemes: [scheme],
        seed: r.seed,
        namespaces: r.namespaces,
        layout: r.layout,
        duration: "200us",
        warmup: r.warmup,
        // Short fixed costs: many operations per run, and every operation far shorter than a
        // refcache epoch (see the refcache test in invariants.property.test.ts for why).
        costs: SHORT_COSTS,
        options: { sloppyBatch: r.sloppyBatch, sloppyMaxSpares: r.sloppyBatch + r.sloppyExtra, rcuGracePeriod: r.grace, refcacheEpoch: r.epoch },
        workload: {
          description: "random",
          duration: "200us",
          warmup: "0ns",
          tasksPerCpu: r.tasksPerCpu,
          containers: r.containers,
          mix,
          think: r.think,
          fork: { placement: r.placement, newNamespaces: unique(r.kindPicks.fork), childWork: r.childWork },
          unshare: { namespaces: unique(r.kindPicks.unshare) },
          setns: { namespace: inSet(r.kindPicks.setns) },
          migrate: { scope: r.migrateScope },
          churn: { tasks: r.churnTasks },
        },
      };
    });
}
