import { SpecError } from "../engine/errors.ts";
import { findMachinePreset, type MachinePreset } from "../machine/presets.ts";
import { isMachineFilePath } from "../machine/machine-file.ts";
import { totalCpus } from "../machine/machine.ts";
import { DEFAULT_COSTS, NS_CREATE_COST } from "../kernel/costs.ts";
import { SCHEME_NAMES, type SchemeName } from "../schemes/scheme.ts";
import type { KernelCostsPs, SchemeOptions } from "../schemes/scheme.ts";
import type { ResolvedWorkload } from "../workloads/workload.ts";
import { formatDurationPs, parseDurationPs } from "./duration.ts";
import { SpecIssues } from "./issues.ts";
import { experimentSeeds } from "./seeds.ts";
import { checkCpusFit, resolveWorkloadBody } from "./parse.ts";
import { NAMESPACE_SETS, type Spec, type WorkloadBody } from "./spec.ts";
import type { KernelProfile } from "../kernel-path/profile.ts";
import { DEFAULT_VARIABLES, type VarsConfig } from "../container-vars/vars.ts";

/** Everything one run needs: a scheme on a machine with a CPU count, under a workload. */
export interface RunConfig {
  machine: MachinePreset;
  cpuCount: number;
  scheme: SchemeName;
  seed: number;
  workload: ResolvedWorkload;
  durationPs: number;
  warmupPs: number;
  kinds: string[];
  layoutShared: boolean;
  /** Per-container variables and their layout (shared/container-vars). */
  vars: VarsConfig;
  /** How much of the kernel's own fork and exit path runs (kernel-path/profile.ts). */
  kernel: KernelProfile;
  costs: KernelCostsPs;
  options: SchemeOptions;
}

/** A spec with every default filled in, as results.json records it. */
export interface ResolvedSpec {
  name: string;
  seed: number;
  /** How many seeds every scheme and CPU count runs with (experimentSeeds(seed, seeds)); absent: 1. */
  seeds?: number;
  /** The machine's name (a preset's, or the one inside a machine file). */
  machine: string;
  /** A machine file's path as the spec wrote it, and the machine it holds (absent for presets). */
  machineFile?: string;
  machineDefinition?: MachinePreset;
  cpus: number[];
  schemes: SchemeName[];
  namespaces: string[];
  layout: "separate" | "shared";
  vars: VarsConfig;
  kernel: KernelProfile;
  duration: string;
  warmup: string;
  workloadName: string;
  workload: WorkloadBody;
  costs: Record<string, string>;
  options: { sloppyBatch: number; sloppyMaxSpares: number; refcacheEpoch: string; rcuGracePeriod: string };
}

export const DEFAULT_OPTIONS = { sloppyBatch: 8, sloppyMaxSpares: 16, refcacheEpoch: "1ms", rcuGracePeriod: "1ms" } as const;

function ps(text: string, path: string): number {
  const v = parseDurationPs(text);
  if (v === null) throw new SpecError(path, `malformed duration "${text}"`);
  return v;
}

function kindMask(kinds: readonly string[], names: readonly string[], path: string): number {
  let mask = 0;
  for (const name of names) {
    const i = kinds.indexOf(name);
    if (i < 0) throw new SpecError(path, `namespace kind "${name}" is not among the configured kinds (${kinds.join(", ")})`);
    mask |= 1 << i;
  }
  return mask;
}

/**
 * The warm-up when the spec gives none: the workload's, or, when the spec sets the duration,
 * the same fraction of that duration as the workload's warm-up is of its own duration.
 */
function defaultWarmup(spec: Spec, body: WorkloadBody): string {
  if (spec.duration === undefined) return body.warmup;
  const given = parseDurationPs(spec.duration);
  const bodyDuration = parseDurationPs(body.duration);
  const bodyWarmup = parseDurationPs(body.warmup);
  if (given === null || bodyDuration === null || bodyWarmup === null || bodyDuration === 0) return body.warmup;
  return formatDurationPs(Math.floor((given * bodyWarmup) / bodyDuration));
}

/** The machine a resolved spec runs on. */
export function machineOf(r: ResolvedSpec): MachinePreset {
  const machine = r.machineDefinition ?? findMachinePreset(r.machine);
  if (machine === undefined) throw new SpecError("machine", `unknown machine preset "${r.machine}"`);
  return machine;
}

/**
 * Fills in defaults and checks what the schema alone cannot (CPU counts against the machine,
 * namespace kinds the workload names, the warm-up against the duration). Throws one SpecError
 * listing every problem. A spec whose machine is a file's path finds that machine in
 * `machineFiles`, keyed by the path as the spec wrote it (the coordinator reads the files:
 * coordinator/machine-file.ts).
 */
