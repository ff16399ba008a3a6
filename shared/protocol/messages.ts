import { z } from "zod";
import type { PartitionReport } from "../report.ts";
import { decodeStep, encodeStep, isStepFrame } from "./step-codec.ts";

/**
 * The messages of a distributed run, as they cross processes: JSON with a protocol version
 * and the run's id, except the step message of every window, which is binary (step-codec.ts)
 * with the same content. Every message travels sealed with a MAC under the run's secret
 * (seal.ts), opened before it is decoded here. Every message is validated when it arrives; one
 * that fails is rejected (and counted), never acted on. Times are integer picoseconds; JSON has no
 * Infinity, so "no pending event" is null.
 */
export const PROTOCOL_VERSION = 5;
/** Messages above this size are rejected unread (a batch of ~100,000 events fits easily). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const runId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);
const count = z.int().min(0);
const timePs = z.number().int().min(0);
const partition = z.int().min(0).max(4095);

const envelope = { v: z.literal(PROTOCOL_VERSION), run: runId };

const taskSchema = z.strictObject({
  id: z.int().min(0),
  cpu: z.int().min(0),
  role: z.int().min(0).max(1),
  attach: z.array(z.int().min(0)),
  owned: z.boolean(),
  parent: z.int().min(-1),
  pull: z.boolean(),
  thinkNext: z.boolean(),
  churnPhase: z.int().min(0),
  churn: z.strictObject({ attach: z.array(z.int().min(0)), creatorHolds: z.array(z.int().min(0)) }).nullable(),
});

const objectSchema = z.strictObject({
  id: z.int().min(0),
  type: z.int().min(0).max(4),
  nsKind: z.int().min(-1).max(31),
  home: z.int().min(0),
  holds: z.array(z.int().min(0)),
  counter: z.int().min(0).max(4),
  createdPs: timePs,
  gen: z.int().min(0),
});

const epoch = z.int().min(0);
const incarnation = z.int().min(1);

/**
 * A partition's hello when its job starts (epoch null: it waits for a start), and its answer
 * to each start once it holds the start's state (epoch: the start's). The incarnation counts
 * the partition's job starts: a higher one means the partition was restarted elsewhere.
 */
export const readySchema = z.strictObject({ ...envelope, kind: z.literal("ready"), from: partition, incarnation, epoch: epoch.nullable() });
/**
 * The coordinator starts an epoch of the run: every partition takes the state of checkpoint
 * `window` (-1: the run's beginning) and runs from there. The first start begins the run; a
 * later one rolls every partition back (a worker was lost, or messages were).
 */
export const startSchema = z.strictObject({ ...envelope, kind: z.literal("start"), partitions: z.int().min(1).max(4096), epoch, window: z.int().min(-1) });
/** A partition lost contact (its connection to the server dropped) and asks for a rollback. */
export const resyncSchema = z.strictObject({ ...envelope, kind: z.literal("resync"), from: partition, epoch, reason: z.string().max(2000) });
/** Every partition holds the epoch's state and listens: they may run (sent once all answered the start). */
export const goSchema = z.strictObject({ ...envelope, kind: z.literal("go"), epoch });
/** The coordinator has every report of the epoch: the partitions may end their jobs. */
export const finishSchema = z.strictObject({ ...envelope, kind: z.literal("finish"), epoch });

/** Events for one partition: EVENT_FIELDS numbers each, and the tasks that travel with them. */
const batchSchema = z.strictObject({
  to: partition,
  /** The number of events (events.length / 8): the receiver checks it. */
  count,
  events: z.array(z.number()),
  tasks: z.array(taskSchema),
  /** Object records the receiver may not have yet (they travel with events). */
  objects: z.array(objectSchema),
});

/**
 * What a partition broadcasts at the end of each window (one message per partition per window):
 * its barrier report and its batches for the others. Every partition computes the next window
 * from all of them, identically: it starts at the earliest `nextPs` or `minSentPs` of any, and
 * lasts the static lookahead.
 */
