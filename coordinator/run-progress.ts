import type { RunConfig } from "../shared/spec/resolve.ts";
import type { DistributedStats } from "./distributed.ts";
import { cpusText } from "./figures.ts";

/** Where progress goes: a terminal (a bar redrawn in place) or not (a plain line every few seconds). */
export interface ProgressOutput {
  interactive: boolean;
  write(text: string): void;
  /** Wall clock, ms. */
  now(): number;
}

/** How far a distributed run's windows have come (the slowest partition's). */
export interface WindowProgress {
  window: number;
  simulatedPs: number;
}

/** How often the terminal bar is redrawn, and a plain line written without a terminal, ms. */
const BAR_EVERY_MS = 100;
export const PLAIN_EVERY_MS = 5000;
/** No ETA before this much wall time of progress (the first moments say little), ms. */
const ETA_AFTER_MS = 1500;
const BAR_WIDTH = 24;

/** "1.20ms", "850us", "2.00s": simulated time with three significant figures. */
export function simulatedTime(ps: number): string {
  for (const [scale, unit] of [[1e12, "s"], [1e9, "ms"], [1e6, "us"], [1e3, "ns"]] as const) {
    if (ps >= scale) return `${Number((ps / scale).toPrecision(3))}${unit}`;
  }
  return `${ps}ps`;
}

