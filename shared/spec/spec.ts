import { z } from "zod";
import { MACHINE_PRESETS } from "../machine/presets.ts";
import { isMachineFilePath } from "../machine/machine-file.ts";
import { SCHEME_NAMES } from "../schemes/scheme.ts";
import { PLACEMENTS } from "../workloads/workload.ts";
import { WORKLOAD_PRESETS } from "../workloads/presets.ts";
import { parseDurationPs } from "./duration.ts";
import { DEFAULT_KERNEL_PROFILE, KERNEL_PROFILES } from "../kernel-path/profile.ts";
import { VAR_CLASSES, VAR_LAYOUTS } from "../container-vars/vars.ts";

/** Every namespace kind of today's Linux, in clone-flag order. */
export const ALL_NAMESPACE_KINDS = ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"] as const;
export const NAMESPACE_SETS: Readonly<Record<string, readonly string[]>> = {
  linux: ALL_NAMESPACE_KINDS,
  "linux-2006": ["mnt", "uts", "ipc", "pid", "net"],
};

const duration = z
  .string({ error: 'expected a duration such as "2ms", "150us" or "80ns"' })
  .refine((s) => parseDurationPs(s) !== null, { message: 'expected a duration such as "2ms", "150us" or "80ns"' });
/**
 * The shortest refcache epoch and RCU grace period. Refcache's epoch timer re-arms itself on
 * every CPU each epoch, so a 0 epoch never lets simulated time pass (a run that never ends) and
 * one of picoseconds buries the run in timer events; a grace period lasts until every CPU has
 * passed a quiescent state (a context switch), which takes microseconds at the least. 1 us is an
 * assumption, three orders of magnitude under the defaults (1 ms: sv6's refcache epochs and
 * Linux's grace periods run at milliseconds).
 */
export const MIN_TIMER_PERIOD_PS = 1_000_000;
const timerPeriod = (why: string) =>
  duration.refine(
    (s) => {
      const ps = parseDurationPs(s);
      return ps === null || ps >= MIN_TIMER_PERIOD_PS;
    },
    { message: `must be at least 1us: ${why}` },
  );
const kindName = z.enum(ALL_NAMESPACE_KINDS, { error: `expected a namespace kind: ${ALL_NAMESPACE_KINDS.join(", ")}` });
const weight = z.number().min(0).max(1e6);
const varName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, { message: "expected a variable name (letters, digits and _, at most 64)" });

export const workloadSchema = z.strictObject({
  description: z.string(),
  duration,
  warmup: duration,
  tasksPerCpu: z.int().min(1).max(64),
  containers: z.strictObject({
    count: z.int().min(1).max(1_000_000),
    // A top-level container's pid namespace is level 1; each nested level adds one, and Linux
    // stops pid namespaces at level 32 (MAX_PID_NS_LEVEL, see shared/schemes/depth.ts).
    nesting: z.int().min(0).max(31),
    pinToSockets: z.boolean(),
  }),
  mix: z
    .strictObject({
      fork: weight,
      access: weight,
      unshare: weight,
      setns: weight,
      migrate: weight,
      churn: weight,
      hotInc: weight,
      localInc: weight.optional(),
      getPut: weight.optional(),
    })
    .refine((m) => Object.values(m).some((v) => v > 0), { message: "at least one operation needs a weight above 0" }),
  think: duration,
  fork: z.strictObject({
    placement: z.enum(PLACEMENTS, { error: `expected one of ${PLACEMENTS.join(", ")}` }),
    newNamespaces: z.array(kindName),
    childWork: duration,
  }),
  unshare: z.strictObject({ namespaces: z.array(kindName).min(1) }),
  setns: z.strictObject({ namespace: kindName }),
  migrate: z.strictObject({ scope: z.enum(["socket", "machine"]) }),
  churn: z.strictObject({ tasks: z.int().min(1).max(64) }),
  /**
   * The per-container variables (the spec's `vars.variables`) an access reads and increments;
   * absent: it reads every read-mostly variable and writes none.
   */
  access: z.strictObject({ read: z.array(varName), write: z.array(varName) }).optional(),
});

