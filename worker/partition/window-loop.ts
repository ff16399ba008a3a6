import { PROTOCOL_VERSION, type Message, type StepMessage } from "../../shared/protocol/messages.ts";
import type { Partition } from "../../shared/protocol/partition.ts";
import { minSentTo, nextWindow, type BarrierReport } from "../../shared/protocol/windowed.ts";
import type { CheckpointStore } from "../checkpoint-store.ts";
import type { CheckpointPolicy, Standing } from "./checkpoint-policy.ts";
import { CountMismatchError, RollbackSignal } from "./errors.ts";
import type { RunContext, RunLink } from "./link.ts";
import { subjects } from "./subjects.ts";

const orNull = (t: number): number | null => (t === Infinity ? null : t);
const orInfinity = (t: number | null): number => (t === null ? Infinity : t);

/** How often a partition tells the coordinator it is alive, ms. */
const PROGRESS_EVERY_MS = 1000;

/** Events a partition runs before it lets its event loop breathe. */
const SLICE_EVENTS = 250_000;

/**
 * The conservative window loop of one epoch. Each window runs the partition's events up to the
 * window's end, then broadcasts one step message: its next event time, the earliest event it
 * sent to another partition, its counts, and its batches. Once it has every other partition's
 * step message for the window it delivers the batches addressed to it (checking each against its
 * sender's count) and starts the next window at the earliest time any partition reported, for
 * the static lookahead; every partition computes the same window from the same messages. When
 * no partition has anything left, it sends its report.
 *
 * The loop is split into small methods: V8 compiles each on its own, so new feedback in one (a
 * rare branch taken) no longer recompiles the whole loop, which cost a quarter second of
 * compiler time each time on the first runs of a fresh worker.
 */
export class WindowLoop {
  private part: Partition;
  private window: number;
  private endPs: number;
  private lastProgress = 0;
  /** This partition's own report at the current window's barrier, and its clock then. */
  private mine: BarrierReport = { nextPs: Infinity, earliestSendPs: Infinity, minSentTo: [] };
  private clock = { sinceCheckpointMs: 0, checkpointCostMs: 0 };

  constructor(
    private readonly c: RunContext,
    private readonly link: RunLink,
    private readonly checkpoints: CheckpointPolicy,
    private readonly store: CheckpointStore | undefined,
    private readonly lookaheadPs: number,
    from: Standing,
  ) {
    this.part = from.part;
    this.window = from.window;
    this.endPs = from.endPs;
  }