export function resolveSpec(spec: Spec, machineFiles: ReadonlyMap<string, MachinePreset> = new Map()): ResolvedSpec {
  const fromFile = isMachineFilePath(spec.machine);
  const machine = fromFile ? machineFiles.get(spec.machine) : findMachinePreset(spec.machine);
  if (machine === undefined) throw new SpecError("machine", fromFile ? `machine file ${spec.machine} was not read` : `unknown machine preset "${spec.machine}"`);
  const issues = new SpecIssues();
  if (!fromFile) checkCpusFit(machine.name, spec.cpus, issues);
  else {
    const total = totalCpus(machine);
    spec.cpus.forEach((n, i) => n > total && issues.add(`cpus.${i}`, `${machine.name} (${spec.machine}) has ${total} CPUs; cannot run on ${n}`));
  }
  let resolved: { name: string; body: WorkloadBody } | undefined;
  issues.catch(() => (resolved = resolveWorkloadBody(spec.workload)));
  const namespaces = typeof spec.namespaces === "string" ? [...NAMESPACE_SETS[spec.namespaces]] : [...spec.namespaces];
  if (new Set(namespaces).size !== namespaces.length) issues.add("namespaces", "a namespace kind is listed twice");
  const options = {
    sloppyBatch: spec.options.sloppyBatch ?? DEFAULT_OPTIONS.sloppyBatch,
    sloppyMaxSpares: spec.options.sloppyMaxSpares ?? DEFAULT_OPTIONS.sloppyMaxSpares,
    refcacheEpoch: spec.options.refcacheEpoch ?? DEFAULT_OPTIONS.refcacheEpoch,
    rcuGracePeriod: spec.options.rcuGracePeriod ?? DEFAULT_OPTIONS.rcuGracePeriod,
  };
  if (options.sloppyMaxSpares < options.sloppyBatch) issues.add("options.sloppyMaxSpares", `must be at least sloppyBatch (${options.sloppyBatch})`);
  if (resolved === undefined) {
    issues.throwIfAny();
    throw new SpecError("workload", "cannot be resolved");
  }
  const { name: workloadName, body } = resolved;
  const duration = spec.duration ?? body.duration;
  const warmup = spec.warmup ?? defaultWarmup(spec, body);
  if (ps(warmup, "warmup") >= ps(duration, "duration")) {
    issues.add("warmup", `warm-up ${warmup}${spec.warmup === undefined ? " (the default)" : ""} must be shorter than the duration ${duration}`);
  }
  issues.catch(() => kindMask(namespaces, body.fork.newNamespaces, "workload.fork.newNamespaces"));
  issues.catch(() => kindMask(namespaces, body.unshare.namespaces, "workload.unshare.namespaces"));
  issues.catch(() => kindMask(namespaces, [body.setns.namespace], "workload.setns.namespace"));
  const vars = resolveVars(spec, namespaces, body, issues);
  issues.throwIfAny();
  const costs: Record<string, string> = { ...DEFAULT_COSTS };
  for (const [k, v] of Object.entries(spec.costs)) if (v !== undefined) costs[k] = v;
  const schemes = spec.schemes === "all" ? [...SCHEME_NAMES] : [...new Set(spec.schemes)];
  return {
    name: spec.name ?? `${workloadName} on ${machine.name}`,
    seed: spec.seed,
    // Written only when above 1, so a one-seed experiment resolves (and its sweep points hash) as before.
    ...(spec.seeds > 1 ? { seeds: spec.seeds } : {}),
    machine: machine.name,
    ...(fromFile ? { machineFile: spec.machine, machineDefinition: machine } : {}),
    cpus: [...new Set(spec.cpus)].sort((a, b) => a - b),
    schemes,
    namespaces,
    layout: spec.layout,
    vars,
    kernel: spec.kernel,
    duration,
    warmup,
    workloadName,
    workload: body,
    costs,
    options,
  };
}

/**
 * The spec's variables with each one's namespace kind filled in (the kind holding per-container
 * variables, net if configured, when none is given), checked against the configured kinds and
 * against what the workload's accesses name.
 */
function resolveVars(spec: Spec, kinds: readonly string[], body: WorkloadBody, issues: SpecIssues): VarsConfig {
  const given = spec.vars.variables;
  const fallback = kinds.includes("net") ? "net" : kinds[0];
  const variables = (given ?? DEFAULT_VARIABLES).map((v) => ({ ...v, namespace: v.namespace ?? fallback }));
  const where = given === undefined ? "vars (the default variables)" : "vars.variables";
  variables.forEach((v, i) => {
    if (variables.findIndex((u) => u.name === v.name) !== i) issues.add(`vars.variables.${i}.name`, `variable "${v.name}" is declared twice`);
    if (!kinds.includes(v.namespace)) issues.add(given === undefined ? where : `vars.variables.${i}.namespace`, `namespace kind "${v.namespace}" is not among the configured kinds (${kinds.join(", ")})`);
  });
  const access = body.access;
  if (access !== undefined) {
    const check = (names: readonly string[], field: "read" | "write") =>
      names.forEach((name, i) => {
        const v = variables.find((u) => u.name === name);
        const at = `workload.access.${field}.${i}`;
        if (v === undefined) issues.add(at, `unknown variable "${name}" (${where} declares: ${variables.map((u) => u.name).join(", ")})`);
        else if (field === "read" && v.class !== "read") issues.add(at, `variable "${name}" is a ${v.class} counter; an access reads only read-mostly variables`);
        else if (field === "write" && v.class === "read") issues.add(at, `variable "${name}" is read-mostly; an access increments only written or percpu variables`);
      });
    check(access.read, "read");
    check(access.write, "write");
  }
  return { layout: spec.vars.layout, padded: spec.vars.padded, variables };
}

