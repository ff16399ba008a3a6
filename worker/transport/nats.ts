import { tlsFilesFromEnv } from "./tls-env.ts";
import {
  AuthorizationError,
  ClosedConnectionError,
  connect,
  DrainingConnectionError,
  RequestError,
  TimeoutError,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription as NatsSubscription,
} from "@nats-io/transport-node";
import { checkPayload, checkTimeoutMs, deliver } from "./contract.ts";
import { ConnectError, NoRespondersError, RequestTimeoutError, TransportClosedError } from "./errors.ts";
import { parseNatsUrl } from "./server-url.ts";
import { checkSubject } from "./subjects.ts";
import type { Subscription, Transport, TransportMessage } from "./transport.ts";

export interface NatsTransportOptions {
  /** Passed to the client as is (CA, certificate, key, ...). A `tls://` URL alone asks for TLS with defaults. */
  tls?: NodeConnectionOptions["tls"];
  /** Client name, shown by the server's monitoring endpoints. */
  name?: string;
  /** Handshake timeout of one connection attempt, milliseconds. Default 5000. */
  connectTimeoutMs?: number;
  /**
   * How long to keep retrying the first connection while the server refuses it (it may still
   * be starting), milliseconds. Default 0: fail at once with `ConnectError`. Bad credentials
   * fail at once regardless.
   */
  firstConnectWaitMs?: number;
  /** Reconnect attempts per server after a lost connection; -1 (the default) for no limit. */
  maxReconnectAttempts?: number;
  /** Wait between reconnect attempts to one server, milliseconds. Default 500. */
  reconnectTimeWaitMs?: number;
  /**
   * The bound on reconnecting: after this many milliseconds without a connection the transport
   * closes and `closed` resolves with a `ConnectError`. Default 60,000; `Infinity` waits forever.
   */
  maxDisconnectedMs?: number;
  /** Connection events (disconnect, reconnect, give up), one line each, without credentials. */
  log?: (line: string) => void;
  /**
   * The server does not send this connection's own messages back to it (NATS `no_echo`): for a
   * connection that never needs to hear itself, such as one partition's.
   */
  noEcho?: boolean;
}

/**
 * Connects to NATS at `url` (`nats://user:pass@host:4222`, `nats://host:4222?token=T`,
 * `tls://host:4222`, or several separated by commas). Credentials go to the client as options
 * and appear nowhere else. Rejects with `ConnectError` when no server can be reached or the
 * server refuses the credentials, and with `TypeError` for a malformed URL.
 */
export async function connectNats(url: string, options: NatsTransportOptions = {}): Promise<Transport> {
  const address = parseNatsUrl(url);
  const clientOptions: NodeConnectionOptions = {
    servers: address.servers,
    user: address.user,
    pass: address.pass,
    token: address.token,
    name: options.name,
    timeout: options.connectTimeoutMs ?? 5000,
    maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 500,
    noEcho: options.noEcho ?? false,
  };
  const envTls = tlsFilesFromEnv("NATS");
  if (options.tls !== undefined) clientOptions.tls = options.tls;
  else if (envTls !== undefined) clientOptions.tls = { caFile: envTls.ca, certFile: envTls.cert, keyFile: envTls.key };
  else if (address.tls) clientOptions.tls = {};

  // Not the client's waitOnFirstConnect: in 3.3.1 it retries forever, ignoring every limit.
  const deadline = Date.now() + (options.firstConnectWaitMs ?? 0);
  for (;;) {
    try {
      const nc = await connect(clientOptions);
      return new NatsTransport(nc, address.redacted, options);
    } catch (e) {
      const retry = !(e instanceof AuthorizationError) && Date.now() + (clientOptions.reconnectTimeWait as number) < deadline;
      if (!retry) throw new ConnectError(address.redacted, `cannot connect to NATS: ${(e as Error).message}`, { cause: e });
      await new Promise((resolve) => setTimeout(resolve, clientOptions.reconnectTimeWait));
    }
  }
}

