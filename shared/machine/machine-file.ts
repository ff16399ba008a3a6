import { CROSS_SOCKET_HAND_OFFS, type CrossSocketHandOff, MACHINE_PRESETS, type MachinePreset } from "./presets.ts";
import type { SocketLinks } from "./topology.ts";

/**
 * A machine file: a machine preset that a spec names by path (`machine: ./host.json`), written
 * by `refsim calibrate` or by hand. Every number must say where it comes from: `fieldSources`
 * has a line for every field of the machine, and says which were measured and which assumed.
 * Validation is pure (the coordinator reads the file); the fields a machine must have are those
 * of the built-in presets, so a field the model gains is required of machine files too.
 */
export const MACHINE_FILE_FORMAT = "refsim-machine/1";

export interface MachineFile {
  format: typeof MACHINE_FILE_FORMAT;
  machine: MachinePreset;
  /** Where each field of `machine` comes from (every field but name, summary and source). */
  fieldSources: Record<string, string>;
  /** What `refsim calibrate` measured and detected (absent in a hand-written file). */
  measurements?: { date: string; method: string; [key: string]: unknown };
  host?: Record<string, unknown>;
}

/** A bad machine file: one line naming the file and the field. */
export class MachineFileError extends Error {
  override readonly name = "MachineFileError";
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`machine file ${file}: ${field === "" ? "" : `${field}: `}${problem}`);
  }
}

/** Fields that describe rather than quantify: they need no source line. */
const DESCRIPTIVE = new Set(["name", "summary", "source"]);
const UNITS: ReadonlyArray<MachinePreset["unit"]> = ["cycles", "ns"];
const SOCKET_LINKS: readonly SocketLinks[] = ["full", "ring", "hypercube", "pairs"];
const SHAPE_COUNTS = new Set(["sockets", "diesPerSocket", "coresPerDie", "threadsPerCore"]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks `value` against the built-in preset's value of the same field (its type and shape). */
function checkLike(file: string, path: string, value: unknown, reference: unknown): void {
  const fail = (problem: string) => {
    throw new MachineFileError(file, path, problem);
  };
  if (value === undefined) fail("missing field");
  if (typeof reference === "string") {
    if (typeof value !== "string" || value === "") fail("expected a non-empty string");
  } else if (typeof reference === "number") {
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) fail("expected a number above 0");
    if (SHAPE_COUNTS.has(path.split(".").pop() ?? "") && !Number.isInteger(value)) fail("expected a whole number");
  } else if (Array.isArray(reference)) {
    if (!Array.isArray(value) || value.length !== reference.length) fail(`expected a list of ${reference.length} numbers or nulls`);
    (value as unknown[]).forEach((v, i) => {
      if (v !== null && (typeof v !== "number" || !Number.isFinite(v) || v <= 0)) fail(`entry ${i}: expected a number above 0 or null`);
    });
  } else if (isRecord(reference)) {
    if (!isRecord(value)) fail("expected an object");
    checkFields(file, path, value as Record<string, unknown>, reference);
  }
}

function checkFields(file: string, prefix: string, value: Record<string, unknown>, reference: Record<string, unknown>, optional: Record<string, unknown> = {}): void {
  const at = (k: string) => (prefix === "" ? k : `${prefix}.${k}`);
  for (const k of Object.keys(value)) if (!Object.hasOwn(reference, k) && !Object.hasOwn(optional, k)) throw new MachineFileError(file, at(k), "unknown field");
  for (const [k, ref] of Object.entries(reference)) checkLike(file, at(k), value[k], ref);
  for (const [k, ref] of Object.entries(optional)) if (value[k] !== undefined) checkLike(file, at(k), value[k], ref);
}

/**
 * Fields of MachinePreset that the built-in presets leave out (types do not exist at run time,
 * so each is named here with a value of its shape): per-class occupancy, given instead of derived.
 */
const OPTIONAL_MACHINE_FIELDS: Partial<Record<keyof MachinePreset, unknown>> = {
  occupancy: [null, null, null, null, null],
  crossSocketHandOff: "holder",
  crossSocketHandOffSource: "",
};

/** Validates a parsed machine file; `file` names it in errors. */
export function parseMachineFile(doc: unknown, file: string): MachineFile {
  if (!isRecord(doc)) throw new MachineFileError(file, "", "expected a JSON object");
  if (doc.format !== MACHINE_FILE_FORMAT) throw new MachineFileError(file, "format", `expected "${MACHINE_FILE_FORMAT}"`);
  if (!isRecord(doc.machine)) throw new MachineFileError(file, "machine", doc.machine === undefined ? "missing field" : "expected an object");
  const machine = doc.machine;
  const required = Object.fromEntries(Object.entries(MACHINE_PRESETS[0]).filter(([k]) => !Object.hasOwn(OPTIONAL_MACHINE_FIELDS, k)));
  checkFields(file, "machine", machine, required, OPTIONAL_MACHINE_FIELDS);
  if (machine.crossSocketHandOff !== undefined && !CROSS_SOCKET_HAND_OFFS.includes(machine.crossSocketHandOff as CrossSocketHandOff)) {
    throw new MachineFileError(file, "machine.crossSocketHandOff", `expected one of ${CROSS_SOCKET_HAND_OFFS.join(", ")}`);
  }
  if (MACHINE_PRESETS.some((p) => p.name === machine.name)) throw new MachineFileError(file, "machine.name", `"${String(machine.name)}" is a built-in preset's name; choose another`);
  if (!UNITS.includes(machine.unit as MachinePreset["unit"])) throw new MachineFileError(file, "machine.unit", `expected one of ${UNITS.join(", ")}`);
  const links = (machine.shape as Record<string, unknown>).socketLinks;
  if (!SOCKET_LINKS.includes(links as SocketLinks)) throw new MachineFileError(file, "machine.shape.socketLinks", `expected one of ${SOCKET_LINKS.join(", ")}`);
  const sources = doc.fieldSources;
  if (!isRecord(sources)) throw new MachineFileError(file, "fieldSources", sources === undefined ? "missing field (every number must say where it comes from)" : "expected an object");
  for (const k of Object.keys(machine)) {
    if (DESCRIPTIVE.has(k)) continue;
    const line = sources[k];
    if (typeof line !== "string" || line.trim() === "") throw new MachineFileError(file, `fieldSources.${k}`, "missing: say where machine." + k + " comes from (measured, published, or assumed)");
  }
  const m = doc.measurements;
  if (m !== undefined) {
    if (!isRecord(m)) throw new MachineFileError(file, "measurements", "expected an object");
    for (const k of ["date", "method"]) if (typeof m[k] !== "string" || m[k] === "") throw new MachineFileError(file, `measurements.${k}`, "expected a non-empty string");
  }
  return doc as unknown as MachineFile;
}

/** A spec's machine field names a machine file rather than a preset. */
export function isMachineFilePath(name: string): boolean {
  return name.endsWith(".json");
}
