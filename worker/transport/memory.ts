import { checkPayload, checkTimeoutMs, deliver } from "./contract.ts";
import { NoRespondersError, RequestTimeoutError, TransportClosedError } from "./errors.ts";
import { checkSubject, hasWildcard, subjectMatches } from "./subjects.ts";
import type { Subscription, Transport, TransportMessage } from "./transport.ts";

export interface MemoryBusOptions {
  /** Largest payload in bytes; default 1 MiB, nats-server's default `max_payload`. */
  maxPayloadBytes?: number;
}

/** nats-server's default `max_payload`, so code that works here does not break over NATS. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * An in-process message bus: each `connect()` is a `Transport` that behaves like a NATS
 * connection to one shared server (same subjects, wildcards, ordering and errors).
 */
export class MemoryBus {
  readonly #router: Router;
  #connections = 0;

  constructor(options: MemoryBusOptions = {}) {
    this.#router = new Router(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
  }

  connect(): Transport {
    return new MemoryTransport(this.#router, ++this.#connections);
  }
}

class MemorySubscription {
  /** Cleared by unsubscribe/close: queued deliveries to it are dropped. */
  active = true;
  readonly tokens: string[];
  readonly wildcard: boolean;
  constructor(
    readonly subject: string,
    readonly handler: (m: TransportMessage) => void,
    readonly owner: MemoryTransport,
  ) {
    this.tokens = subject.split(".");
    this.wildcard = hasWildcard(subject);
  }
}

type Job = { sub: MemorySubscription; subject: string; data: Uint8Array; replyTo: string | undefined } | (() => void);

/** Deliveries per turn before yielding to timers and I/O, so a chatty pair cannot starve them. */
const JOBS_PER_TURN = 4096;

/**
 * The "server": routes each publish to the matching subscriptions at publish time and delivers
 * from one FIFO queue, which keeps every publisher's order (and flush/drain markers in place).
 */
class Router {
  private readonly literal = new Map<string, Set<MemorySubscription>>();
  private readonly wildcards = new Set<MemorySubscription>();
  private queue: Array<Job | undefined> = [];
  private head = 0;
  private scheduled = false;

  constructor(readonly maxPayloadBytes: number) {}

  route(sub: MemorySubscription): void {
    if (sub.wildcard) {
      this.wildcards.add(sub);
      return;
    }
    let set = this.literal.get(sub.subject);
    if (set === undefined) this.literal.set(sub.subject, (set = new Set()));
    set.add(sub);
  }

  unroute(sub: MemorySubscription): void {
    if (sub.wildcard) {
      this.wildcards.delete(sub);
      return;
    }
    const set = this.literal.get(sub.subject);
    set?.delete(sub);
    if (set?.size === 0) this.literal.delete(sub.subject);
  }

  /** Queues a copy of `data` for each matching subscription; returns how many matched. */
  publish(subject: string, data: Uint8Array, replyTo: string | undefined): number {
    let matched = 0;
    const literal = this.literal.get(subject);
    if (literal !== undefined) {
      for (const sub of literal) {
        this.push({ sub, subject, data: data.slice(), replyTo });
        matched++;
      }
    }
    if (this.wildcards.size > 0) {
      const tokens = subject.split(".");
      for (const sub of this.wildcards) {
        if (!subjectMatches(sub.tokens, tokens)) continue;
        this.push({ sub, subject, data: data.slice(), replyTo });
        matched++;
      }
    }
    return matched;
  }

  /** Runs `fn` once everything queued before it has been delivered. */
  marker(fn: () => void): void {
    this.push(fn);
  }

  private push(job: Job): void {
    this.queue.push(job);
    this.schedule(false);
  }

