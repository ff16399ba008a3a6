import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectError,
  InvalidSubjectError,
  NoRespondersError,
  PayloadTooLargeError,
  RequestTimeoutError,
  TransportClosedError,
} from "../../worker/transport/errors.ts";
import { MemoryBus } from "../../worker/transport/memory.ts";
import { connectNats, type NatsTransportOptions } from "../../worker/transport/nats.ts";
import { parseNatsUrl, redactUrl } from "../../worker/transport/server-url.ts";
import type { Transport, TransportMessage } from "../../worker/transport/transport.ts";
import { freePort, startNatsServer, type LocalServer } from "../support/services.ts";

/**
 * Two connections `a` and `b` to one fresh bus (memory) or one server (NATS), and `connect`
 * for more connections to the same one.
 */
type MakePair = () => Promise<{ a: Transport; b: Transport; connect(): Promise<Transport> }>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (s: string) => encoder.encode(s);
const text = (d: Uint8Array) => decoder.decode(d);

let prefixes = 0;
/** Every test talks on its own subjects, so no test can see another's messages. */
function uniquePrefix(): string {
  return `contract.${process.pid}.${Date.now().toString(36)}.${++prefixes}`;
}

/** Collects what a subscription receives; resolves waits as messages arrive (no polling). */
class Inbox {
  readonly messages: TransportMessage[] = [];
  private waiters: Array<{ done: () => boolean; resolve: () => void }> = [];
  readonly handler = (m: TransportMessage): void => {
    this.messages.push(m);
    this.waiters = this.waiters.filter((w) => (w.done() ? (w.resolve(), false) : true));
  };
  until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ done, resolve }));
  }
  count(n: number): Promise<void> {
    return this.until(() => this.messages.length >= n);
  }
  texts(): string[] {
    return this.messages.map((m) => text(m.data));
  }
}

/** Message i of the ordering test: 0 to 4,096 bytes, content derived from i. */
function patterned(i: number): Uint8Array {
  const size = (i * 7919) % 4097;
  const data = new Uint8Array(size);
  for (let j = 0; j < size; j++) data[j] = (i * 31 + j) & 255;
  return data;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the promise to reject");
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to throw");
}

/**
 * The behaviour every Transport must show, whatever carries the messages. `makePair` returns
 * two fresh connections to one bus; the suite closes them after each test.
 */
