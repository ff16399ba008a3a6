import type { MessagePort } from "node:worker_threads";
import type { Subscription, Transport, TransportMessage } from "../transport/transport.ts";
import { RequestTimeoutError, NoRespondersError, TransportClosedError } from "../transport/errors.ts";
import type { FromHub, ToHub } from "./port-protocol.ts";

/**
 * The transport of a worker thread: every call goes to the main thread's hub over a
 * MessagePort, which performs it on the in-memory bus (see hub.ts).
 */
export class PortTransport implements Transport {
  readonly name = "thread-port";
  readonly closed: Promise<Error | undefined>;
  private resolveClosed!: (e: Error | undefined) => void;
  private isClosed = false;
  private nextId = 1;
  private readonly handlers = new Map<number, (m: TransportMessage) => void>();
  private readonly pending = new Map<number, { resolve: (d: Uint8Array) => void; reject: (e: Error) => void }>();
  private readonly flushes = new Map<number, () => void>();
  private readonly port: MessagePort;
  /** The bus connection's limit on the main thread's side (the hub would refuse more). */
  readonly maxPayloadBytes: number | undefined;

  constructor(port: MessagePort, maxPayloadBytes: number | undefined) {
    this.port = port;
    this.maxPayloadBytes = maxPayloadBytes;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    port.on("message", (m: FromHub) => this.receive(m));
  }

  onReconnect(): () => void {
    return () => {};
  }

  private post(m: ToHub): void {
    if (this.isClosed) throw new TransportClosedError("the thread transport is closed");
    this.port.postMessage(m);
  }

  private receive(m: FromHub): void {
    if (m.op === "message") {
      const handler = this.handlers.get(m.sub);
      if (handler === undefined) return;
      const replyId = m.replyId;
      handler({
        subject: m.subject,
        data: m.data,
        respond: replyId === undefined ? undefined : (data: Uint8Array) => this.post({ op: "respond", replyId, data }),
      });
    } else if (m.op === "reply") {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.data !== undefined) p.resolve(m.data);
      else if (m.error?.name === "RequestTimeoutError") p.reject(new RequestTimeoutError(m.error.subject ?? "", m.error.timeoutMs ?? 0));
      else if (m.error?.name === "NoRespondersError") p.reject(new NoRespondersError(m.error.subject ?? ""));
      else p.reject(new Error(m.error?.message ?? "request failed"));
    } else if (m.op === "flushed") {
      this.flushes.get(m.id)?.();
      this.flushes.delete(m.id);
    }
  }

  publish(subject: string, data: Uint8Array): void {
    this.post({ op: "publish", subject, data });
  }

  subscribe(subject: string, handler: (m: TransportMessage) => void): Subscription {
    const id = this.nextId++;
    this.handlers.set(id, handler);
    this.post({ op: "subscribe", id, subject });
    return {
      subject,
      unsubscribe: () => {
        if (!this.handlers.delete(id) || this.isClosed) return;
        this.post({ op: "unsubscribe", id });
      },
    };
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ op: "request", id, subject, data, timeoutMs });
    });
  }

  flush(): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.flushes.set(id, resolve);
      this.post({ op: "flush", id });
    });
  }

  async drain(): Promise<void> {
    await this.flush();
    await this.close();
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.post({ op: "close" });
    this.isClosed = true;
    this.handlers.clear();
    for (const p of this.pending.values()) p.reject(new TransportClosedError("the thread transport closed"));
    this.pending.clear();
    this.port.close();
    this.resolveClosed(undefined);
  }
}
