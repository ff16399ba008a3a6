import type { z } from "zod";
import { SpecError } from "../engine/errors.ts";
import { findWorkloadPreset } from "../workloads/presets.ts";
import { specSchema, workloadSchema, type Spec, type WorkloadBody } from "./spec.ts";

/** Turns zod issues into one message naming each field's path. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix = ""): string {
  return issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter((p) => p !== "").join(".");
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((k) => `${path === "" ? k : `${path}.${k}`}: unknown field`).join("\n");
      }
      return `${path === "" ? "(spec)" : path}: ${issue.message}`;
    })
    .join("\n");
}

/** Validates a parsed YAML/JSON document as a spec. Throws SpecError naming the fields. */
export function parseSpec(doc: unknown): Spec {
  const r = specSchema.safeParse(doc);
  if (!r.success) throw new SpecError("", describeIssues(r.error.issues));
  return r.data;
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

/** The workload of a spec: a preset, a preset with overrides, or a whole workload object. */
export function resolveWorkloadBody(field: Spec["workload"]): { name: string; body: WorkloadBody } {
  if (typeof field === "string") {
    const preset = findWorkloadPreset(field);
    if (preset === undefined) throw new SpecError("workload", `unknown workload preset "${field}"`);
    return { name: field, body: workloadSchema.parse(preset) };
  }
  const { preset: presetName, name: givenName, ...rest } = field;
  let base: unknown = {};
  let name = "custom";
  if (presetName !== undefined) {
    if (typeof presetName !== "string") throw new SpecError("workload.preset", "expected a workload preset name");
    const preset = findWorkloadPreset(presetName);
    if (preset === undefined) throw new SpecError("workload.preset", `unknown workload preset "${presetName}"`);
    base = preset;
    name = presetName;
  }
  const r = workloadSchema.safeParse(deepMerge(base, rest));
  if (!r.success) throw new SpecError("", describeIssues(r.error.issues, "workload"));
  return { name: typeof givenName === "string" ? givenName : name, body: r.data };
}