class NatsTransport implements Transport {
  readonly name = "nats";
  readonly closed: Promise<Error | undefined>;
  private drained: Promise<void> | undefined;
  private gaveUp: ConnectError | undefined;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private readonly reconnectListeners = new Set<() => void>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly url: string,
    private readonly options: NatsTransportOptions,
  ) {
    this.closed = nc.closed().then(
      (err) => {
        clearTimeout(this.disconnectTimer);
        if (this.gaveUp !== undefined) return this.gaveUp;
        return err ? new ConnectError(url, `the NATS connection died: ${err.message}`, { cause: err }) : undefined;
      },
      (err: Error) => new ConnectError(url, `the NATS connection died: ${err.message}`, { cause: err }),
    );
    void this.watchStatus();
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  get maxPayloadBytes(): number | undefined {
    return this.nc.info?.max_payload;
  }

  publish(subject: string, data: Uint8Array): void {
    checkSubject(subject, false);
    this.send(subject, data);
  }

  subscribe(subject: string, handler: (m: TransportMessage) => void): Subscription {
    checkSubject(subject, true);
    let sub: NatsSubscription;
    try {
      sub = this.nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err !== null) {
            this.options.log?.(`nats: subscription ${subject} ended: ${err.message}`);
            return;
          }
          const reply = msg.reply;
          deliver(handler, {
            subject: msg.subject,
            data: msg.data,
            respond: reply ? (data: Uint8Array) => this.send(reply, data) : undefined,
          });
        },
      });
    } catch (e) {
      throw this.mapError(e);
    }
    return {
      subject,
      unsubscribe: () => {
        if (this.nc.isClosed() || sub.isClosed()) return;
        sub.unsubscribe();
      },
    };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    checkSubject(subject, false);
    checkPayload(subject, data, this.maxPayloadBytes);
    checkTimeoutMs(timeoutMs);
    try {
      const reply = await this.nc.request(subject, data, { timeout: timeoutMs });
      return reply.data;
    } catch (e) {
      if (e instanceof TimeoutError) throw new RequestTimeoutError(subject, timeoutMs, { cause: e });
      if (e instanceof RequestError && e.isNoResponders()) throw new NoRespondersError(subject, { cause: e });
      throw this.mapError(e);
    }
  }

  async flush(): Promise<void> {
    try {
      await this.nc.flush();
    } catch (e) {
      throw this.mapError(e);
    }
  }

  drain(): Promise<void> {
    if (this.drained !== undefined) return this.drained;
    if (this.nc.isClosed()) return Promise.reject(new TransportClosedError("the NATS transport is closed"));
    this.drained = this.nc.drain().catch((e: unknown) => {
      throw this.mapError(e);
    });
    return this.drained;
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.close();
    await this.closed;
  }

  private send(subject: string, data: Uint8Array): void {
    checkPayload(subject, data, this.maxPayloadBytes);
    try {
      this.nc.publish(subject, data);
    } catch (e) {
      throw this.mapError(e);
    }
  }

  /** The client's closed/draining errors become the contract's; a request cancelled by close too. */
  private mapError(e: unknown): unknown {
    if (e instanceof ClosedConnectionError) return new TransportClosedError("the NATS transport is closed", { cause: e });
    if (e instanceof DrainingConnectionError) return new TransportClosedError("the NATS transport is draining", { cause: e });
    // The client sets isClosed() only after its status listeners finish, later than it fails
    // pending requests with this message.
    if (e instanceof RequestError && (this.nc.isClosed() || this.nc.isDraining() || e.message === "connection closed")) {
      return new TransportClosedError("the NATS transport closed before the reply arrived", { cause: e });
    }
    return e;
  }

  /** Bounds the time spent reconnecting, which the client alone would not. */
  private async watchStatus(): Promise<void> {
    const limit = this.options.maxDisconnectedMs ?? 60_000;
    const log = this.options.log;
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect") {
        log?.(`nats: disconnected from ${this.url}; reconnecting`);
        if (Number.isFinite(limit) && this.disconnectTimer === undefined) {
          this.disconnectTimer = setTimeout(() => {
            this.gaveUp = new ConnectError(this.url, `no NATS connection for ${limit} ms; giving up`);
            log?.(`nats: ${this.gaveUp.message}`);
            void this.nc.close();
          }, limit);
        }
      } else if (s.type === "reconnect") {
        log?.(`nats: reconnected to ${this.url}`);
        clearTimeout(this.disconnectTimer);
        this.disconnectTimer = undefined;
        for (const listener of this.reconnectListeners) listener();
      } else if (s.type === "close") {
        break;
      }
    }
  }
}