/** The variable indices an access reads and writes (every read-mostly one when the workload names none). */
function accessVars(vars: VarsConfig, body: WorkloadBody): { reads: number[]; writes: number[] } {
  const index = (name: string) => vars.variables.findIndex((v) => v.name === name);
  if (body.access === undefined) return { reads: vars.variables.flatMap((v, i) => (v.class === "read" ? [i] : [])), writes: [] };
  return { reads: body.access.read.map(index), writes: body.access.write.map(index) };
}

/** The runs of an experiment: every scheme at every CPU count for each seed, in a fixed order. */
export function planRuns(r: ResolvedSpec): RunConfig[] {
  const machine = machineOf(r);
  const kinds = r.namespaces;
  const b = r.workload;
  const access = accessVars(r.vars, b);
  const workload: ResolvedWorkload = {
    name: r.workloadName,
    description: b.description,
    tasksPerCpu: b.tasksPerCpu,
    containers: b.containers,
    mix: b.mix,
    thinkPs: ps(b.think, "workload.think"),
    placement: b.fork.placement,
    forkNewKinds: kindMask(kinds, b.fork.newNamespaces, "workload.fork.newNamespaces"),
    childWorkPs: ps(b.fork.childWork, "workload.fork.childWork"),
    unshareKinds: kindMask(kinds, b.unshare.namespaces, "workload.unshare.namespaces"),
    setnsKind: kinds.indexOf(b.setns.namespace),
    migrateScope: b.migrate.scope,
    churnTasks: b.churn.tasks,
    accessReads: access.reads,
    accessWrites: access.writes,
  };
  const c = r.costs;
  const nsCreate = ps(c.nsCreate, "costs.nsCreate");
  const netns = ps(c.netnsCreate, "costs.netnsCreate");
  const costs: KernelCostsPs = {
    forkPs: ps(c.fork, "costs.fork"),
    exitPs: ps(c.exit, "costs.exit"),
    migratePs: ps(c.migrate, "costs.migrate"),
    unsharePs: ps(c.unshare, "costs.unshare"),
    setnsPs: ps(c.setns, "costs.setns"),
    accessPs: ps(c.access, "costs.access"),
    containerCreatePs: ps(c.containerCreate, "costs.containerCreate"),
    containerDestroyPs: ps(c.containerDestroy, "costs.containerDestroy"),
    containerAllocPs: ps(c.containerAlloc, "costs.containerAlloc"),
    nsCreatePs: kinds.map((k) => (k === "net" ? netns : nsCreate)),
    nsCreateLinuxPs: kinds.map((k) => ps(c[NS_CREATE_COST[k]], `costs.${NS_CREATE_COST[k]}`)),
    nsproxyCreatePs: ps(c.nsproxyCreate, "costs.nsproxyCreate"),
    freePs: ps(c.free, "costs.free"),
    refcacheLocalPs: ps(c.refcacheLocal, "costs.refcacheLocal"),
  };
  const options: SchemeOptions = {
    sloppyBatch: r.options.sloppyBatch,
    sloppyMaxSpares: r.options.sloppyMaxSpares,
    refcacheEpochPs: ps(r.options.refcacheEpoch, "options.refcacheEpoch"),
    rcuGracePeriodPs: ps(r.options.rcuGracePeriod, "options.rcuGracePeriod"),
  };
  const runs: RunConfig[] = [];
  // Seed outermost: the first seed's runs come first, in the order of a one-seed experiment.
  for (const seed of experimentSeeds(r.seed, r.seeds ?? 1)) {
    for (const scheme of r.schemes) {
      for (const cpuCount of r.cpus) {
        runs.push({
          machine,
          cpuCount,
          scheme,
          seed,
          workload,
          durationPs: ps(r.duration, "duration"),
          warmupPs: ps(r.warmup, "warmup"),
          kinds,
          layoutShared: r.layout === "shared",
          vars: r.vars,
          kernel: r.kernel,
          costs,
          options,
        });
      }
    }
  }
  return runs;
}