/** "45s", "3m05s", "1h02m": a wall-clock estimate. */
export function wallTime(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * The progress of `refsim run` within its runs, in simulated time: the share done, an ETA, the
 * run in progress and how far its simulated time has come, and for a distributed run its
 * windows per second. Each run weighs its CPU count times its duration (the events it runs
 * grow about so), so the share and the ETA do not jump when a big run follows small ones. The
 * ETA extrapolates the progress made since this command started (runs finished before a
 * --resume do not count as speed).
 */
export class RunProgress {
  private readonly weights: number[];
  private readonly total: number;
  private doneWeight = 0;
  private readonly startWeight: number;
  private readonly finished = new Set<number>();
  private current: { index: number; simulatedPs: number; windows: { t0: number; w0: number; rate: number | null } | null } | null = null;
  private readonly started: number;
  private lastDrawn = -Infinity;
  private stopped = false;

  constructor(
    private readonly plan: readonly RunConfig[],
    done: Iterable<number>,
    private readonly out: ProgressOutput,
    private readonly plainEveryMs = PLAIN_EVERY_MS,
  ) {
    this.weights = plan.map((c) => c.cpuCount * c.durationPs);
    this.total = this.weights.reduce((s, w) => s + w, 0);
    for (const i of done) this.finish(i, false);
    this.startWeight = this.doneWeight;
    this.started = out.now();
    if (out.interactive) out.write("\u001b[?25l");
  }

  /** Run `index` starts. */
  begin(index: number): void {
    this.current = { index, simulatedPs: 0, windows: null };
    this.draw(true);
  }

  /** Run `index` has simulated up to `simulatedPs`. */
  simulated(index: number, simulatedPs: number): void {
    this.advance(index, simulatedPs);
    this.draw(false);
  }

  /** A distributed run's windows: the simulated time and, from the second report on, windows per second. */
  windows(index: number, p: WindowProgress): void {
    const c = this.advance(index, p.simulatedPs);
    const now = this.out.now();
    if (c.windows === null) c.windows = { t0: now, w0: p.window, rate: null };
    else if (now > c.windows.t0) c.windows.rate = ((p.window - c.windows.w0) * 1000) / (now - c.windows.t0);
    this.draw(false);
  }

  /** Run `index` finished. */
  done(index: number): void {
    this.finish(index, true);
    if (this.current?.index === index) this.current = null;
    this.draw(false);
  }

  /** A line of its own (advice, a log line), above the bar on a terminal. */
  note(line: string): void {
    if (this.out.interactive) this.out.write(`\r\u001b[2K${line}\n`);
    else this.out.write(`${line}\n`);
    if (this.out.interactive) this.draw(true);
  }

  /** Clears the bar (and shows the cursor again). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.out.interactive) this.out.write("\r\u001b[2K\u001b[?25h");
  }

  /** The share of the whole command done, 0..1. */
  share(): number {
    if (this.total === 0) return 1;
    return Math.min(1, (this.doneWeight + this.partialWeight()) / this.total);
  }

  /** The wall time left, ms, or null while there is too little to go on. */
  etaMs(): number | null {
    const elapsed = this.out.now() - this.started;
    const made = this.doneWeight + this.partialWeight() - this.startWeight;
    if (elapsed < ETA_AFTER_MS || made <= 0) return null;
    return (elapsed * (this.total - this.doneWeight - this.partialWeight())) / made;
  }

  /** The line the bar or the plain output shows. */
  line(): string {
    const eta = this.etaMs();
    const parts = [`${Math.floor(this.share() * 100)}%`, `ETA ${eta === null ? "..." : wallTime(eta)}`];
    const c = this.current;
    if (c !== null) {
      const config = this.plan[c.index];
      parts.push(`run ${this.finished.size + 1}/${this.plan.length} ${config.scheme} @ ${cpusText(config.cpuCount)}: ${simulatedTime(c.simulatedPs)} of ${simulatedTime(config.durationPs)} simulated`);
      if (c.windows?.rate != null) parts.push(`${Math.round(c.windows.rate)} windows/s`);
    } else parts.push(`${this.finished.size}/${this.plan.length} runs`);
    return parts.join(" | ");
  }

  private advance(index: number, simulatedPs: number): NonNullable<typeof this.current> {
    if (this.current?.index !== index) this.current = { index, simulatedPs: 0, windows: null };
    this.current.simulatedPs = Math.max(this.current.simulatedPs, simulatedPs);
    return this.current;
  }

  private partialWeight(): number {
    const c = this.current;
    if (c === null || this.finished.has(c.index)) return 0;
    const duration = this.plan[c.index].durationPs;
    return duration > 0 ? this.weights[c.index] * Math.min(1, c.simulatedPs / duration) : 0;
  }

  private finish(index: number, _live: boolean): void {
    if (this.finished.has(index) || index < 0 || index >= this.plan.length) return;
    this.finished.add(index);
    this.doneWeight += this.weights[index];
  }

  private draw(force: boolean): void {
    if (this.stopped) return;
    const now = this.out.now();
    const every = this.out.interactive ? BAR_EVERY_MS : this.plainEveryMs;
    // Without a terminal the first line comes after one period too: a command that ends within
    // it prints no progress at all (its log holds only what it has to say).
    if (!this.out.interactive) force = false;
    const since = this.out.interactive ? this.lastDrawn : Math.max(this.lastDrawn, this.started);
    if (!force && now - since < every) return;
    this.lastDrawn = now;
    if (this.out.interactive) {
      const filled = Math.round(this.share() * BAR_WIDTH);
      this.out.write(`\r\u001b[2K  ${"\u2588".repeat(filled)}${"\u2591".repeat(BAR_WIDTH - filled)} ${this.line()}`);
    } else this.out.write(`refsim: ${this.line()}\n`);
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Whether a distributed run was slower than the same run in one process would be, and if so
 * the advice to print. One process runs the same events one after another: about the sum of
 * the partitions' busy time (their simulating, without waiting at window barriers). A run's
 * windows each wait for a round of messages between the partitions; with a short lookahead
 * and few events per window that waiting is most of the time.
 */
export function distributionAdvice(config: RunConfig, stats: DistributedStats, events: number, how: "cluster" | "threads"): string | null {
  const embeddedMs = stats.partitionStats.reduce((s, p) => s + p.busyMs, 0);
  if (stats.partitions < 2 || stats.windows === 0 || !(stats.wallMs > 1.5 * embeddedMs) || stats.wallMs < 1000) return null;
  const perWindow = events / stats.windows;
  const waitMs = stats.wallMs / stats.windows;
  const instead = how === "cluster" ? "run it without --cluster (embedded), or with fewer --workers" : "run it without --workers (one thread per run)";
  return (
    `refsim: distribution is slower than one process here: ${config.scheme} @ ${cpusText(config.cpuCount)} took ${seconds(stats.wallMs)} over ${stats.partitions} partitions, ` +
    `${stats.windows} windows of ${perWindow.toPrecision(3)} events each (lookahead ${simulatedTime(stats.lookaheadPs)}; ${waitMs.toPrecision(3)} ms a window, mostly waiting for the partitions' messages), ` +
    `where one process would take about ${seconds(embeddedMs)}. ${instead[0].toUpperCase()}${instead.slice(1)}: distribution pays when a window holds thousands of events (more CPUs per partition, a longer lookahead between sockets).`
  );
}
