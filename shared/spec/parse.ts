import { SpecError } from "../engine/errors.ts";
import { findMachinePreset } from "../machine/presets.ts";
import { totalCpus } from "../machine/machine.ts";
import { findWorkloadPreset, WORKLOAD_PRESETS } from "../workloads/presets.ts";
import { describeIssues, SpecIssues } from "./issues.ts";
import { specSchema, workloadSchema, type Spec, type WorkloadBody } from "./spec.ts";

/**
 * Validates a parsed YAML/JSON document as a spec. Throws one SpecError naming every bad field:
 * the schema's findings, and what it cannot see alone (the workload's fields, CPU counts the
 * machine does not have), so a user fixes them all at once.
 */
export function parseSpec(doc: unknown): Spec {
  rejectReservedKeys(doc);
  const r = specSchema.safeParse(doc, { reportInput: true });
  if (r.success) return r.data;
  const issues = new SpecIssues();
  for (const line of describeIssues(r.error.issues, "", specSchema)) issues.add("", line);
  if (typeof doc === "object" && doc !== null) {
    const d = doc as Record<string, unknown>;
    const workloadIsValid = !r.error.issues.some((i) => i.path[0] === "workload");
    if (workloadIsValid && d.workload !== undefined) issues.catch(() => resolveWorkloadBody(d.workload as Spec["workload"]));
    const machineIsValid = !r.error.issues.some((i) => i.path[0] === "machine");
    if (machineIsValid && Array.isArray(d.cpus)) checkCpusFit(String(d.machine), d.cpus, issues);
  }
  issues.throwIfAny();
  throw new SpecError("", "invalid spec");
}

/** Keys that reach an object's prototype when assigned (deepMerge assigns): never fields. */
const RESERVED_KEYS = ["__proto__", "constructor", "prototype"];

/**
 * Throws a SpecError naming every `__proto__`, `constructor` or `prototype` key anywhere in the
 * document, as an unknown field: a workload object passes through a record and a merge, where
 * such a key would set the merged object's prototype instead of being reported.
 */
export function rejectReservedKeys(doc: unknown): void {
  const issues = new SpecIssues();
  const stack: Array<{ value: unknown; path: string }> = [{ value: doc, path: "" }];
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: string };
    if (typeof value !== "object" || value === null) continue;
    for (const key of Object.keys(value)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (!Array.isArray(value) && RESERVED_KEYS.includes(key)) issues.add(at, "unknown field (a reserved name)");
      else stack.push({ value: (value as Record<string, unknown>)[key], path: at });
    }
  }
  issues.throwIfAny();
}

/** Adds an issue for each CPU count (a whole number) larger than the machine. */
export function checkCpusFit(machineName: string, cpus: readonly unknown[], issues: SpecIssues): void {
  const machine = findMachinePreset(machineName);
  if (machine === undefined) return;
  const total = totalCpus(machine);
  cpus.forEach((n, i) => {
    if (typeof n === "number" && Number.isInteger(n) && n > total) issues.add(`cpus.${i}`, `${machine.name} has ${total} CPUs; cannot run on ${n}`);
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

function unknownPreset(name: string): string {
  return `unknown workload preset "${name}" (presets: ${Object.keys(WORKLOAD_PRESETS).join(", ")})`;
}

/** The workload of a spec: a preset, a preset with overrides, or a whole workload object. */
export function resolveWorkloadBody(field: Spec["workload"]): { name: string; body: WorkloadBody } {
  if (typeof field === "string") {
    const preset = findWorkloadPreset(field);
    if (preset === undefined) throw new SpecError("workload", unknownPreset(field));
    return { name: field, body: workloadSchema.parse(preset) };
  }
  const { preset: presetName, name: givenName, ...rest } = field;
  let base: unknown = {};
  let name = "custom";
  if (presetName !== undefined) {
    if (typeof presetName !== "string") throw new SpecError("workload.preset", `expected a workload preset name (presets: ${Object.keys(WORKLOAD_PRESETS).join(", ")})`);
    const preset = findWorkloadPreset(presetName);
    if (preset === undefined) throw new SpecError("workload.preset", unknownPreset(presetName));
    base = preset;
    name = presetName;
  }
  const r = workloadSchema.safeParse(deepMerge(base, rest), { reportInput: true });
  if (!r.success) throw new SpecError("", describeIssues(r.error.issues, "workload", workloadSchema).join("\n"));
  return { name: typeof givenName === "string" ? givenName : name, body: r.data };
}
