/**
 * The step message on the wire: binary, not JSON. Every partition sends one every window and
 * reads everyone else's, on the barrier's critical path; as JSON, encoding, decoding and
 * checking it took about 7 µs of each window's CPU, in binary under 2 µs. Its numbers travel
 * as float64 (exact, as in memory); the tasks and objects that travel with a batch, which are
 * few, stay JSON.
 *
 * Layout, little-endian:
 *
 *   "RSST" | u16 protocol version | u8 run id length | run id (ASCII)
 *   f64 epoch | f64 window | f64 from | f64 nextPs | f64 earliestSendPs
 *   f64 sinceCheckpointMs | f64 checkpointCostMs
 *   u32 n | n x f64 minSentTo | u32 n | n x f64 sent
 *   u32 n | n x f64 retired (pairs: duePs, id, ...; n even)
 *   u32 batches | per batch: f64 to | f64 count | u32 n | n x f64 events
 *                            | u32 bytes | UTF-8 JSON {"tasks":[...],"objects":[...]} (0 bytes: none)
 *
 * "None" (null in the message) is -1 on the wire. The decoder checks every field as the step
 * schema (stepSchema in messages.ts) does and accepts nothing else: a decoded message always
 * satisfies the schema (the fuzz suite holds it to that), and a valid message decodes to
 * itself.
 */
import { checkRecords } from "./step-check.ts";
import type { StepMessage } from "./messages.ts";

const MAGIC = [0x52, 0x53, 0x53, 0x54]; // "RSST": a refsim step message
const HEADER_BYTES = 7;
const RUN_ID = /^[A-Za-z0-9_-]{8,64}$/;
const NONE = -1;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Whether `data` is a binary step message (of any protocol version): it starts with the magic. */
export function isStepFrame(data: Uint8Array): boolean {
  return data.byteLength >= 4 && data[0] === MAGIC[0] && data[1] === MAGIC[1] && data[2] === MAGIC[2] && data[3] === MAGIC[3];
}

/** The protocol version of a step frame (isStepFrame holds), or -1 if it is too short to say. */
export function stepFrameVersion(data: Uint8Array): number {
  return data.byteLength >= 6 ? data[4] | (data[5] << 8) : -1;
}

/** Writes a frame front to back. */
class Writer {
  at = 0;
  private readonly view: DataView;
  constructor(readonly out: Uint8Array) {
    this.view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  }
  f64(v: number): void {
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }
  u32(v: number): void {
    this.view.setUint32(this.at, v, true);
    this.at += 4;
  }
}

/**
 * Encodes a valid step message (the caller builds it; nothing here checks it). The bytes come
 * from Node's buffer pool: a fresh Uint8Array costs more than the whole encoding.
 */
