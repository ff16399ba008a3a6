import type { z } from "zod";
import { SpecError } from "../engine/errors.ts";

/** Every problem of a spec found so far, each with its field's path; thrown together. */
export class SpecIssues {
  private readonly lines: Array<{ path: string; message: string }> = [];

  add(path: string, message: string): void {
    this.lines.push({ path, message });
  }

  /** Adds a SpecError's lines (a SpecError may hold several); rethrows anything else. */
  catch(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      if (e.path !== "") this.add(e.path, e.message.slice(e.path.length + 2));
      else for (const line of e.message.split("\n")) this.add("", line);
      return false;
    }
  }

  get count(): number {
    return this.lines.length;
  }

  /** Throws one SpecError listing every problem (its path is the problem's when there is one). */
  throwIfAny(): void {
    if (this.lines.length === 0) return;
    if (this.lines.length === 1) throw new SpecError(this.lines[0].path, this.lines[0].message);
    throw new SpecError("", this.lines.map((l) => (l.path === "" ? l.message : `${l.path}: ${l.message}`)).join("\n"));
  }
}

/** The field names a zod object schema (under defaults, optionals, pipes) accepts, if it is one. */
function objectFields(schema: unknown): string[] | null {
  let s = schema as { _zod?: { def: Record<string, unknown> }; shape?: Record<string, unknown> } | undefined;
  for (let depth = 0; s?._zod !== undefined && depth < 8; depth++) {
    const def = s._zod.def;
    if (def.type === "object") return Object.keys(def.shape as Record<string, unknown>);
    s = (def.innerType ?? def.in) as typeof s;
  }
  return null;
}

function fieldsAt(schema: unknown, path: readonly PropertyKey[]): string[] | null {
  let s = schema as { _zod?: { def: Record<string, unknown> } } | undefined;
  for (const key of path) {
    for (let depth = 0; s?._zod !== undefined && s._zod.def.type !== "object" && depth < 8; depth++) s = (s._zod.def.innerType ?? s._zod.def.in) as typeof s;
    if (s?._zod?.def.type !== "object") return null;
    s = (s._zod.def.shape as Record<string, unknown>)[String(key)] as typeof s;
  }
  return objectFields(s);
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Turns zod issues into lines naming each field's path: an unknown field lists the fields that
 * are valid there, a missing field says it is missing, a bad value shows what was given, and a
 * bad entry of a list (`schemes.1`) is named rather than the whole list. Parse with
 * `{ reportInput: true }` so values can be shown. `schema` (the schema that was parsed) lets an
 * unknown field's line list the valid ones.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix = "", schema?: unknown, base: readonly PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const where = [...base, ...issue.path];
    const path = [prefix, ...where.map(String)].filter((p) => p !== "").join(".");
    const at = path === "" ? "(spec)" : path;
    const input = (issue as { input?: unknown }).input;
    // A value to show: a scalar, or a short list; objects speak through their fields' lines.
    const hasInput = input !== undefined && (typeof input !== "object" || Array.isArray(input));
    if (issue.code === "unrecognized_keys") {
      const valid = schema === undefined ? null : fieldsAt(schema, where);
      const hint = valid === null ? "" : ` (valid fields here: ${valid.join(", ")})`;
      for (const k of issue.keys) out.push(`${path === "" ? k : `${path}.${k}`}: unknown field${hint}`);
    } else if (issue.code === "invalid_union") {
      // The branch that matched the value's shape (a list whose entry is bad) says more than "invalid input".
      const deep = issue.errors.filter((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
      if (deep.length === 1) out.push(...describeIssues(deep[0], prefix, schema, where));
      else if (input === undefined) out.push(`${at}: missing (${issue.message})`);
      else out.push(`${at}: ${issue.message} (got ${show(input)})`);
    } else if (input === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
      const plain = /^Invalid input: expected (\w+), received undefined$/.exec(issue.message);
      out.push(`${at}: missing (${plain !== null ? `expected ${plain[1]}` : issue.message})`);
    } else if (issue.code === "invalid_value" && /^Invalid (option|input)/.test(issue.message)) {
      out.push(`${at}: ${show(input)} is not one of ${issue.values.map((v) => String(v)).join(", ")}`);
    } else if (issue.code === "invalid_value" || issue.code === "invalid_type" || issue.code === "invalid_format" || (issue.code === "custom" && hasInput)) {
      out.push(hasInput ? `${at}: ${issue.message} (got ${show(input)})` : `${at}: ${issue.message}`);
    } else {
      out.push(`${at}: ${issue.message}`);
    }
  }
  return out;
}
