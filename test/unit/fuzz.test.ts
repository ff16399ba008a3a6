import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SpecError } from "../../shared/engine/errors.ts";
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, stepSchema, type StepMessage } from "../../shared/protocol/messages.ts";
import { decodeStep, encodeStep } from "../../shared/protocol/step-codec.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { resolveSpec } from "../../shared/spec/resolve.ts";

/** A valid spec to mutate: fuzzing near valid input reaches deeper than random values. */
const VALID = {
  machine: "small-4",
  cpus: [1, 2, 4],
  schemes: ["nsproxy", "percpu"],
  seed: 3,
  duration: "200us",
  warmup: "20us",
  workload: { preset: "fork-storm", fork: { placement: "random" }, containers: { count: 2, nesting: 1, pinToSockets: false } },
  options: { sloppyBatch: 4 },
};

/** Sets `value` at a random path of a deep copy of `doc`. */
function mutate(doc: unknown, path: Array<string | number>, value: unknown): unknown {
  const copy = structuredClone(doc) as Record<string, unknown>;
  let at: Record<string, unknown> = copy;
  for (let i = 0; i < path.length - 1; i++) {
    const next = at[path[i]];
    if (typeof next !== "object" || next === null) return copy;
    at = next as Record<string, unknown>;
  }
  at[path[path.length - 1]] = value;
  return copy;
}

const PATHS: Array<Array<string | number>> = [
  ["machine"],
  ["cpus"],
  ["cpus", 0],
  ["schemes"],
  ["schemes", 1],
  ["seed"],
  ["duration"],
  ["warmup"],
  ["workload"],
  ["workload", "preset"],
  ["workload", "fork"],
  ["workload", "fork", "placement"],
  ["workload", "containers", "count"],
  ["workload", "containers", "nesting"],
  ["workload", "mix"],
  ["options", "sloppyBatch"],
  ["options", "refcacheEpoch"],
  ["costs"],
  ["layout"],
  ["namespaces"],
  ["unexpected"],
];

function checkSpec(doc: unknown): void {
  try {
    resolveSpec(parseSpec(doc));
  } catch (e) {
    // Rejected: always a SpecError whose message names a field (or the spec as a whole).
    expect(e).toBeInstanceOf(SpecError);
    expect((e as Error).message.length).toBeGreaterThan(0);
    expect((e as Error).message).toMatch(/^[\w.()[\]-]*:|: /m);
  }
}

describe("hostile input: the spec parser", () => {
  it("accepts or rejects 10,000 generated specs with a field-naming error, never another exception", () => {
    const mutated = fc.tuple(fc.constantFrom(...PATHS), fc.anything({ maxDepth: 3, maxKeys: 4 })).map(([path, value]) => mutate(VALID, path, value));
    fc.assert(
      fc.property(fc.oneof(mutated, mutated, fc.anything({ maxDepth: 4, maxKeys: 6 })), (doc) => checkSpec(doc)),
      { numRuns: 10_000 },
    );
  });
});

const RUN = "fuzzrun-abcdefgh";

const validMessages = [
  { v: PROTOCOL_VERSION, run: RUN, kind: "ready", from: 1, incarnation: 1, epoch: null },
  { v: PROTOCOL_VERSION, run: RUN, kind: "ready", from: 1, incarnation: 2, epoch: 3 },
  { v: PROTOCOL_VERSION, run: RUN, kind: "start", partitions: 2, epoch: 1, window: -1 },
  { v: PROTOCOL_VERSION, run: RUN, kind: "start", partitions: 2, epoch: 4, window: 99 },
  { v: PROTOCOL_VERSION, run: RUN, kind: "resync", from: 0, epoch: 2, reason: "the connection dropped" },
  { v: PROTOCOL_VERSION, run: RUN, kind: "finish", epoch: 2 },
  { v: PROTOCOL_VERSION, run: RUN, kind: "go", epoch: 2 },
  {
    v: PROTOCOL_VERSION,
    run: RUN,
    kind: "step",
    epoch: 1,
    window: 3,
    from: 0,
    nextPs: 1000,
    earliestSendPs: 1000,
    minSentTo: [null, 2000],
    sent: [0, 1],
    batches: [{ to: 1, count: 1, events: [2000, 5, 1, 2, 3, 4, 5, 6], tasks: [], objects: [] }],
    retired: [],
    sinceCheckpointMs: 1200,
    checkpointCostMs: 35,
  },
  { v: PROTOCOL_VERSION, run: RUN, kind: "progress", from: 0, window: 9, simulatedPs: 123 },
  { v: PROTOCOL_VERSION, run: RUN, kind: "abort", reason: "stop" },
  { v: PROTOCOL_VERSION, run: RUN, kind: "failure", from: 1, incarnation: 1, message: "boom" },
] as const;