export function encodeStep(m: StepMessage, version: number): Uint8Array {
  let records: Array<Uint8Array | null> | null = null;
  let size = HEADER_BYTES + m.run.length + 7 * 8 + 4 + 8 * m.minSentTo.length + 4 + 8 * m.sent.length + 4 + 8 * m.retired.length + 4;
  for (let i = 0; i < m.batches.length; i++) {
    const b = m.batches[i];
    size += 24 + 8 * b.events.length;
    if (b.tasks.length === 0 && b.objects.length === 0) continue;
    records ??= new Array<Uint8Array | null>(m.batches.length).fill(null);
    records[i] = utf8.encode(JSON.stringify({ tasks: b.tasks, objects: b.objects }));
    size += records[i]!.byteLength;
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  const out = w.out;
  out.set(MAGIC, 0);
  out[4] = version & 0xff;
  out[5] = version >> 8;
  out[6] = m.run.length;
  for (let i = 0; i < m.run.length; i++) out[HEADER_BYTES + i] = m.run.charCodeAt(i);
  w.at = HEADER_BYTES + m.run.length;
  w.f64(m.epoch);
  w.f64(m.window);
  w.f64(m.from);
  w.f64(m.nextPs ?? NONE);
  w.f64(m.earliestSendPs ?? NONE);
  w.f64(m.sinceCheckpointMs);
  w.f64(m.checkpointCostMs);
  w.u32(m.minSentTo.length);
  for (let i = 0; i < m.minSentTo.length; i++) w.f64(m.minSentTo[i] ?? NONE);
  w.u32(m.sent.length);
  for (let i = 0; i < m.sent.length; i++) w.f64(m.sent[i]);
  w.u32(m.retired.length);
  for (let i = 0; i < m.retired.length; i++) w.f64(m.retired[i]);
  w.u32(m.batches.length);
  for (let i = 0; i < m.batches.length; i++) {
    const b = m.batches[i];
    w.f64(b.to);
    w.f64(b.count);
    w.u32(b.events.length);
    for (let e = 0; e < b.events.length; e++) w.f64(b.events[e]);
    const r = records?.[i] ?? null;
    w.u32(r?.byteLength ?? 0);
    if (r !== null) {
      out.set(r, w.at);
      w.at += r.byteLength;
    }
  }
  return out;
}

type Result = { ok: true; message: StepMessage } | { ok: false; reason: string };

/** A length beyond the frame's bytes. */
class Short extends Error {}

/** Reads a frame from the front; reading past its end throws (DataView's RangeError). */
class Reader {
  at = 0;
  private readonly view: DataView;
  constructor(private readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }
  get left(): number {
    return this.data.byteLength - this.at;
  }
  f64(): number {
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  u32(): number {
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  /** A count of items of `width` bytes each: no more than the bytes left could hold. */
  length(width: number): number {
    const n = this.u32();
    if (n * width > this.left) throw new Short();
    return n;
  }
}

/** The last run id read: a partition reads the same one thousands of times a second. */
let lastRun = "";

/** The frame's run id, or null if it is not one. */
function runId(data: Uint8Array, length: number): string | null {
  let same = length === lastRun.length;
  for (let i = 0; same && i < length; i++) same = data[HEADER_BYTES + i] === lastRun.charCodeAt(i);
  if (same) return lastRun;
  let run = "";
  for (let i = 0; i < length; i++) run += String.fromCharCode(data[HEADER_BYTES + i]);
  if (!RUN_ID.test(run)) return null;
  lastRun = run;
  return run;
}

const isInt = (v: number, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isSafeInteger(v) && v >= min && v <= max;
const isTime = (v: number) => v === NONE || isInt(v, 0);
const timeOrNone = (v: number) => (v === NONE ? null : v);
const fail = (reason: string): Result => ({ ok: false, reason });

/**
 * Decodes and checks a step frame of protocol `version` (isStepFrame holds). Never throws: a
 * bad frame is a result with the reason, naming the field.
 */
export function decodeStep(data: Uint8Array, version: number): Result {
  if (data.byteLength < HEADER_BYTES) return fail(`truncated at byte ${data.byteLength} of ${data.byteLength}`);
  const v = stepFrameVersion(data);
  if (v !== version) return fail(`unknown protocol version ${v} (this is ${version})`);
  const runLength = data[6];
  if (HEADER_BYTES + runLength > data.byteLength) return fail(`truncated at byte ${data.byteLength} of ${data.byteLength}`);
  const run = runId(data, runLength);
  if (run === null) return fail("run: expected a run id");
  const r = new Reader(data);
  r.at = HEADER_BYTES + runLength;
  try {
    const epoch = r.f64();
    if (!isInt(epoch, 0)) return fail("epoch: expected an integer >= 0");
    const window = r.f64();
    if (!isInt(window, 0)) return fail("window: expected an integer >= 0");
    const from = r.f64();
    if (!isInt(from, 0, 4095)) return fail("from: expected a partition from 0 to 4095");
    const nextPs = r.f64();
    if (!isTime(nextPs)) return fail("nextPs: expected an integer >= 0 or none");
    const earliestSendPs = r.f64();
    if (!isTime(earliestSendPs)) return fail("earliestSendPs: expected an integer >= 0 or none");
    const sinceCheckpointMs = r.f64();
    if (!(Number.isFinite(sinceCheckpointMs) && sinceCheckpointMs >= 0)) return fail("sinceCheckpointMs: expected a number >= 0");
    const checkpointCostMs = r.f64();
    if (!(Number.isFinite(checkpointCostMs) && checkpointCostMs >= 0)) return fail("checkpointCostMs: expected a number >= 0");
    const minSentTo: Array<number | null> = [];
    for (let i = 0, n = r.length(8); i < n; i++) {
      const t = r.f64();
      if (!isTime(t)) return fail(`minSentTo.${i}: expected an integer >= 0 or none`);
      minSentTo.push(timeOrNone(t));
    }
    const sent: number[] = [];
    for (let i = 0, n = r.length(8); i < n; i++) {
      const c = r.f64();
      if (!isInt(c, 0)) return fail(`sent.${i}: expected an integer >= 0`);
      sent.push(c);
    }
    const retired: number[] = [];
    for (let i = 0, n = r.length(8); i < n; i++) {
      const x = r.f64();
      if (!isInt(x, 0)) return fail(`retired.${i}: expected an integer >= 0`);
      retired.push(x);
    }
    if (retired.length % 2 !== 0) return fail("retired: expected pairs (an even length)");
    const batches: StepMessage["batches"] = [];
    for (let j = 0, nb = r.length(24); j < nb; j++) {
      const path = `batches.${j}`;
      const to = r.f64();
      if (!isInt(to, 0, 4095)) return fail(`${path}.to: expected a partition from 0 to 4095`);
      const count = r.f64();
      if (!isInt(count, 0)) return fail(`${path}.count: expected an integer >= 0`);
      const events: number[] = [];
      for (let i = 0, n = r.length(8); i < n; i++) {
        const e = r.f64();
        if (!Number.isFinite(e)) return fail(`${path}.events.${i}: expected a finite number`);
        events.push(e);
      }
      const bytes = r.length(1);
      let tasks: StepMessage["batches"][number]["tasks"] = [];
      let objects: StepMessage["batches"][number]["objects"] = [];
      if (bytes > 0) {
        let doc: unknown;
        try {
          doc = JSON.parse(fromUtf8.decode(data.subarray(r.at, r.at + bytes)));
        } catch (e) {
          return fail(`${path}.records: not JSON: ${(e as Error).message}`);
        }
        const bad = checkRecords(doc, path);
        if (bad !== null) return fail(bad);
        ({ tasks, objects } = doc as { tasks: typeof tasks; objects: typeof objects });
        // The encoder writes no records for none: anything else would not encode back the same.
        if (tasks.length === 0 && objects.length === 0) return fail(`${path}.records: empty records must be left out`);
        r.at += bytes;
      }
      batches.push({ to, count, events, tasks, objects });
    }
    if (r.left !== 0) return fail(`${r.left} stray bytes after the last batch`);
    return {
      ok: true,
      message: {
        v: version as StepMessage["v"],
        run,
        kind: "step",
        epoch,
        window,
        from,
        nextPs: timeOrNone(nextPs),
        earliestSendPs: timeOrNone(earliestSendPs),
        minSentTo,
        sent,
        batches,
        retired,
        sinceCheckpointMs,
        checkpointCostMs,
      },
    };
  } catch (e) {
    if (e instanceof Short || e instanceof RangeError) return fail(`truncated at byte ${r.at} of ${data.byteLength}`);
    throw e;
  }
}