  /** Runs windows to the end of the run, then sends the report; a new start throws a RollbackSignal. */
  async run(): Promise<void> {
    const { stats } = this.c;
    this.lastProgress = Date.now();
    const loopStart = performance.now();
    for (; ; this.window++) {
      // Long windows run in slices so the process stays responsive (job locks, signals, NATS pings).
      while (!this.runSlice()) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.link.nextStart !== null) throw new RollbackSignal();
      }
      this.sendStep();
      await this.link.until(
        () => this.link.haveAllSteps(this.window),
        () => this.link.missingSteps(this.window),
      );
      if (!this.closeWindow()) break;
    }
    stats.loopMs += performance.now() - loopStart;
    await this.sendReport();
  }

  /** Runs the current window's events, at most SLICE_EVENTS at a time; true when it is done. */
  private runSlice(): boolean {
    const t0 = performance.now();
    this.part.runUntil(this.endPs, SLICE_EVENTS);
    this.c.stats.busyMs += performance.now() - t0;
    if (Date.now() - this.lastProgress >= PROGRESS_EVERY_MS) this.sayProgress();
    return this.part.nextEventTime() >= this.endPs;
  }

  private sayProgress(): void {
    const { job, me } = this.c;
    this.lastProgress = Date.now();
    this.link.publish(subjects.progress(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "progress", from: me, window: this.window, simulatedPs: this.part.engine.nowPs });
  }

  /** Ends the current window here: its batches and barrier report go out in one step message. */
  private sendStep(): void {
    const { job, me, partitions: P, stats } = this.c;
    stats.windows++;
    const sent = new Array<number>(P).fill(0);
    const batches: StepMessage["batches"] = [];
    const out = this.part.takeBatches();
    for (const b of out) {
      const n = b.events.length / 8;
      sent[b.to] = n;
      if (n === 0) continue;
      batches.push({ to: b.to, count: n, events: b.events, tasks: b.tasks, objects: b.objects });
      stats.batchesSent++;
      stats.eventsSent += n;
    }
    const mine = (this.mine = { nextPs: this.part.nextEventTime(), earliestSendPs: this.part.earliestSendPs(), minSentTo: minSentTo(out, P) });
    const clock = (this.clock = this.checkpoints.clock());
    this.link.publish(this.link.ownSubject, {
      v: PROTOCOL_VERSION,
      run: job.run,
      kind: "step",
      epoch: this.link.epoch,
      window: this.window,
      from: me,
      nextPs: orNull(mine.nextPs),
      earliestSendPs: orNull(mine.earliestSendPs),
      minSentTo: mine.minSentTo.map(orNull),
      sent,
      batches,
      // At message level, not per batch: every partition reclaims it, whether or not it gets events.
      retired: this.part.takeRetired(),
      sinceCheckpointMs: clock.sinceCheckpointMs,
      checkpointCostMs: clock.checkpointCostMs,
    });
    this.link.current = this.window;
  }

  /**
   * Closes the current window with every partition's step message: learns what each retired,
   * delivers the batches for this partition, sets the next window's end (never past a reclaim
   * boundary) and saves a checkpoint if one is due. False when the run is over.
   */
  private closeWindow(): boolean {
    const { me, partitions: P } = this.c;
    const all = this.link.takeSteps(this.window);
    const reports: BarrierReport[] = [];
    let since = this.clock.sinceCheckpointMs;
    let cost = this.clock.checkpointCostMs;
    for (let from = 0; from < P; from++) {
      if (from === me) {
        reports.push(this.mine);
        continue;
      }
      const m = all.get(from) as StepMessage;
      since = Math.max(since, m.sinceCheckpointMs);
      cost = Math.max(cost, m.checkpointCostMs);
      reports.push({ nextPs: orInfinity(m.nextPs), earliestSendPs: orInfinity(m.earliestSendPs), minSentTo: m.minSentTo.map(orInfinity) });
      this.part.learnRetired(m.from, m.retired);
      this.deliverFrom(m);
    }
    const next = nextWindow(reports, this.lookaheadPs, this.part.reclaimPeriodPs);
    if (next === null) return false;
    this.endPs = next.endPs;
    if (this.checkpoints.due(this.window, since, cost)) this.checkpoints.save(this.part, this.endPs, this.link.epoch, this.window);
    return true;
  }

  private deliverFrom(m: StepMessage): void {
    const { me } = this.c;
    const window = this.window;
    // At most one batch per destination (decodeMessage checks).
    let batch: StepMessage["batches"][number] | undefined;
    for (const b of m.batches) if (b.to === me) batch = b;
    const got = batch?.count ?? 0;
    if (got !== m.sent[me]) {
      throw new CountMismatchError(`window ${window}: partition ${m.from} reports sending ${m.sent[me]} events to ${me}, its batch holds ${got}`, window, m.from, me);
    }
    if (batch !== undefined) this.part.deliver({ from: m.from, to: me, events: batch.events, tasks: batch.tasks, objects: batch.objects });
  }

  /** The report goes to the store (when there is one: a coordinator that takes over reads it) and to the coordinator. */
  private async sendReport(): Promise<void> {
    const { job, me, stats, transport } = this.c;
    const report: Message = { v: PROTOCOL_VERSION, run: job.run, kind: "report", epoch: this.link.epoch, from: me, report: this.part.report() as never, runner: { ...stats } };
    await this.checkpoints.settled();
    if (this.store !== undefined) await this.store.saveReport(job.run, me, JSON.stringify(report));
    this.link.publish(subjects.report(job.prefix), report);
    await transport.flush();
  }
}