function transportContract(name: string, makePair: MakePair): void {
  describe(`Transport contract: ${name}`, { timeout: 30_000 }, () => {
    const open: Transport[] = [];
    const pair = async () => {
      const { a, b, connect } = await makePair();
      open.push(a, b);
      const another = async () => {
        const t = await connect();
        open.push(t);
        return t;
      };
      return [a, b, another] as const;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close().catch(() => {})));
    });

    it("delivers 10,000 messages of 0 to 4,096 bytes intact and in publish order", async () => {
      const [a, b] = await pair();
      const subject = `${uniquePrefix()}.bulk`;
      const inbox = new Inbox();
      b.subscribe(subject, inbox.handler);
      await b.flush();
      const N = 10_000;
      for (let i = 0; i < N; i++) a.publish(subject, patterned(i));
      await inbox.count(N);
      expect(inbox.messages).toHaveLength(N);
      for (let i = 0; i < N; i++) {
        const got = inbox.messages[i];
        expect(got.subject).toBe(subject);
        // Compare as plain arrays so a mismatch names the message, not just "not equal".
        if (!Buffer.from(got.data).equals(Buffer.from(patterned(i)))) {
          expect({ message: i, bytes: Array.from(got.data.subarray(0, 16)) }).toEqual({ message: i, bytes: Array.from(patterned(i).subarray(0, 16)) });
        }
      }
    });

    it("keeps each publisher's order when two publishers share a subscription", async () => {
      const [a, b, connect] = await pair();
      const c = await connect();
      const subject = `${uniquePrefix()}.two`;
      const inbox = new Inbox();
      b.subscribe(subject, inbox.handler);
      await b.flush();
      const N = 2000;
      for (let i = 0; i < N; i++) {
        a.publish(subject, bytes(`a ${i}`));
        c.publish(subject, bytes(`c ${i}`));
      }
      await inbox.count(2 * N);
      const seqOf = (who: string) => inbox.texts().filter((t) => t.startsWith(who)).map((t) => Number(t.slice(2)));
      expect(seqOf("a")).toEqual(Array.from({ length: N }, (_, i) => i));
      expect(seqOf("c")).toEqual(Array.from({ length: N }, (_, i) => i));
    });

    it("matches wildcards as NATS does: '*' is one token, a final '>' is one or more", async () => {
      const [a, b] = await pair();
      const p = uniquePrefix();
      const patterns = [`${p}.*`, `${p}.>`, `${p}.a.*`, `${p}.*.b`, `${p}.a.b`];
      const inboxes = patterns.map((pattern) => {
        const inbox = new Inbox();
        b.subscribe(pattern, inbox.handler);
        return inbox;
      });
      await b.flush();
      for (const s of [p, `${p}.a`, `${p}.a.b`, `${p}.a.b.c`, `${p}.x.b`]) a.publish(s, bytes("test"));
      // One publisher's order is kept, so once a subscription sees an "end" it has all the tests.
      for (const s of [`${p}.end`, `${p}.a.end`, `${p}.end.b`, `${p}.a.b`]) a.publish(s, bytes("end"));
      await Promise.all(inboxes.map((inbox) => inbox.until(() => inbox.texts().includes("end"))));
      const tested = inboxes.map((inbox) => {
        const firstEnd = inbox.texts().indexOf("end");
        return inbox.messages.slice(0, firstEnd).map((m) => m.subject.slice(p.length) || "(prefix)");
      });
      expect(tested).toEqual([
        [".a"], //                                  p.*
        [".a", ".a.b", ".a.b.c", ".x.b"], //        p.>  (not p itself: '>' needs a token)
        [".a.b"], //                                p.a.*
        [".a.b", ".x.b"], //                        p.*.b
        [".a.b"], //                                p.a.b
      ]);
    });

    it("rejects malformed subjects with InvalidSubjectError, and wildcards in publish subjects", async () => {
      const [a] = await pair();
      const p = uniquePrefix();
      for (const bad of ["", `${p}..x`, `${p}.x.`, `.${p}`, `${p}.a b`, `${p}.*`, `${p}.>`]) {
        const e = thrown(() => a.publish(bad, bytes("x")));
        expect(e, bad).toBeInstanceOf(InvalidSubjectError);
        expect((e as InvalidSubjectError).subject).toBe(bad);
      }
      for (const bad of ["", `${p}.>.x`, `${p}..x`, `${p}.a\tb`]) {
        expect(thrown(() => a.subscribe(bad, () => {})), bad).toBeInstanceOf(InvalidSubjectError);
      }
      expect(await rejection(a.request(`${p}.*`, bytes("x"), 1000))).toBeInstanceOf(InvalidSubjectError);
    });

    it("stops delivery at once on unsubscribe, even of messages already on their way; other subscriptions keep theirs", async () => {
      const [a, b] = await pair();
      const subject = `${uniquePrefix()}.unsub`;
      const leaving = new Inbox();
      const staying = new Inbox();
      const sub = b.subscribe(subject, (m) => {
        leaving.handler(m);
        sub.unsubscribe();
        sub.unsubscribe();
      });
      b.subscribe(subject, staying.handler);
      expect(sub.subject).toBe(subject);
      await b.flush();
      for (const t of ["one", "two", "three"]) a.publish(subject, bytes(t));
      await staying.count(3);
      a.publish(subject, bytes("four"));
      await staying.count(4);
      expect(staying.texts()).toEqual(["one", "two", "three", "four"]);
      expect(leaving.texts()).toEqual(["one"]);
    });

    it("answers requests, each concurrent request with its own reply", async () => {
      const [a, b] = await pair();
      const subject = `${uniquePrefix()}.echo`;
      b.subscribe(subject, (m) => m.respond?.(bytes(`re: ${text(m.data)}`)));
      await b.flush();
      expect(text(await a.request(subject, bytes("hello"), 5000))).toBe("re: hello");
      const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => a.request(subject, bytes(`q${i}`), 5000)));
      expect(replies.map(text)).toEqual(Array.from({ length: 100 }, (_, i) => `re: q${i}`));
    });

    it("gives a plain publish no respond function", async () => {
      const [a, b] = await pair();
      const subject = `${uniquePrefix()}.plain`;
      const inbox = new Inbox();
      b.subscribe(subject, inbox.handler);
      await b.flush();
      a.publish(subject, bytes("x"));
      await inbox.count(1);
      expect(inbox.messages[0].respond).toBeUndefined();
    });

    it("rejects a request nobody answers with RequestTimeoutError after timeoutMs", async () => {
      const [a, b] = await pair();
      const subject = `${uniquePrefix()}.silent`;
      const inbox = new Inbox();
      b.subscribe(subject, inbox.handler);
      await b.flush();
      const started = performance.now();
      const e = await rejection(a.request(subject, bytes("anyone?"), 200));
      const elapsed = performance.now() - started;
      expect(e).toBeInstanceOf(RequestTimeoutError);
      expect(e).toMatchObject({ name: "RequestTimeoutError", subject, timeoutMs: 200 });
      expect(elapsed).toBeGreaterThanOrEqual(195);
      expect(inbox.messages).toHaveLength(1);
    });

    it("rejects a request to a subject without subscribers with NoRespondersError, without waiting for the timeout", async () => {
      const [a] = await pair();
      const subject = `${uniquePrefix()}.nobody`;
      const started = performance.now();
      const e = await rejection(a.request(subject, bytes("anyone?"), 10_000));
      expect(e).toBeInstanceOf(NoRespondersError);
      expect(e).toMatchObject({ name: "NoRespondersError", subject });
      expect(performance.now() - started).toBeLessThan(5000);
    });

    it("rejects a request whose timeout is not a positive number with RangeError", async () => {
      const [a] = await pair();
      const subject = `${uniquePrefix()}.t`;
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(await rejection(a.request(subject, bytes("x"), bad))).toBeInstanceOf(RangeError);
      }
    });

    it("flush: what was flushed before close() still reaches subscribers", async () => {
      const [a, b] = await pair();
      const subject = `${uniquePrefix()}.flushed`;
      const inbox = new Inbox();
      b.subscribe(subject, inbox.handler);
      await b.flush();
      for (let i = 0; i < 500; i++) a.publish(subject, bytes(String(i)));
      await a.flush();
      await a.close();
      await inbox.count(500);
      expect(inbox.texts()).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
    });

    it("drain delivers messages already on their way, then closes", async () => {
      const [a, b] = await pair();
      const p = uniquePrefix();
      const fromOthers = new Inbox();
      const fromSelf = new Inbox();
      b.subscribe(`${p}.others`, fromOthers.handler);
      b.subscribe(`${p}.self`, fromSelf.handler);
      await b.flush();
      for (let i = 0; i < 1000; i++) a.publish(`${p}.others`, bytes(String(i)));
      await a.flush();
      // Published by b just before drain: in flight through the server when drain starts.
      for (let i = 0; i < 1000; i++) b.publish(`${p}.self`, bytes(String(i)));
      await b.drain();
      expect(fromOthers.messages).toHaveLength(1000);
      expect(fromSelf.messages).toHaveLength(1000);
      expect(await b.closed).toBeUndefined();
      expect(thrown(() => b.publish(`${p}.self`, bytes("late")))).toBeInstanceOf(TransportClosedError);
    });

    it("drain lets handlers answer requests that had already arrived", async () => {
      const [a, b] = await pair();
      const subject = `${uniquePrefix()}.svc`;
      b.subscribe(subject, (m) => m.respond?.(bytes("still here")));
      await b.flush();
      const reply = a.request(subject, bytes("q"), 10_000);
      await a.flush();
      await b.drain();
      expect(text(await reply)).toBe("still here");
    });

    it("refuses subscribe and request with TransportClosedError once drain has begun", async () => {
      const [a, b] = await pair();
      const p = uniquePrefix();
      a.subscribe(`${p}.svc`, (m) => m.respond?.(bytes("ok")));
      await a.flush();
      const draining = b.drain();
      expect(b.drain()).toBe(draining);
      expect(thrown(() => b.subscribe(`${p}.x`, () => {}))).toBeInstanceOf(TransportClosedError);
      expect(await rejection(b.request(`${p}.svc`, bytes("q"), 1000))).toBeInstanceOf(TransportClosedError);
      await draining;
      expect(await rejection(b.flush())).toBeInstanceOf(TransportClosedError);
    });

    it("after close, publish, subscribe, request and flush fail with TransportClosedError, and close is idempotent", async () => {
      const [a] = await pair();
      const p = uniquePrefix();
      await a.close();
      await a.close();
      expect(await a.closed).toBeUndefined();
      const e = thrown(() => a.publish(`${p}.x`, bytes("x")));
      expect(e).toBeInstanceOf(TransportClosedError);
      expect((e as Error).name).toBe("TransportClosedError");
      expect(thrown(() => a.subscribe(`${p}.x`, () => {}))).toBeInstanceOf(TransportClosedError);
      expect(await rejection(a.request(`${p}.x`, bytes("x"), 1000))).toBeInstanceOf(TransportClosedError);
      expect(await rejection(a.flush())).toBeInstanceOf(TransportClosedError);
      expect(await rejection(a.drain())).toBeInstanceOf(TransportClosedError);
    });

    it("close rejects a pending request with TransportClosedError and stops delivery", async () => {
      const [a, b] = await pair();
      const p = uniquePrefix();
      const inbox = new Inbox();
      b.subscribe(`${p}.silent`, inbox.handler);
      a.subscribe(`${p}.late`, inbox.handler);
      await Promise.all([a.flush(), b.flush()]);
      const pending = a.request(`${p}.silent`, bytes("q"), 20_000);
      await inbox.count(1);
      await a.close();
      expect(await rejection(pending)).toBeInstanceOf(TransportClosedError);
      const marker = new Inbox();
      b.subscribe(`${p}.marker`, marker.handler);
      await b.flush();
      b.publish(`${p}.late`, bytes("after close"));
      b.publish(`${p}.marker`, bytes("m"));
      await marker.count(1);
      expect(inbox.texts()).toEqual(["q"]);
    });

    it("takes payloads up to maxPayloadBytes and refuses larger ones with PayloadTooLargeError", async () => {
      const [a, b] = await pair();
      const subject = `${uniquePrefix()}.big`;
      const max = a.maxPayloadBytes;
      expect(max).toBeGreaterThan(0);
      const inbox = new Inbox();
      b.subscribe(subject, inbox.handler);
      await b.flush();
      const biggest = new Uint8Array(max as number).map((_, i) => (i * 13) & 255);
      a.publish(subject, biggest);
      await inbox.count(1);
      expect(Buffer.from(inbox.messages[0].data).equals(Buffer.from(biggest))).toBe(true);
      const e = thrown(() => a.publish(subject, new Uint8Array((max as number) + 1)));
      expect(e).toBeInstanceOf(PayloadTooLargeError);
      expect(e).toMatchObject({ subject, bytes: (max as number) + 1, maxBytes: max });
    });

    it("resolves closed exactly once, with undefined, after drain", async () => {
      const [a] = await pair();
      let resolutions = 0;
      const closed = a.closed.then((e) => {
        resolutions++;
        return e;
      });
      await a.drain();
      expect(await closed).toBeUndefined();
      await a.close();
      expect(resolutions).toBe(1);
    });
  });
}