/** A step message with a task and an object in its batch, for mutations deep inside. */
const FULL_STEP = {
  v: PROTOCOL_VERSION,
  run: RUN,
  kind: "step",
  epoch: 2,
  window: 7,
  from: 1,
  nextPs: null,
  earliestSendPs: 5000,
  minSentTo: [3000, null],
  sent: [1, 0],
  batches: [
    {
      to: 0,
      count: 1,
      events: [3000, 9, 0, 5, 11, 0, 0, 0],
      tasks: [{ id: 11, cpu: 0, role: 1, attach: [4, 5], owned: true, parent: -1, pull: false, thinkNext: false, churnPhase: 0, churn: { attach: [4], creatorHolds: [5] } }],
      objects: [{ id: 5, type: 2, nsKind: 3, home: 1, holds: [], counter: 1, createdPs: 100, gen: 0 }],
    },
  ],
  retired: [4000, 11, 4000, 5],
  sinceCheckpointMs: 10.5,
  checkpointCostMs: 0,
};

/** Every path to a value inside a document (objects and arrays), the document's own included. */
function paths(doc: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = prefix.length > 0 ? [prefix] : [];
  if (typeof doc === "object" && doc !== null) for (const [k, v] of Object.entries(doc)) out.push(...paths(v, [...prefix, Array.isArray(doc) ? Number(k) : k]));
  return out;
}

