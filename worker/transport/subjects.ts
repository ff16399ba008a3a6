import { InvalidSubjectError } from "./errors.ts";

const WHITESPACE = /\s/;

/**
 * Throws `InvalidSubjectError` unless `subject` is a NATS subject: non-empty tokens separated by
 * `.`, no whitespace. With `wildcards`, a token may be `*`, and the last one `>`; without, no
 * token may be either (a subject one publishes to).
 */
export function checkSubject(subject: string, wildcards: boolean): void {
  // A partition publishes on the same few subjects every window: those checked already pass at once.
  const known = wildcards ? KNOWN_PATTERNS : KNOWN_SUBJECTS;
  if (known.has(subject)) return;
  if (typeof subject !== "string" || subject.length === 0) throw new InvalidSubjectError(String(subject), "empty");
  if (WHITESPACE.test(subject)) throw new InvalidSubjectError(subject, "contains whitespace");
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.length === 0) throw new InvalidSubjectError(subject, "has an empty token");
    if (t === "*" || t === ">") {
      if (!wildcards) throw new InvalidSubjectError(subject, "wildcards are only allowed in subscriptions");
      if (t === ">" && i !== tokens.length - 1) throw new InvalidSubjectError(subject, "'>' must be the last token");
    }
  }
  if (known.size >= KNOWN_LIMIT) known.clear();
  known.add(subject);
}

/** Subjects (and patterns) that passed checkSubject; bounded, as run ids make new ones forever. */
const KNOWN_SUBJECTS = new Set<string>();
const KNOWN_PATTERNS = new Set<string>();
const KNOWN_LIMIT = 4096;

export function hasWildcard(pattern: string): boolean {
  return pattern.split(".").some((t) => t === "*" || t === ">");
}

/**
 * Whether `subject` (no wildcards) matches `pattern`: `*` is one token, a final `>` one or more.
 * Both must have passed `checkSubject`.
 */
export function subjectMatches(pattern: string[], subject: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === ">") return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== "*" && p !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}
