import { decodeMessage, encodeMessageParts, PartReassembler, PROTOCOL_VERSION, type Decoded, type Message, type StartMessage, type StepMessage } from "../../shared/protocol/messages.ts";
import type { PartitionJob, RunnerStats } from "../partition-runner.ts";
import type { Subscription, Transport } from "../transport/transport.ts";
import { RunSeal } from "../../shared/protocol/seal.ts";
import { printable } from "../../shared/protocol/printable.ts";
import { Wakeup } from "../wakeup.ts";
import { CoordinatorAbortError, CountMismatchError, RollbackSignal, RunAbortedError } from "./errors.ts";
import { RejectionLog } from "./rejections.ts";
import { subjects } from "./subjects.ts";

/** How often a partition that lost messages asks again for a rollback, ms. */
const RESYNC_EVERY_MS = 2000;
/**
 * How long a partition that saw a message go missing (or come twice) waits for a rollback
 * before it stops the run with the counts error, ms: the sender may have seen its connection
 * drop and asked for the rollback already.
 */
const MISMATCH_GRACE_MS = 3000;
/** Step messages of later epochs kept until this partition gets there (more are dropped). */
const EARLY_STEPS_PER_PARTITION = 16;

/** Who a partition is in a run, and what it counts: what every part of its runner shares. */
export interface RunContext {
  job: PartitionJob;
  transport: Transport;
  me: number;
  partitions: number;
  incarnation: number;
  /** "partition 2", or "partition 2 (incarnation 3)": how its log lines begin. */
  who: string;
  log: (line: string) => void;
  stats: RunnerStats;
  timeoutMs: number;
}

/**
 * A partition's side of its run's messages: what it sends, what it has heard (the coordinator's
 * starts, go, finish and abort; the other partitions' step messages, sorted by window), and
 * waiting until what it needs has come. Message handlers only record; the loops act.
 */
export class RunLink {
  /** Why the run stops (an abort, or a counts error past its grace). */
  failure: Error | null = null;
  /** The newest start this partition has not taken yet. */
  nextStart: StartMessage | null = null;
  /** The epoch it runs (-1: not started yet). */
  epoch = -1;
  finished = false;
  /** The newest epoch the coordinator said to run (every partition had answered its start). */
  go = -1;
  /** The connection dropped in this epoch: messages may be lost. */
  private reconnected = false;
  /** Messages were lost in this epoch: only a rollback helps. */
  private broken = false;
  private lastResync = 0;
  /** A missing or duplicated message this partition saw, and when it becomes fatal. */
  private mismatched: { error: Error; fatalAt: number } | null = null;
  /** Step messages by window, then by sender (a later window's may come early from a fast peer). */
  private readonly steps = new Map<number, Map<number, StepMessage>>();
  /** Step messages of later epochs, from peers that took a start first. */
  private early: StepMessage[] = [];
  /** The window this partition is collecting step messages for. */
  current = 0;
  /** The last window each sender's message arrived for (-1: none yet). */
  private readonly lastFrom: Float64Array;
  private readonly wakeup = new Wakeup();
  private readonly parts = new PartReassembler();
  private partIds = 0;
  private readonly stepSubjects: string[];
  /** Its own step messages come back too: recognised by subject, never decoded. */
  readonly ownSubject: string;
  private readonly subscriptions: Subscription[];
  private readonly stopWatching: () => void;
  private readonly seal: RunSeal;
  private readonly rejections: RejectionLog;

  constructor(private readonly c: RunContext) {
    const { job, me, partitions: P, transport } = c;
    this.seal = new RunSeal(job.secret);
    this.rejections = new RejectionLog(c.log, c.who, () => c.stats.rejected++);
    this.lastFrom = new Float64Array(P).fill(-1);
    this.stepSubjects = Array.from({ length: P }, (_, p) => subjects.step(job.prefix, p));
    this.ownSubject = this.stepSubjects[me];
    this.subscriptions = [
      transport.subscribe(subjects.steps(job.prefix), (msg) => this.onStepMessage(msg.subject, msg.data)),
      transport.subscribe(subjects.control(job.prefix), (msg) => this.onControl(msg.subject, msg.data)),
    ];
    this.stopWatching = transport.onReconnect(() => {
      this.reconnected = true;
      // Whatever was sent meanwhile may be lost: say hello again, or ask for a rollback.
      if (this.epoch < 0) this.sayReady(null);
      else this.askResync("the connection to the server dropped");
      this.wakeup.notify();
    });
  }