describe("hostile input: the message decoder", () => {
  it("carries step messages in binary exactly: 10,000 mutations at every depth, each the schema accepts decoded to itself", () => {
    const all = [...paths(FULL_STEP), ["extra"], ["batches", 0, "extra"], ["batches", 0, "tasks", 0, "extra"], ["batches", 0, "objects", 0, "extra"]];
    expect(stepSchema.safeParse(FULL_STEP).success).toBe(true);
    const value = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(null, 0, -0, -1, 1, 4095, 4096, 0.5, -0.5, 2 ** 53, 2 ** 32, Infinity, NaN, "", "x", true, false, [], {}, [1, 2], [-1], [0.5], [null]),
      fc.integer({ min: -2, max: 40 }),
      fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 3 }),
      fc.double(),
      fc.anything({ maxDepth: 2, maxKeys: 3 }),
    );
    let accepted = 0;
    fc.assert(
      fc.property(fc.constantFrom(...all), value, (path, v) => {
        const doc = mutate(FULL_STEP, path, v);
        // The encoder takes only valid messages (the runner builds them); those must come back whole.
        if (!stepSchema.safeParse(doc).success) return;
        accepted++;
        // (decodeMessage goes on to check the batches against `sent`: not the codec's business.)
        const d = decodeStep(encodeStep(doc as StepMessage, PROTOCOL_VERSION), PROTOCOL_VERSION);
        // Tasks and objects travel as JSON inside the frame: there, as in JSON, -0 is 0.
        const step = doc as StepMessage;
        const expected = { ...step, batches: step.batches.map((b) => ({ ...b, tasks: JSON.parse(JSON.stringify(b.tasks)), objects: JSON.parse(JSON.stringify(b.objects)) })) };
        expect(d, `${path.join(".")} = ${String(v)}`).toEqual({ ok: true, message: expected });
      }),
      { numRuns: 10_000 },
    );
    expect(accepted).toBeGreaterThan(500);
  });

  it("carries a step message's retired pairs whole, and rejects what the schema rejects with the same field named", () => {
    const withRetired = (retired: number[]) => ({ ...FULL_STEP, retired }) as StepMessage;
    for (const retired of [[], [0, 0], [4000, 11, 4000, 5], [Number.MAX_SAFE_INTEGER, 2 ** 40, 1, 2]]) {
      const m = withRetired(retired);
      expect(stepSchema.safeParse(m).success).toBe(true);
      expect(decodeStep(encodeStep(m, PROTOCOL_VERSION), PROTOCOL_VERSION)).toEqual({ ok: true, message: m });
    }
    const bad: Array<[number[], string, string]> = [
      [[4000], "retired", "retired: expected pairs (an even length)"],
      [[4000, 11, 4000], "retired", "retired: expected pairs (an even length)"],
      [[4000, -1], "retired.1", "retired.1: expected an integer >= 0"],
      [[4000, 11, 0.5, 5], "retired.2", "retired.2: expected an integer >= 0"],
      [[2 ** 53, 11], "retired.0", "retired.0: expected an integer >= 0"],
      [[NaN, 11], "retired.0", "retired.0: expected an integer >= 0"],
    ];
    for (const [retired, field, reason] of bad) {
      const m = withRetired(retired);
      const parsed = stepSchema.safeParse(m);
      expect(parsed.success, JSON.stringify(retired)).toBe(false);
      expect(parsed.error?.issues[0].path.join(".")).toBe(field);
      // The encoder writes whatever it is given: the decoder is the check.
      expect(decodeStep(encodeStep(m, PROTOCOL_VERSION), PROTOCOL_VERSION)).toEqual({ ok: false, reason });
    }
  });

  it("never accepts a binary step frame the schema would not: 10,000 damaged frames", () => {
    const frames = [FULL_STEP, validMessages.find((m) => m.kind === "step")].map((m) => encodeMessage(m as StepMessage));
    const damage = fc.oneof(
      // One byte changed, anywhere.
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => (f: Uint8Array) => {
        const c = f.slice();
        c[at % c.length] = byte;
        return c;
      }),
      // Cut short, or bytes added at the end.
      fc.nat().map((n) => (f: Uint8Array) => f.slice(0, n % f.length)),
      fc.uint8Array({ minLength: 1, maxLength: 16 }).map((tail) => (f: Uint8Array) => new Uint8Array([...f, ...tail])),
      // A run of random bytes anywhere (a length, a float, the records' JSON).
      fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, bytes]) => (f: Uint8Array) => {
        const c = f.slice();
        c.set(bytes.subarray(0, Math.max(0, c.length - (at % c.length))), at % c.length);
        return c;
      }),
    );
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom(...frames), damage, (frame, f) => {
        const d = decodeMessage(f(frame), RUN);
        if (!d.ok) {
          rejected++;
          expect(d.reason.length).toBeGreaterThan(0);
        } else {
          expect(stepSchema.safeParse(d.message).success).toBe(true);
          expect(d.message.run).toBe(RUN);
        }
      }),
      { numRuns: 10_000 },
    );
    expect(rejected).toBeGreaterThan(1000);
  });

  it("decodes or rejects 10,000 generated messages with a reason, never throwing", () => {
    const encoder = new TextEncoder();
    const keys = ["v", "run", "kind", "from", "epoch", "incarnation", "window", "nextPs", "sent", "batches", "events", "partitions", "minSentTo"];
    const mutatedJson = fc
      .tuple(fc.constantFrom(...validMessages), fc.constantFrom(...keys), fc.anything({ maxDepth: 3, maxKeys: 4 }))
      .map(([m, key, value]) => encoder.encode(JSON.stringify({ ...m, [key]: value })));
    const randomBytes = fc.uint8Array({ maxLength: 512 });
    const randomJson = fc.jsonValue({ maxDepth: 4 }).map((v) => encoder.encode(JSON.stringify(v)));
    fc.assert(
      fc.property(fc.oneof(mutatedJson, mutatedJson, randomBytes, randomJson), (data) => {
        const d = decodeMessage(data, RUN);
        if (!d.ok) expect(d.reason.length).toBeGreaterThan(0);
        else expect(d.message.run).toBe(RUN);
      }),
      { numRuns: 10_000 },
    );
  });

  it("accepts every valid message, and rejects oversized ones, unknown protocol versions and other runs' messages", () => {
    for (const m of validMessages) expect(decodeMessage(encodeMessage(m as never), RUN).ok).toBe(true);
    const huge = new Uint8Array(MAX_MESSAGE_BYTES + 1);
    expect(decodeMessage(huge, RUN)).toEqual({ ok: false, reason: expect.stringContaining("oversized") });
    const next = new TextEncoder().encode(JSON.stringify({ ...validMessages[0], v: PROTOCOL_VERSION + 1 }));
    expect(decodeMessage(next, RUN)).toEqual({ ok: false, reason: expect.stringContaining("unknown protocol version") });
    expect(decodeMessage(encodeMessage(validMessages[0] as never), "another-run-id")).toEqual({ ok: false, reason: expect.stringContaining("unknown run") });
    const step = validMessages.find((m) => m.kind === "step") as Extract<(typeof validMessages)[number], { kind: "step" }>;
    const liar = { ...step, batches: [{ ...step.batches[0], count: 2 }] };
    expect(decodeMessage(encodeMessage(liar as never), RUN)).toEqual({ ok: false, reason: expect.stringContaining("batches.0.events: 8 numbers for a count of 2") });
    const twice = { ...step, sent: [0, 1], batches: [step.batches[0], step.batches[0]] };
    expect(decodeMessage(encodeMessage(twice as never), RUN)).toEqual({ ok: false, reason: "batches.1.to: a second batch for partition 1" });
    // Step messages are binary only: the same content as JSON is refused.
    expect(decodeMessage(new TextEncoder().encode(JSON.stringify(step)), RUN)).toEqual({ ok: false, reason: expect.stringContaining("binary") });
    const old = encodeMessage(step as never);
    old[4] = PROTOCOL_VERSION - 1;
    expect(decodeMessage(old, RUN)).toEqual({ ok: false, reason: expect.stringContaining("unknown protocol version") });
  });
});