export const stepSchema = z.strictObject({
  ...envelope,
  kind: z.literal("step"),
  epoch,
  window: count,
  from: partition,
  /** The partition's next local event, or null. */
  nextPs: timePs.nullable(),
  /** A lower bound on its next event for another partition, absent inbound; null = none. */
  earliestSendPs: timePs.nullable(),
  /** The earliest event it sent each partition in this window, or null. */
  minSentTo: z.array(timePs.nullable()),
  /** Events sent to each partition in this window (the batches must carry exactly these). */
  sent: z.array(count),
  batches: z.array(batchSchema),
  /**
   * What the sender retired in this window, as flattened pairs [duePs, id, ...]: one list for
   * every receiver (each reclaims the same memory at the same boundary), so a partition it sends
   * no events still learns of it.
   */
  retired: z
    .array(z.int().min(0))
    .refine((pairs) => pairs.length % 2 === 0, { message: "expected pairs (an even length)" }),
  /** The sender's wall clock since its last checkpoint, and that checkpoint's cost (ms): the partitions agree on when to save. */
  sinceCheckpointMs: z.number().min(0),
  checkpointCostMs: z.number().min(0),
});
/** A partition's sign of life, at most once a second: the coordinator's liveness check and progress. */
export const progressSchema = z.strictObject({ ...envelope, kind: z.literal("progress"), from: partition, window: count, simulatedPs: timePs });
export const abortSchema = z.strictObject({ ...envelope, kind: z.literal("abort"), reason: z.string().max(2000) });
export const failureSchema = z.strictObject({ ...envelope, kind: z.literal("failure"), from: partition, incarnation, message: z.string().max(4000) });
export const reportSchema = z.strictObject({
  ...envelope,
  kind: z.literal("report"),
  epoch,
  from: partition,
  /** A PartitionReport; its deep shape is checked by mergeReports' own consistency checks. */
  report: z.looseObject({ partition, cpus: z.array(z.unknown()), homes: z.array(z.unknown()), tasks: z.array(taskSchema), objects: z.array(objectSchema) }),
  /** How the partition's side of the run went (windows, compute time, traffic). */
  runner: z.strictObject({ windows: count, rejected: count, busyMs: z.number().min(0), batchesSent: count, eventsSent: count, bytesSent: count, messagesSent: count, rollbacks: count, checkpoints: count, loopMs: z.number().min(0) }),
});

/** One piece of a message too large for one transport payload (reassembled by PartReassembler). */
export const partSchema = z.strictObject({
  ...envelope,
  kind: z.literal("part"),
  /** Identifies the whole message among the sender's parts. */
  id: z.string().min(1).max(64),
  index: count,
  total: z.int().min(1).max(100_000),
  /** A slice of the whole message's JSON text, or (binary) of its bytes in base64. */
  text: z.string(),
  binary: z.boolean(),
});

export const messageSchema = z.discriminatedUnion("kind", [
  partSchema,
  readySchema,
  startSchema,
  resyncSchema,
  goSchema,
  finishSchema,
  stepSchema,
  progressSchema,
  abortSchema,
  failureSchema,
  reportSchema,
]);

export type Message = z.infer<typeof messageSchema>;
export type StepMessage = z.infer<typeof stepSchema>;
export type StartMessage = z.infer<typeof startSchema>;
export type ReportMessage = z.infer<typeof reportSchema>;

export type Decoded = { ok: true; message: Message } | { ok: false; reason: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeMessage(m: Message): Uint8Array {
  return m.kind === "step" ? encodeStep(m, PROTOCOL_VERSION) : encoder.encode(JSON.stringify(m));
}

/**
 * Decodes and validates one message. `expectedRun` rejects messages of other runs. Never
 * throws: a bad message is a result with the reason, naming the offending field.
 */
export function decodeMessage(data: Uint8Array, expectedRun?: string): Decoded {
  if (data.byteLength > MAX_MESSAGE_BYTES) return { ok: false, reason: `oversized: ${data.byteLength} bytes (limit ${MAX_MESSAGE_BYTES})` };
  let message: Message;
  if (isStepFrame(data)) {
    const d = decodeStep(data, PROTOCOL_VERSION);
    if (!d.ok) return d;
    message = d.message;
  } else {
    let doc: unknown;
    try {
      doc = JSON.parse(decoder.decode(data));
    } catch (e) {
      return { ok: false, reason: `not JSON: ${(e as Error).message}` };
    }
    if (typeof doc === "object" && doc !== null && "v" in doc && (doc as { v: unknown }).v !== PROTOCOL_VERSION) {
      return { ok: false, reason: `unknown protocol version ${JSON.stringify((doc as { v: unknown }).v)} (this is ${PROTOCOL_VERSION})` };
    }
    if (typeof doc === "object" && doc !== null && (doc as { kind?: unknown }).kind === "step") return { ok: false, reason: "kind: step messages are binary, not JSON" };
    const r = messageSchema.safeParse(doc);
    if (!r.success) {
      const issue = r.error.issues[0];
      return { ok: false, reason: `${issue.path.join(".") || "(message)"}: ${issue.message}` };
    }
    message = r.data;
  }
  if (expectedRun !== undefined && message.run !== expectedRun) return { ok: false, reason: `message for unknown run ${message.run}` };
  if (message.kind === "step") {
    const m = message;
    for (const [j, b] of m.batches.entries()) {
      for (let k = 0; k < j; k++) if (m.batches[k].to === b.to) return { ok: false, reason: `batches.${j}.to: a second batch for partition ${b.to}` };
      if (b.events.length !== b.count * 8) return { ok: false, reason: `batches.${j}.events: ${b.events.length} numbers for a count of ${b.count}` };
      if (b.to >= m.sent.length || m.sent[b.to] !== b.count) return { ok: false, reason: `batches.${j}.count: ${b.count} events, but sent says ${m.sent[b.to]}` };
      for (let i = 0; i < b.events.length; i++) {
        if (!Number.isFinite(b.events[i])) return { ok: false, reason: `batches.${j}.events.${i}: not a finite number` };
      }
    }
  }
  return { ok: true, message };
}

export function reportOf(m: Extract<Message, { kind: "report" }>): PartitionReport {
  return m.report as unknown as PartitionReport;
}

/**
 * Encodes a message as one payload, or as several "part" messages when it exceeds
 * `maxBytes` (NATS servers accept 1 MiB by default; a partition's final report is larger).
 */
export function encodeMessageParts(m: Message, maxBytes: number | undefined, partId: string): Uint8Array[] {
  const whole = encodeMessage(m);
  if (maxBytes === undefined || whole.byteLength <= maxBytes) return [whole];
  const binary = m.kind === "step";
  const text = binary ? Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength).toString("base64") : JSON.stringify(m);
  // Leave room for the part's own envelope; JSON-escaping can at most double a character.
  const chunk = Math.max(1024, Math.floor((maxBytes - 512) / 2));
  const total = Math.ceil(text.length / chunk);
  const out: Uint8Array[] = [];
  for (let index = 0; index < total; index++) {
    const slice = text.slice(index * chunk, (index + 1) * chunk);
    out.push(encodeMessage({ v: PROTOCOL_VERSION, run: m.run, kind: "part", id: partId, index, total, text: slice, binary }));
  }
  return out;
}

