import { createHmac } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { newRunSecret } from "../../coordinator/run-id.ts";
import { PartReassembler, PROTOCOL_VERSION } from "../../shared/protocol/messages.ts";
import { printable } from "../../shared/protocol/printable.ts";
import { MAC_BYTES, RunSeal, SecretError } from "../../shared/protocol/seal.ts";
import { RejectionLog } from "../../worker/partition/rejections.ts";
import { redisErrorLog } from "../../worker/queue.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("a run's seal (HMAC-SHA256 of subject, a zero byte and the payload)", () => {
  const secret = newRunSecret();
  const seal = new RunSeal(secret);

  it("is RFC 2104's HMAC-SHA256, as node:crypto computes it", () => {
    for (const payload of ["", "x", "a".repeat(63), "b".repeat(64), "c".repeat(10_000)]) {
      const expected = createHmac("sha256", Buffer.from(secret, "hex")).update("refsim.r.ctl\0").update(payload).digest();
      expect(Buffer.from(seal.mac("refsim.r.ctl", bytes(payload)))).toEqual(expected);
    }
  });

  it("opens what it sealed on the same subject, and nothing else", () => {
    const sealed = seal.seal("refsim.r.report", bytes("{\"kind\":\"report\"}"));
    expect(sealed.byteLength).toBe(17 + MAC_BYTES);
    expect(new TextDecoder().decode(seal.open("refsim.r.report", sealed) ?? undefined)).toBe("{\"kind\":\"report\"}");
    expect(seal.open("refsim.r.ctl", sealed)).toBeNull();
    expect(new RunSeal(newRunSecret()).open("refsim.r.report", sealed)).toBeNull();
    for (let i = 0; i < sealed.byteLength; i++) {
      const flipped = new Uint8Array(sealed);
      flipped[i] ^= 1;
      expect(seal.open("refsim.r.report", flipped), `byte ${i} flipped`).toBeNull();
    }
    expect(seal.open("refsim.r.report", sealed.subarray(0, MAC_BYTES - 1))).toBeNull();
    expect(seal.open("refsim.r.report", sealed.subarray(0, sealed.byteLength - 1))).toBeNull();
  });

  it("refuses a secret that is not 32 bytes of hex", () => {
    for (const bad of ["", "00", secret.toUpperCase(), `${secret}00`, "zz".repeat(32)]) expect(() => new RunSeal(bad)).toThrow(SecretError);
  });
});

describe("text from messages, as it is printed", () => {
  it("has no control characters: ANSI escapes and forged log lines come out inert", () => {
    expect(printable("\u001b[2J\u001b[31mred\u0007 done\r\nnext line\u009b")).toBe("?[2J?[31mred? done?\\nnext line?");
    expect(printable("tab\tand ünïcode stay")).toBe("tab\tand ünïcode stay");
  });

  it("rejections are counted one by one but logged at most once a second, with how many came between", () => {
    vi.useFakeTimers({ toFake: ["Date"], now: 1_000_000 });
    try {
      const lines: string[] = [];
      let counted = 0;
      const log = new RejectionLog((l) => lines.push(l), "partition 0", () => counted++);
      for (let i = 0; i < 1000; i++) log.reject("refsim.r.ctl", `bad \u001b[31m${i}`);
      expect(counted).toBe(1000);
      expect(lines).toEqual(["partition 0: rejected a message on refsim.r.ctl: bad ?[31m0"]);
      vi.setSystemTime(1_000_999);
      log.reject("refsim.r.ctl", "still within the second");
      vi.setSystemTime(1_001_000);
      log.reject("refsim.r.ctl", "last");
      expect(lines).toEqual(["partition 0: rejected a message on refsim.r.ctl: bad ?[31m0", "partition 0: rejected a message on refsim.r.ctl: last (and 1000 more rejected since the last such line)"]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("the part reassembler's bounds", () => {
  const part = (id: string, index: number, total: number, text: string) => ({ v: PROTOCOL_VERSION as typeof PROTOCOL_VERSION, run: "run-id-12345", kind: "part" as const, id, index, total, text, binary: false });

  it("drops a message whose parts would exceed the per-message limit, and holds nothing of it", () => {
    const r = new PartReassembler({ messageChars: 100, senderChars: 1000 });
    expect(r.add(part("p0.1-0", 0, 3, "x".repeat(60)))).toBeNull();
    expect(r.add(part("p0.1-0", 1, 3, "x".repeat(60)))).toEqual({ ok: false, reason: "message p0.1-0 would hold more than 100 characters; dropped" });
    // Dropped: its third part starts a new, incomplete message.
    expect(r.add(part("p0.1-0", 2, 3, "x"))).toBeNull();
  });

  it("limits what one sender has pending, without touching another sender's messages", () => {
    const r = new PartReassembler({ messageChars: 100, senderChars: 150 });
    expect(r.add(part("p0.1-0", 0, 2, "x".repeat(80)))).toBeNull();
    expect(r.add(part("p0.1-1", 0, 2, "x".repeat(80)))).toEqual({ ok: false, reason: "message p0.1-1 would hold more than 150 characters pending from sender p0.1; dropped" });
    expect(r.add(part("p1.1-0", 0, 2, "x".repeat(80)))).toBeNull();
    // The first sender's first message completes; what it held is released.
    const whole = JSON.stringify({ v: PROTOCOL_VERSION, run: "run-id-12345", kind: "go", epoch: 1 });
    const a = new PartReassembler({ messageChars: 100, senderChars: 150 });
    expect(a.add(part("p0.1-0", 0, 2, whole.slice(0, 10)))).toBeNull();
    expect(a.add(part("p0.1-0", 1, 2, whole.slice(10)))).toEqual({ ok: true, message: JSON.parse(whole) });
    expect(a.add(part("p0.1-1", 0, 2, "x".repeat(100)))).toBeNull();
  });
});

describe("a worker's Redis errors", () => {
  it("are logged once with the URL's credentials masked, then at most once a minute with a count", () => {
    vi.useFakeTimers({ toFake: ["Date"], now: 5_000_000 });
    try {
      const lines: string[] = [];
      const error = redisErrorLog((l) => lines.push(l), "worker 7", "redis://user:hunter2@127.0.0.1:1/0");
      // Three connections, every 0.7 s, for 100 s.
      for (let t = 0; t < 100_000; t += 700) {
        vi.setSystemTime(5_000_000 + t);
        for (let c = 0; c < 3; c++) error(new Error("connect ECONNREFUSED 127.0.0.1:1"));
      }
      expect(lines).toEqual([
        "worker 7: Redis redis://***:***@127.0.0.1:1/0: connect ECONNREFUSED 127.0.0.1:1",
        "worker 7: Redis redis://***:***@127.0.0.1:1/0: connect ECONNREFUSED 127.0.0.1:1 (257 more times in the last minute; still retrying)",
      ]);
      error(new Error("WRONGPASS invalid username-password pair"));
      expect(lines[2]).toBe("worker 7: Redis redis://***:***@127.0.0.1:1/0: WRONGPASS invalid username-password pair");
    } finally {
      vi.useRealTimers();
    }
  });
});
