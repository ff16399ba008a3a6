import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { isMachineFilePath, MachineFileError, parseMachineFile, type MachineFile } from "../shared/machine/machine-file.ts";
import type { MachinePreset } from "../shared/machine/presets.ts";

/** Reads and validates a machine file; errors name `shownAs` (the path as the user wrote it). */
export function readMachineFile(path: string, shownAs = path): MachineFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new MachineFileError(shownAs, "", `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new MachineFileError(shownAs, "", `not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  return parseMachineFile(doc, shownAs);
}

/**
 * The machine file a spec document names, if any, read for resolveSpec: keyed by the path as
 * written. A relative path is taken from `baseDir`: the spec file's folder when the spec file
 * names the machine, the working directory when `--machine` does.
 */
export function specMachineFiles(doc: Record<string, unknown>, baseDir: string): Map<string, MachinePreset> {
  const name = doc.machine;
  if (typeof name !== "string" || !isMachineFilePath(name)) return new Map();
  const path = isAbsolute(name) ? name : resolve(baseDir, name);
  return new Map([[name, readMachineFile(path, name).machine]]);
}

/** What `refsim presets --machine FILE` prints: the machine, its values and where each comes from. */
export function describeMachineFile(path: string): string {
  const f = readMachineFile(path);
  const lines = [`Machine file ${path}: ${f.machine.name}`, `  ${f.machine.summary}`, `  source: ${f.machine.source}`, "  fields:"];
  for (const [k, v] of Object.entries(f.machine)) {
    if (["name", "summary", "source"].includes(k)) continue;
    lines.push(`    ${k.padEnd(18)} ${JSON.stringify(v)}`, `    ${"".padEnd(18)} ${f.fieldSources[k]}`);
  }
  return lines.join("\n");
}
