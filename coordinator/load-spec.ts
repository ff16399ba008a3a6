import { closeSync, openSync, readSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { SpecError } from "../shared/engine/errors.ts";

/**
 * The largest spec file read: specs are a few hundred bytes to a few kilobytes (the largest in
 * examples/ is under 2 KB), and a 200 MB one (one long name, or 100 M CPU counts) ran the process
 * out of memory before any check could say what was wrong.
 */
export const MAX_SPEC_BYTES = 1024 * 1024;

/** The file's text, read up to MAX_SPEC_BYTES (a device or a pipe that never ends is cut off there too). */
function readBounded(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(MAX_SPEC_BYTES + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_SPEC_BYTES) throw new SpecError("", `spec file ${path} is larger than ${MAX_SPEC_BYTES / 1024 / 1024} MiB, the limit (specs are a few kilobytes)`);
    return buffer.toString("utf8", 0, length);
  } finally {
    closeSync(fd);
  }
}

/** Reads a spec file (YAML or JSON; JSON is YAML). Throws SpecError for unreadable, oversized or malformed files. */
export function readSpecFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readBounded(path);
  } catch (e) {
    if (e instanceof SpecError) throw e;
    throw new SpecError("", `cannot read spec file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new SpecError("", `${path} is not valid YAML or JSON: ${(e as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new SpecError("", `${path}: a spec must be a mapping of fields`);
  return doc as Record<string, unknown>;
}

const MAX_CPU_COUNTS = 65536;

/**
 * Parses a CPU list: comma-separated items, each a count (`4`), a range of every count (`1-80`),
 * a range multiplying by a factor (`1-80:x2`: 1, 2, 4, ..., 64) or adding a step (`8-80:+8`:
 * 8, 16, ..., 80). A range keeps only the counts up to its end. Throws SpecError naming the bad item.
 */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const raw of text.split(",")) {
    const item = raw.trim();
    const m = /^(\d+)(?:-(\d+)(?::(x|\+)(\d+))?)?$/.exec(item);
    const bad = (why: string) => new SpecError("cpus", `"${item}" ${why} (give counts like 1,2,4, a range 1-80, or steps 1-80:x2, 8-80:+8)`);
    if (m === null) throw bad("is not a CPU count or range");
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1) throw bad("starts below 1");
    if (hi < lo) throw bad("ends before it starts");
    const step = m[4] === undefined ? 1 : Number(m[4]);
    const times = m[3] === "x";
    if (times ? step < 2 : step < 1) throw bad(times ? "needs a factor of at least 2" : "needs a step of at least 1");
    for (let n = lo; n <= hi; n = times ? n * step : n + step) {
      out.push(n);
      if (out.length > MAX_CPU_COUNTS) throw bad(`gives more than ${MAX_CPU_COUNTS} counts`);
    }
  }
  return out;
}

/** The CPU counts a machine of `total` CPUs is run at by default: powers of two, and the whole machine. */
export function defaultCpuList(total: number): number[] {
  const out: number[] = [];
  for (let n = 1; n < total; n *= 2) out.push(n);
  out.push(total);
  return out;
}
