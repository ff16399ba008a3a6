const UNITS: Record<string, number> = { ps: 1, ns: 1e3, us: 1e6, "µs": 1e6, ms: 1e9, s: 1e12 };

/** Parses "2ms", "150us", "80ns", "500ps", "1.5s" into integer picoseconds; null if malformed. */
export function parseDurationPs(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ps|ns|us|µs|ms|s)\s*$/.exec(text);
  if (m === null) return null;
  const ps = Math.round(Number(m[1]) * UNITS[m[2]]);
  return Number.isSafeInteger(ps) ? ps : null;
}

/** Formats picoseconds with the largest unit that keeps the number at or above 1. */
export function formatDurationPs(ps: number): string {
  if (ps >= 1e12) return `${trim(ps / 1e12)}s`;
  if (ps >= 1e9) return `${trim(ps / 1e9)}ms`;
  if (ps >= 1e6) return `${trim(ps / 1e6)}us`;
  if (ps >= 1e3) return `${trim(ps / 1e3)}ns`;
  return `${ps}ps`;
}

function trim(v: number): string {
  return Number(v.toPrecision(6)).toString();
}