  publish(subject: string, m: Message): void {
    const { stats, transport, me, incarnation } = this.c;
    for (const data of encodeMessageParts(m, transport.maxPayloadBytes, `p${me}.${incarnation}-${this.partIds++}`)) {
      const sealed = this.seal.seal(subject, data);
      stats.bytesSent += sealed.byteLength;
      stats.messagesSent++;
      transport.publish(subject, sealed);
    }
  }

  sayReady(epoch: number | null): void {
    const { job, me, incarnation } = this.c;
    this.publish(subjects.ready(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "ready", from: me, incarnation, epoch });
  }

  sayFailure(message: string): void {
    const { job, me, incarnation } = this.c;
    this.publish(subjects.failure(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "failure", from: me, incarnation, message: message.slice(0, 4000) });
  }

  private askResync(reason: string): void {
    const { job, me, who, log } = this.c;
    this.lastResync = Date.now();
    log(`${who}: asking for a rollback in epoch ${this.epoch}: ${reason}`);
    this.publish(subjects.resync(job.prefix), { v: PROTOCOL_VERSION, run: job.run, kind: "resync", from: me, epoch: this.epoch, reason: reason.slice(0, 2000) });
  }

  private reject(subject: string, reason: string): void {
    this.rejections.reject(subject, reason);
  }

  /**
   * Opens a sealed message and decodes it, reassembling parts; null while a message is still
   * incomplete. A message without this run's MAC is never decoded.
   */
  private decode(subject: string, sealed: Uint8Array): Decoded | null {
    const data = this.seal.open(subject, sealed);
    if (data === null) return { ok: false, reason: "no valid MAC for this run" };
    const d = decodeMessage(data, this.c.job.run);
    return d.ok && d.message.kind === "part" ? this.parts.add(d.message, this.c.job.run) : d;
  }

  private onStepMessage(subject: string, data: Uint8Array): void {
    if (this.failure !== null || subject === this.ownSubject) return;
    const d = this.decode(subject, data);
    if (d === null) return;
    if (!d.ok) return this.reject(subject, d.reason);
    if (d.message.kind !== "step") return this.reject(subject, `unexpected kind ${d.message.kind}`);
    if (subject !== this.stepSubjects[d.message.from]) return this.reject(subject, `a step message from partition ${d.message.from} on another partition's subject`);
    this.takeStep(d.message);
    this.wakeup.notify();
  }

  private onControl(subject: string, data: Uint8Array): void {
    const d = this.decode(subject, data);
    if (d === null) return;
    if (!d.ok) return this.reject(subject, d.reason);
    const m = d.message;
    if (m.kind === "start") {
      if (m.partitions !== this.c.partitions) return this.reject(subject, `start for ${m.partitions} partitions, this run has ${this.c.partitions}`);
      if (m.epoch > this.epoch && (this.nextStart === null || m.epoch > this.nextStart.epoch)) this.nextStart = m;
      // The coordinator repeats a start until every partition answers: answer again.
      else if (m.epoch === this.epoch) this.sayReady(this.epoch);
    } else if (m.kind === "go") {
      this.go = Math.max(this.go, m.epoch);
    } else if (m.kind === "finish") {
      if (m.epoch === this.epoch || this.epoch < 0) this.finished = true;
    } else if (m.kind === "abort") {
      this.failure ??= new CoordinatorAbortError(`${this.c.who}: the coordinator aborted the run: ${printable(m.reason)}`);
    } else return this.reject(subject, `unexpected kind ${m.kind}`);
    this.wakeup.notify();
  }

  /** Files a step message by window, or stops at a lost, duplicated or late one. */
  private takeStep(m: StepMessage): void {
    try {
      this.fileStep(m);
    } catch (e) {
      this.mismatch(e as Error);
    }
  }