/** A workload in a spec: a preset's name, or an object (optionally `preset:` plus overrides). */
const workloadField = z.union([z.string(), z.record(z.string(), z.unknown())], {
  error: `expected a workload preset name (${Object.keys(WORKLOAD_PRESETS).join(", ")}) or a workload object`,
});

const costField = duration.optional();

const MACHINE_EXPECTED =
  `expected a machine preset: ${MACHINE_PRESETS.map((m) => m.name).join(", ")}; ` +
  "or a machine file, a path ending in .json (see refsim calibrate)";

export const specSchema = z.strictObject({
  name: z.string().optional(),
  seed: z.int().min(0).max(4294967295).default(1),
  machine: z
    .string({ error: MACHINE_EXPECTED })
    .refine((name) => MACHINE_PRESETS.some((m) => m.name === name) || isMachineFilePath(name), { message: MACHINE_EXPECTED }),
  cpus: z.array(z.int().min(1).max(65536)).min(1),
  /** Repeat every scheme and CPU count with this many seeds (the first is `seed`; shared/spec/seeds.ts). */
  seeds: z.int().min(1).max(100).default(1),
  schemes: z
    .union([z.literal("all"), z.array(z.enum(SCHEME_NAMES)).min(1)], {
      error: `expected "all" or a list of schemes: ${SCHEME_NAMES.join(", ")}`,
    })
    .default("all"),
  namespaces: z
    .union([z.enum(["linux", "linux-2006"]), z.array(kindName).min(1)], {
      error: `expected "linux", "linux-2006" or a list of kinds: ${ALL_NAMESPACE_KINDS.join(", ")}`,
    })
    .default("linux"),
  layout: z.enum(["separate", "shared"]).default("separate"),
  /** Per-container variables and their layout (shared/container-vars). */
  vars: z
    .strictObject({
      layout: z.enum(VAR_LAYOUTS, { error: `expected a variable layout: ${VAR_LAYOUTS.join(", ")}` }).default("native"),
      padded: z.boolean().default(true),
      variables: z
        .array(
          z.strictObject({
            name: varName,
            class: z.enum(VAR_CLASSES, { error: `expected a variable class: ${VAR_CLASSES.join(", ")}` }),
            bytes: z.int().min(1).max(4096),
            namespace: kindName.optional(),
          }),
        )
        .min(1)
        .max(64)
        .optional(),
    })
    .prefault({}),
  kernel: z.enum(KERNEL_PROFILES, { error: `expected a kernel profile: ${KERNEL_PROFILES.join(", ")}` }).default(DEFAULT_KERNEL_PROFILE),
  duration: duration.optional(),
  warmup: duration.optional(),
  workload: workloadField,
  costs: z
    .strictObject({
      fork: costField,
      exit: costField,
      migrate: costField,
      unshare: costField,
      setns: costField,
      access: costField,
      containerCreate: costField,
      containerDestroy: costField,
      containerAlloc: costField,
      nsproxyCreate: costField,
      free: costField,
      refcacheLocal: costField,
      nsCreate: costField,
      netnsCreate: costField,
      mntnsCreate: costField,
      utsnsCreate: costField,
      ipcnsCreate: costField,
      pidnsCreate: costField,
      usernsCreate: costField,
      cgroupnsCreate: costField,
      timensCreate: costField,
    })
    .default({}),
  options: z
    .strictObject({
      sloppyBatch: z.int().min(1).max(1_000_000).optional(),
      sloppyMaxSpares: z.int().min(1).max(1_000_000).optional(),
      refcacheEpoch: timerPeriod("refcache's epoch timer re-arms itself every epoch on every CPU, so a shorter epoch would never let simulated time pass").optional(),
      rcuGracePeriod: timerPeriod("a grace period lasts until every CPU has passed a quiescent state, microseconds at the least").optional(),
    })
    .default({}),
  /** Thresholds the results must meet, as `refsim run --assert` takes them (coordinator/assertions.ts). */
  assert: z.array(z.string()).optional(),
});

export type Spec = z.infer<typeof specSchema>;
export type WorkloadBody = z.infer<typeof workloadSchema>;

/** The JSON Schema of a spec (what `refsim schema` prints). */
export function specJsonSchema(): unknown {
  return z.toJSONSchema(specSchema, { io: "input" });
}