// --- the implementations ---------------------------------------------------------------------

transportContract("memory", async () => {
  const bus = new MemoryBus();
  const connect = async () => bus.connect();
  return { a: await connect(), b: await connect(), connect };
});

describe("nats", () => {
  // A private server on a random port: this file does not depend on (or disturb) the shared one.
  let server: LocalServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  transportContract("nats", async () => {
    const connect = () => connectNats(server.url);
    return { a: await connect(), b: await connect(), connect };
  });
});

// --- what only the NATS implementation has: URLs, credentials, reconnects ----------------------

describe("NATS transport specifics", { timeout: 60_000 }, () => {
  const servers: LocalServer[] = [];
  const transports: Transport[] = [];
  const start = async (args?: string[]) => {
    const s = await startNatsServer({ args });
    servers.push(s);
    return s;
  };
  const open = async (url: string, options?: NatsTransportOptions) => {
    const t = await connectNats(url, options);
    transports.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close().catch(() => {})));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  /** A request/reply round trip between two transports on the same server. */
  const roundTrip = async (a: Transport, b: Transport) => {
    const subject = `${uniquePrefix()}.ping`;
    const sub = b.subscribe(subject, (m) => m.respond?.(m.data));
    await b.flush();
    const reply = text(await a.request(subject, bytes("ping"), 5000));
    sub.unsubscribe();
    return reply;
  };

  it("parses servers and credentials out of URLs and redacts them", () => {
    expect(parseNatsUrl("nats://u:p%40ss@h1:4333")).toMatchObject({ servers: ["h1:4333"], user: "u", pass: "p@ss", tls: false });
    expect(parseNatsUrl("nats://h1?token=s3cret")).toMatchObject({ servers: ["h1:4222"], token: "s3cret" });
    expect(parseNatsUrl("nats://s3cret@h1:1")).toMatchObject({ token: "s3cret" });
    expect(parseNatsUrl("tls://h1:1,h2:2")).toMatchObject({ servers: ["h1:1", "h2:2"], tls: true });
    expect(parseNatsUrl("127.0.0.1:4222").servers).toEqual(["127.0.0.1:4222"]);
    expect(parseNatsUrl("nats://u:p@h1:1?token=t").redacted).toBe("nats://***@h1:1?token=***");
    expect(redactUrl("redis://:pw@host:6379/0")).toBe("redis://***@host:6379/0");
    expect(() => parseNatsUrl("ws://u:s3cret@h:1")).toThrow(/unsupported scheme/);
    expect(() => parseNatsUrl("ws://u:s3cret@h:1")).not.toThrow(/s3cret/);
    expect(() => parseNatsUrl("nats://a:b@h1,nats://c:d@h2")).toThrow(/different credentials/);
  });

  it("fails with ConnectError, credentials redacted, when nothing listens", async () => {
    const port = await freePort();
    const e = await rejection(connectNats(`nats://someone:s3cret@127.0.0.1:${port}`));
    expect(e).toBeInstanceOf(ConnectError);
    expect(e).toMatchObject({ name: "ConnectError", url: `nats://***@127.0.0.1:${port}` });
    expect((e as Error).message).not.toContain("s3cret");
    expect((e as Error).cause).toBeInstanceOf(Error);
  });

  it("logs in with user and password from the URL; a wrong password is a ConnectError", async () => {
    const server = await start(["--user", "refsim", "--pass", "p@ss word"]);
    const url = `nats://refsim:${encodeURIComponent("p@ss word")}@127.0.0.1:${server.port}`;
    expect(await roundTrip(await open(url), await open(url))).toBe("ping");
    const e = await rejection(connectNats(`nats://refsim:wrong@127.0.0.1:${server.port}`));
    expect(e).toBeInstanceOf(ConnectError);
    expect((e as Error).message).not.toContain("wrong");
    expect(((e as Error).cause as Error).name).toBe("AuthorizationError");
    expect(await rejection(connectNats(`nats://127.0.0.1:${server.port}`))).toBeInstanceOf(ConnectError);
  });

  it("logs in with a token from ?token= or from the user part alone", async () => {
    const server = await start(["--auth", "t0ken"]);
    const a = await open(`nats://127.0.0.1:${server.port}?token=t0ken`);
    const b = await open(`nats://t0ken@127.0.0.1:${server.port}`);
    expect(await roundTrip(a, b)).toBe("ping");
    expect(await rejection(connectNats(`nats://127.0.0.1:${server.port}?token=nope`))).toBeInstanceOf(ConnectError);
  });

  it("reconnects after the server restarts, and subscriptions resume", async () => {
    const server = await start();
    const reconnected = (name: string) => {
      let resolve!: () => void;
      const seen = new Promise<void>((r) => (resolve = r));
      const options: NatsTransportOptions = { name, reconnectTimeWaitMs: 50, log: (line) => line.includes("reconnected") && resolve() };
      return { options, seen };
    };
    const ra = reconnected("a");
    const rb = reconnected("b");
    const a = await open(server.url, ra.options);
    const b = await open(server.url, rb.options);
    const subject = `${uniquePrefix()}.survivor`;
    const inbox = new Inbox();
    b.subscribe(subject, inbox.handler);
    await b.flush();
    a.publish(subject, bytes("before"));
    await inbox.count(1);
    await server.restart();
    await Promise.all([ra.seen, rb.seen]);
    await b.flush();
    a.publish(subject, bytes("after"));
    await inbox.count(2);
    expect(inbox.texts()).toEqual(["before", "after"]);
  });

  it("gives up after maxDisconnectedMs: closed resolves with a ConnectError", async () => {
    const server = await start();
    const a = await open(server.url, { reconnectTimeWaitMs: 50, maxDisconnectedMs: 300 });
    await server.kill();
    const started = performance.now();
    const e = await a.closed;
    expect(e).toBeInstanceOf(ConnectError);
    expect((e as Error).message).toMatch(/no NATS connection for 300 ms/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(thrown(() => a.publish("x.y", bytes("x")))).toBeInstanceOf(TransportClosedError);
  });

  it("waits up to firstConnectWaitMs for a server that is not up yet", async () => {
    const server = await start();
    await server.kill();
    const connecting = open(server.url, { firstConnectWaitMs: 20_000, reconnectTimeWaitMs: 50 });
    await server.restart();
    const a = await connecting;
    const b = await open(server.url);
    expect(await roundTrip(a, b)).toBe("ping");
  });
});