  private fileStep(m: StepMessage): void {
    const { me, partitions: P, job } = this.c;
    if (m.from === me || m.epoch < this.epoch) return;
    if (m.epoch > this.epoch) {
      if (this.early.length >= EARLY_STEPS_PER_PARTITION * P) return this.reject(subjects.steps(job.prefix), `too many step messages ahead of epoch ${this.epoch}`);
      this.early.push(m);
      return;
    }
    const lastFrom = this.lastFrom;
    if (m.from >= P || m.sent.length !== P || m.minSentTo.length !== P) throw new CountMismatchError(`window ${m.window}: a step message claims to come from partition ${m.from} of ${P}`, m.window, m.from, me);
    if (m.window <= lastFrom[m.from]) throw new CountMismatchError(`window ${m.window}: duplicate step message from partition ${m.from} (at partition ${me})`, m.window, m.from, me);
    if (m.window > lastFrom[m.from] + 1) {
      const lost = lastFrom[m.from] + 1;
      throw new CountMismatchError(`window ${lost}: the step message of partition ${m.from} never reached partition ${me} (window ${m.window}'s came first)`, lost, m.from, me);
    }
    if (m.window < this.current) throw new CountMismatchError(`window ${m.window}: step message from partition ${m.from} arrived after the window closed`, m.window, m.from, me);
    lastFrom[m.from] = m.window;
    let byFrom = this.steps.get(m.window);
    if (byFrom === undefined) this.steps.set(m.window, (byFrom = new Map()));
    byFrom.set(m.from, m);
  }

  /**
   * A lost or duplicated message: a rollback mends it. If this partition's connection dropped
   * it asks for one; else it waits a little for one (the sender's connection may have dropped)
   * and then stops the run with the counts error.
   */
  private mismatch(e: Error): void {
    if (this.reconnected) {
      if (!this.broken) this.askResync(e.message);
    } else this.mismatched ??= { error: e, fatalAt: Date.now() + MISMATCH_GRACE_MS };
    this.broken = true;
  }

  /**
   * Waits until `ready()` holds, at most the run's timeout. A failure throws it; a new start
   * throws a RollbackSignal (unless `ready` is waiting for it); lost messages wait for the rollback.
   */
  async until(ready: () => boolean, what: () => string): Promise<void> {
    const { timeoutMs, who } = this.c;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.failure !== null) throw this.failure;
      if (!this.broken && ready()) return;
      if (this.nextStart !== null) throw new RollbackSignal();
      const mismatched = this.mismatched;
      if (mismatched !== null && Date.now() >= mismatched.fatalAt) throw mismatched.error;
      if (this.broken && mismatched === null && Date.now() - this.lastResync >= RESYNC_EVERY_MS) this.askResync("messages were lost");
      const left = deadline - Date.now();
      if (left <= 0) throw new RunAbortedError(`${who}: timed out after ${timeoutMs} ms waiting for ${what()}`);
      await this.wakeup.sleep(Math.min(left, RESYNC_EVERY_MS, mismatched === null ? Infinity : mismatched.fatalAt - Date.now()));
    }
  }

  /** The start to act on (the caller has seen that there is one). */
  takeStart(): StartMessage {
    const s = this.nextStart as StartMessage;
    this.nextStart = null;
    return s;
  }

  /** Forgets unfinished parts (after a rollback, their other parts will never come). */
  dropParts(): void {
    this.parts.clear();
  }

  /** Enters `epoch` at `window`: forgets the old epoch's messages and files the new one's that came early. */
  enterEpoch(epoch: number, window: number): void {
    this.epoch = epoch;
    this.finished = false;
    this.reconnected = false;
    this.broken = false;
    this.mismatched = null;
    this.steps.clear();
    this.current = window;
    this.lastFrom.fill(window - 1);
    const held = this.early;
    this.early = [];
    for (const m of held) this.takeStep(m);
  }

  /** Whether every other partition's step message of `window` is here. */
  haveAllSteps(window: number): boolean {
    return (this.steps.get(window)?.size ?? 0) === this.c.partitions - 1;
  }

  missingSteps(window: number): string {
    const have = this.steps.get(window);
    const missing = [];
    for (let p = 0; p < this.c.partitions; p++) if (p !== this.c.me && have?.has(p) !== true) missing.push(p);
    return `window ${window}: the step messages of partition(s) ${missing.join(", ")}`;
  }

  /** Takes every other partition's step message of `window` (haveAllSteps holds). */
  takeSteps(window: number): Map<number, StepMessage> {
    const all = this.steps.get(window) as Map<number, StepMessage>;
    this.steps.delete(window);
    return all;
  }

  close(): void {
    this.wakeup.close();
    for (const s of this.subscriptions) s.unsubscribe();
    this.stopWatching();
  }
}
