import { MultiBar, Presets, type SingleBar } from "cli-progress";
import { pointLabel, type SweepPoint } from "./points.ts";
import { SILENT_PROGRESS, type PointOutcome, type SweepProgress } from "./outcome.ts";

/**
 * A sweep's progress on stderr: a bar (points done of total, failures, ETA) on a terminal,
 * one line per point otherwise, nothing with --quiet.
 */
export function sweepProgress(o: { quiet: boolean; tty: boolean; write?: (text: string) => void }): SweepProgress {
  if (o.quiet) return SILENT_PROGRESS;
  const write = o.write ?? ((text: string) => process.stderr.write(text));
  return o.tty ? barProgress() : lineProgress(write);
}

function lineProgress(write: (text: string) => void): SweepProgress {
  let total = 0;
  let done = 0;
  let failed = 0;
  return {
    start(t, d) {
      total = t;
      done = d;
    },
    point(p: SweepPoint, outcome: PointOutcome) {
      done++;
      const what = outcome.status === "done" ? "done" : `FAILED: ${outcome.error}`;
      if (outcome.status === "failed") failed++;
      write(`[${done}/${total}${failed > 0 ? `, ${failed} failed` : ""}] ${pointLabel(p)} (${p.id}): ${what}\n`);
    },
    note(line) {
      write(`${line}\n`);
    },
    stop() {},
  };
}

function barProgress(): SweepProgress {
  // A MultiBar with one bar: it can print notes above the bar without breaking it.
  const multi = new MultiBar(
    { format: "  {bar} {value}/{total} points | {failed} failed | ETA {eta_formatted} | {last}", hideCursor: true, etaBuffer: 20, clearOnComplete: false },
    Presets.shades_classic,
  );
  let bar: SingleBar | null = null;
  let failed = 0;
  return {
    start(total, done) {
      bar = multi.create(total, done, { failed, last: "" });
    },
    point(p, outcome) {
      if (outcome.status === "failed") failed++;
      bar?.increment(1, { failed, last: `${pointLabel(p)}${outcome.status === "failed" ? " FAILED" : ""}` });
    },
    note(line) {
      if (bar === null) process.stderr.write(`${line}\n`);
      else multi.log(`${line}\n`);
    },
    stop() {
      multi.stop();
      bar = null;
    },
  };
}