  private schedule(yieldFirst: boolean): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (yieldFirst) setImmediate(this.run);
    else queueMicrotask(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    for (let budget = JOBS_PER_TURN; this.head < this.queue.length; budget--) {
      if (budget === 0) {
        this.schedule(true);
        break;
      }
      const job = this.queue[this.head] as Job;
      this.queue[this.head++] = undefined;
      if (typeof job === "function") {
        job();
        continue;
      }
      const { sub, subject, data, replyTo } = job;
      if (!sub.active) continue;
      const owner = sub.owner;
      deliver(sub.handler, {
        subject,
        data,
        respond: replyTo === undefined ? undefined : (reply: Uint8Array) => owner.publish(replyTo, reply),
      });
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 65_536) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  };
}

interface PendingRequest {
  resolve(data: Uint8Array): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

class MemoryTransport implements Transport {
  readonly name = "memory";
  readonly closed: Promise<Error | undefined>;
  private state: "open" | "draining" | "closed" = "open";
  private readonly subs = new Set<MemorySubscription>();
  private readonly pending = new Map<number, PendingRequest>();
  private inbox: MemorySubscription | undefined;
  private nextToken = 1;
  private drained: Promise<void> | undefined;
  private resolveClosed!: (e: Error | undefined) => void;

  constructor(
    private readonly router: Router,
    private readonly id: number,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get maxPayloadBytes(): number {
    return this.router.maxPayloadBytes;
  }

  onReconnect(): () => void {
    return () => {};
  }

  publish(subject: string, data: Uint8Array): void {
    if (this.state === "closed") throw new TransportClosedError("the memory transport is closed");
    checkSubject(subject, false);
    checkPayload(subject, data, this.router.maxPayloadBytes);
    this.router.publish(subject, data, undefined);
  }

  subscribe(subject: string, handler: (m: TransportMessage) => void): Subscription {
    this.checkAccepting();
    checkSubject(subject, true);
    const sub = this.add(subject, handler);
    return {
      subject,
      unsubscribe: () => this.remove(sub),
    };
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    try {
      this.checkAccepting();
      checkSubject(subject, false);
      checkPayload(subject, data, this.router.maxPayloadBytes);
      checkTimeoutMs(timeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
    this.inbox ??= this.add(`_INBOX.memory${this.id}.*`, (m) => {
      const token = Number(m.subject.slice(m.subject.lastIndexOf(".") + 1));
      const p = this.pending.get(token);
      if (p === undefined) return;
      this.pending.delete(token);
      clearTimeout(p.timer);
      p.resolve(m.data);
    });
    const token = this.nextToken++;
    const replyTo = `_INBOX.memory${this.id}.${token}`;
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.router.publish(subject, data, replyTo) === 0) {
        reject(new NoRespondersError(subject));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new RequestTimeoutError(subject, timeoutMs));
      }, timeoutMs);
      this.pending.set(token, { resolve, reject, timer });
    });
  }

  flush(): Promise<void> {
    if (this.state === "closed") return Promise.reject(new TransportClosedError("the memory transport is closed"));
    return new Promise((resolve) => this.router.marker(resolve));
  }

  drain(): Promise<void> {
    if (this.drained !== undefined) return this.drained;
    if (this.state === "closed") return Promise.reject(new TransportClosedError("the memory transport is closed"));
    this.state = "draining";
    // Unrouted but still active: what was already routed to them is delivered before the marker.
    for (const sub of this.subs) this.router.unroute(sub);
    this.drained = new Promise((resolve) => this.router.marker(() => resolve(this.finish())));
    return this.drained;
  }

  close(): Promise<void> {
    this.finish();
    return Promise.resolve();
  }

  private finish(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    for (const sub of [...this.subs]) this.remove(sub);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new TransportClosedError("the memory transport closed before the reply arrived"));
    }
    this.pending.clear();
    this.resolveClosed(undefined);
  }

  private checkAccepting(): void {
    if (this.state !== "open") throw new TransportClosedError(`the memory transport is ${this.state}`);
  }

  private add(subject: string, handler: (m: TransportMessage) => void): MemorySubscription {
    const sub = new MemorySubscription(subject, handler, this);
    this.subs.add(sub);
    this.router.route(sub);
    return sub;
  }

  private remove(sub: MemorySubscription): void {
    sub.active = false;
    this.router.unroute(sub);
    this.subs.delete(sub);
  }
}
