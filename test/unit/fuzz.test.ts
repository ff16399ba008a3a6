import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SpecError } from "../../shared/engine/errors.ts";
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from "../../shared/messages.ts";
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
    sinceCheckpointMs: 1200,
    checkpointCostMs: 35,
  },
  { v: PROTOCOL_VERSION, run: RUN, kind: "progress", from: 0, window: 9, simulatedPs: 123 },
  { v: PROTOCOL_VERSION, run: RUN, kind: "abort", reason: "stop" },
  { v: PROTOCOL_VERSION, run: RUN, kind: "failure", from: 1, incarnation: 1, message: "boom" },
] as const;

describe("hostile input: the message decoder", () => {
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
    expect(decodeMessage(new TextEncoder().encode(JSON.stringify(liar)), RUN).ok).toBe(false);
  });
});
