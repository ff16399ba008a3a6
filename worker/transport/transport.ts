/**
 * The seam between refsim's workers and coordinator and whatever carries their messages:
 * NATS between processes (`nats.ts`), an in-process bus for threads and tests (`memory.ts`).
 * Only the entry points in `coordinator/` and `worker/` choose an implementation; everything
 * else holds a `Transport`. One contract suite (`test/integration/transport-contract.test.ts`)
 * runs against every implementation.
 *
 * Subjects are NATS subjects: tokens separated by `.`, none empty, no whitespace. In a
 * subscription, a token `*` matches exactly one token and a final token `>` matches one or more
 * tokens (`run.abc.>` matches `run.abc.p0` and `run.abc.p0.x`, not `run.abc`). Publishing to a
 * subject that contains a wildcard token throws `InvalidSubjectError`.
 *
 * Delivery is at most once, as in core NATS: a message published while a subscriber is
 * disconnected, or before its subscription took effect, is lost without an error. The
 * coordinator's barrier counts detect a lost batch; nothing here retries.
 *
 * Errors are the classes in `errors.ts`; each implementation throws the same class for the same
 * condition.
 */

/** One message as a handler receives it. */
export interface TransportMessage {
  /** The subject it was published to (never a wildcard, even if the subscription had one). */
  subject: string;
  /**
   * The payload bytes. The receiver owns them and may keep them; they may be a view into a
   * larger buffer (check `byteOffset`), so copy them if you keep a small slice for long.
   */
  data: Uint8Array;
  /**
   * Present when the sender awaits a reply (`request`). Publishes `data` to the requester;
   * call it at most once. Throws `TransportClosedError` once this transport is closed (it still
   * works while draining, so handlers can answer requests that were already in flight).
   */
  respond?(data: Uint8Array): void;
}

/** What `subscribe` returns. */
export interface Subscription {
  /**
   * Stops delivery to this handler at once: no call to it begins after `unsubscribe` returns,
   * even for messages already on their way. Idempotent, and never throws (not even after the
   * transport closed).
   */
  unsubscribe(): void;
  /** The subject as given to `subscribe`, wildcards included. */
  readonly subject: string;
}

/**
 * A connection to a message bus. Create one per process (or thread) and share it; it is not
 * tied to a run. Its lifetime: open -> (drain) -> closed; `closed` says when and why it ended.
 */
export interface Transport {
  /** Which implementation this is: "memory", "nats", or another's own name. For logs only. */
  readonly name: string;

  /**
   * The largest payload `publish`, `request` and `respond` accept, in bytes; a larger one throws
   * `PayloadTooLargeError`. NATS takes it from the server (`max_payload`, 1 MiB unless the
   * server is configured otherwise); `undefined` means no limit is known.
   */
  readonly maxPayloadBytes?: number;

  /**
   * Sends `data` to every subscription that matches `subject`, asynchronously: no handler runs
   * inside this call. Returns once the message is queued; `flush` says when it has left.
   *
   * Ownership of `data` passes to the transport: do not modify the array afterwards (the NATS
   * client writes it to the socket later, so a change would be sent).
   *
   * Order: messages from one transport arrive at each subscription in the order they were
   * published; nothing is promised between two publishers. A subscription made on this
   * transport is in effect for every message published after a later message of this
   * transport has been received by anyone (subscribe-then-publish is causally safe).
   *
   * Throws `InvalidSubjectError`, `PayloadTooLargeError`, or `TransportClosedError` once closed
   * (publishing still works while draining).
   */
  publish(subject: string, data: Uint8Array): void;

  /**
   * Calls `handler` for each message published to a subject matching `subject` (wildcards
   * allowed) from now until `unsubscribe`, `drain` or `close`. Handlers run one at a time, in
   * order of arrival; a handler should not block. A handler that throws does not stop delivery
   * or the connection: its error is rethrown on a later tick, as an uncaught exception.
   *
   * Over NATS the subscription reaches the server asynchronously: messages published by others
   * before `flush()` of this transport resolves may be missed.
   *
   * Throws `InvalidSubjectError`, or `TransportClosedError` once draining or closed.
   */
  subscribe(subject: string, handler: (m: TransportMessage) => void): Subscription;

  /**
   * Publishes `data` to `subject` with a reply address and resolves with the first reply.
   * `timeoutMs` is milliseconds, finite and > 0 (else the promise rejects with `RangeError`).
   *
   * Rejects with `RequestTimeoutError` when no reply comes within `timeoutMs`,
   * `NoRespondersError` at once when no subscription matches `subject` (both implementations
   * report this; a NATS server older than 2.2 would give a timeout instead),
   * `TransportClosedError` when called while draining or closed, or when the transport closes
   * before the reply arrives, and `InvalidSubjectError` / `PayloadTooLargeError` as `publish`.
   */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;

  /**
   * Resolves when everything this transport published before the call has reached the
   * server (NATS: a PING/PONG round trip) — over the in-memory bus, once it has been delivered
   * to the handlers. Also makes this transport's earlier subscriptions take effect. Rejects
   * with `TransportClosedError` when closed.
   */
  flush(): Promise<void>;

  /**
   * Graceful close: stops every subscription from taking new messages, delivers the messages
   * already on their way to them (handlers may still `publish` and `respond`), sends what was
   * published, then closes. `subscribe` and `request` throw `TransportClosedError` from the
   * moment drain is called. Resolves when closed; a second call returns the same promise;
   * rejects with `TransportClosedError` if the transport was already closed.
   */
  drain(): Promise<void>;

  /**
   * Closes at once: handlers are not called again, messages not yet sent may be lost, and
   * pending requests reject with `TransportClosedError`. Idempotent; resolves when closed.
   */
  close(): Promise<void>;

  /**
   * Resolves exactly once, when the transport has closed: with `undefined` after `close` or
   * `drain`, with the error (`ConnectError` for NATS) if the connection died on its own, e.g.
   * the server stayed unreachable for longer than the reconnect policy allows. Never rejects.
   */
  readonly closed: Promise<Error | undefined>;

  /**
   * Calls `listener` each time the transport regains its connection after losing it: messages
   * published or due meanwhile may have been lost (NATS delivers at most once). Returns a
   * function that removes the listener. An in-process transport never loses its connection.
   */
  onReconnect(listener: () => void): () => void;
}
