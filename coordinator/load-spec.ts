import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { SpecError } from "../shared/engine/errors.ts";

/** Reads a spec file (YAML or JSON; JSON is YAML). Throws SpecError for unreadable or malformed files. */
export function readSpecFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
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

/** Parses "1,2,4" or "1-64" (powers of two from 1 to 64). */
export function parseCpuList(text: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(text.trim());
  if (range !== null) {
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    if (lo < 1 || hi < lo) throw new SpecError("cpus", `bad range "${text}"`);
    const out: number[] = [];
    for (let n = lo; n <= hi; n *= 2) out.push(n);
    return out;
  }
  return text.split(",").map((part, i) => {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 1) throw new SpecError(`cpus.${i}`, `"${part}" is not a positive integer`);
    return n;
  });
}
