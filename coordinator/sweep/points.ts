import { createHash } from "node:crypto";
import { SpecError } from "../../shared/engine/errors.ts";
import { findMachinePreset } from "../../shared/machine/presets.ts";
import { totalCpus } from "../../shared/machine/machine.ts";
import { SCHEME_NAMES, type SchemeName } from "../../shared/schemes/scheme.ts";
import { resolveWorkloadBody } from "../../shared/spec/parse.ts";
import type { ResolvedSpec } from "../../shared/spec/resolve.ts";
import { resolvePoint, type PointDocument } from "./point-run.ts";
import { codeVersion } from "../code-version.ts";
import { parseSweepSpec, type SweepSpec } from "./spec.ts";

/** One run of a sweep: a machine x workload x seed x scheme x CPU count. */
export interface SweepPoint {
  /** Content hash of the resolved spec, the seed and the code version (`p-` + 16 hex digits). */
  id: string;
  /** Position in the sweep (the order of results.json and results.csv). */
  index: number;
  machine: string;
  workload: string;
  seed: number;
  scheme: SchemeName;
  cpus: number;
  /** Runs as a distributed run over the cluster's workers (cpus > distributeAbove). */
  distributed: boolean;
  /** The point's run spec document, and what the run spec machinery makes of it. */
  doc: PointDocument;
  spec: ResolvedSpec;
}

export interface SweepPlan {
  /** Content hash of the ordered point ids (`s-` + 16 hex digits): the same sweep has the same id. */
  id: string;
  name: string;
  codeVersion: string;
  /** The sweep spec document as given (what `--resume` re-plans from). */
  document: Record<string, unknown>;
  distributeAbove: number | null;
  points: SweepPoint[];
  /** CPU counts left out for a machine that has fewer CPUs. */
  skipped: Array<{ machine: string; cpus: number[] }>;
}

/** JSON with every object's keys sorted: the same content always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A point's id: the resolved spec (which holds the one scheme and CPU count), the seed, the code version. */
export function pointId(spec: ResolvedSpec, codeVersion: string): string {
  return `p-${sha256(canonicalJson({ spec, seed: spec.seed, codeVersion })).slice(0, 16)}`;
}

/** A sweep's id: its points, in order. */
export function sweepId(pointIds: readonly string[]): string {
  return `s-${sha256(["refsim-sweep", ...pointIds].join("\n")).slice(0, 16)}`;
}

/** "nsproxy @ 4 CPUs, small-4, fork-storm, seed 1" */
export function pointLabel(p: Pick<SweepPoint, "scheme" | "cpus" | "machine" | "workload" | "seed">): string {
  return `${p.scheme} @ ${p.cpus} CPU${p.cpus === 1 ? "" : "s"}, ${p.machine}, ${p.workload}, seed ${p.seed}`;
}

/** A SpecError about `workload...` of a point, re-addressed to the sweep's `workloads.<i>`. */
function workloadError(e: unknown, i: number): unknown {
  if (!(e instanceof SpecError)) return e;
  return new SpecError("", e.message.replace(/^workload(?=[.:])/gm, `workloads.${i}`));
}

/**
 * The points of a sweep, in the order machine, workload, seed, scheme, CPU count: for one
 * machine, workload and seed that is `refsim run`'s order (scheme, then CPU count). Each point's
 * spec goes through the run spec machinery. Throws SpecError naming the field of any problem.
 */
export function planSweep(spec: SweepSpec, codeVersion: string, document: Record<string, unknown> = {}): SweepPlan {
  const machines = [...new Set(spec.machines)];
  const cpus = [...new Set(spec.cpus)].sort((a, b) => a - b);
  const seeds = [...new Set(spec.seeds)];
  const schemes: SchemeName[] = spec.schemes === "all" ? [...SCHEME_NAMES] : [...new Set(spec.schemes)];
  const sizes = new Map(machines.map((m) => [m, totalCpus(findMachinePreset(m) ?? fail(`unknown machine ${m}`))]));
  spec.cpus.forEach((n, j) => {
    if (![...sizes.values()].some((size) => n <= size)) {
      const largest = machines.reduce((a, b) => ((sizes.get(a) ?? 0) >= (sizes.get(b) ?? 0) ? a : b));
      throw new SpecError(`cpus.${j}`, `no machine of the sweep has ${n} CPUs (the largest, ${largest}, has ${sizes.get(largest)})`);
    }
  });
  const workloadNames: string[] = [];
  spec.workloads.forEach((w, i) => {
    let name: string;
    try {
      name = resolveWorkloadBody(w).name;
    } catch (e) {
      throw workloadError(e, i);
    }
    const first = workloadNames.indexOf(name);
    if (first >= 0) {
      throw new SpecError(`workloads.${i}`, `workloads.${first} is also named "${name}": give each workload its own name (name: ...), results are told apart by it`);
    }
    workloadNames.push(name);
  });
  const common = {
    namespaces: spec.namespaces,
    layout: spec.layout,
    ...(spec.duration !== undefined ? { duration: spec.duration } : {}),
    ...(spec.warmup !== undefined ? { warmup: spec.warmup } : {}),
    costs: spec.costs,
    options: spec.options,
  };
  const points: SweepPoint[] = [];
  const skipped: SweepPlan["skipped"] = [];
  const seen = new Set<string>();
  for (const machine of machines) {
    const size = sizes.get(machine) as number;
    const fits = cpus.filter((n) => n <= size);
    if (fits.length < cpus.length) skipped.push({ machine, cpus: cpus.filter((n) => n > size) });
    spec.workloads.forEach((workload, w) => {
      for (const seed of seeds) {
        for (const scheme of schemes) {
          for (const n of fits) {
            const doc: PointDocument = { seed, machine, cpus: [n], schemes: [scheme], workload, ...common };
            let resolved: ResolvedSpec;
            try {
              resolved = resolvePoint(doc).spec;
            } catch (e) {
              throw workloadError(e, w);
            }
            const id = pointId(resolved, codeVersion);
            if (seen.has(id)) continue;
            seen.add(id);
            points.push({
              id,
              index: points.length,
              machine,
              workload: workloadNames[w],
              seed,
              scheme,
              cpus: n,
              distributed: spec.distributeAbove !== undefined && n > spec.distributeAbove,
              doc,
              spec: resolved,
            });
          }
        }
      }
    });
  }
  return {
    id: sweepId(points.map((p) => p.id)),
    name: spec.name ?? defaultName(machines, workloadNames),
    codeVersion,
    document,
    distributeAbove: spec.distributeAbove ?? null,
    points,
    skipped,
  };
}

function defaultName(machines: string[], workloads: string[]): string {
  return `${workloads.join(", ")} on ${machines.join(", ")}`;
}

function fail(message: string): never {
  throw new SpecError("machines", message);
}

/** Validates and plans a sweep spec document. Throws SpecError (exit code 2) naming each bad field. */
export function loadSweep(doc: Record<string, unknown>, version = codeVersion()): SweepPlan {
  return planSweep(parseSweepSpec(doc), version, doc);
}