/** Characters a whole message's parts may carry: its bytes' base64 (4 per 3) at MAX_MESSAGE_BYTES. */
export const MAX_PARTS_CHARS = Math.ceil(MAX_MESSAGE_BYTES / 3) * 4;
/** Characters of unfinished messages one sender may have pending at a receiver. */
export const MAX_PENDING_CHARS_PER_SENDER = 2 * MAX_PARTS_CHARS;
/** Unfinished messages a receiver keeps; parts of messages lost in flight never complete. */
const MAX_PENDING_MESSAGES = 64;

interface PendingMessage {
  sender: string;
  total: number;
  binary: boolean;
  texts: Array<string | undefined>;
  got: number;
  chars: number;
}

/**
 * Collects "part" messages until a whole message is there, then decodes it. It holds at most
 * MAX_PENDING_MESSAGES unfinished messages (the oldest goes first), each of at most
 * MAX_PARTS_CHARS, and at most MAX_PENDING_CHARS_PER_SENDER from one sender (a part id's text
 * before its last "-", as encodeMessageParts is given it): a part past a limit is rejected and
 * its message dropped, so no sender can make a receiver hold more than that.
 */
export class PartReassembler {
  private readonly pending = new Map<string, PendingMessage>();
  private readonly pendingChars = new Map<string, number>();

  constructor(private readonly limits = { messageChars: MAX_PARTS_CHARS, senderChars: MAX_PENDING_CHARS_PER_SENDER }) {}

  /** Forgets every unfinished message (after a rollback, their other parts will never come). */
  clear(): void {
    this.pending.clear();
    this.pendingChars.clear();
  }

  private drop(id: string): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    const left = (this.pendingChars.get(entry.sender) ?? 0) - entry.chars;
    if (left > 0) this.pendingChars.set(entry.sender, left);
    else this.pendingChars.delete(entry.sender);
  }

  /** Returns the decoded whole message once its last part arrives, else null. */
  add(p: Extract<Message, { kind: "part" }>, expectedRun?: string): Decoded | null {
    let entry = this.pending.get(p.id);
    if (entry === undefined) {
      if (this.pending.size >= MAX_PENDING_MESSAGES) this.drop(this.pending.keys().next().value as string);
      const dash = p.id.lastIndexOf("-");
      entry = { sender: dash < 0 ? p.id : p.id.slice(0, dash), total: p.total, binary: p.binary, texts: new Array(p.total), got: 0, chars: 0 };
      this.pending.set(p.id, entry);
    }
    if (p.total !== entry.total || p.binary !== entry.binary || p.index >= entry.total) return { ok: false, reason: `part ${p.index} of ${p.total} does not fit message ${p.id}` };
    if (entry.texts[p.index] !== undefined) return { ok: false, reason: `duplicate part ${p.index} of message ${p.id}` };
    const senderChars = (this.pendingChars.get(entry.sender) ?? 0) + p.text.length;
    const { messageChars, senderChars: senderLimit } = this.limits;
    if (entry.chars + p.text.length > messageChars || senderChars > senderLimit) {
      this.drop(p.id);
      return { ok: false, reason: `message ${p.id} would hold more than ${entry.chars + p.text.length > messageChars ? `${messageChars} characters` : `${senderLimit} characters pending from sender ${entry.sender}`}; dropped` };
    }
    entry.texts[p.index] = p.text;
    entry.got++;
    entry.chars += p.text.length;
    this.pendingChars.set(entry.sender, senderChars);
    if (entry.got < entry.total) return null;
    this.drop(p.id);
    const joined = entry.texts.join("");
    const whole = decodeMessage(entry.binary ? new Uint8Array(Buffer.from(joined, "base64")) : encoder.encode(joined), expectedRun);
    if (whole.ok && whole.message.kind === "part") return { ok: false, reason: "a part inside a part" };
    return whole;
  }
}
