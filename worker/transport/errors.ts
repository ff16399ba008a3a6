import { redactUrl } from "./server-url.ts";

/**
 * The errors of the `Transport` contract, one class per condition. Each implementation maps
 * its own failures onto these, keeping the original as `cause`.
 */

/** An operation on a transport that is closed, or (for subscribe/request) draining. */
export class TransportClosedError extends Error {
  override readonly name = "TransportClosedError";
  constructor(message = "the transport is closed", options?: ErrorOptions) {
    super(message, options);
  }
}

/** A request got no reply within `timeoutMs` milliseconds. */
export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`request to ${subject} got no reply within ${timeoutMs} ms`, options);
  }
}

/** A request to a subject that no subscription matched. */
export class NoRespondersError extends Error {
  override readonly name = "NoRespondersError";
  constructor(
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`no subscription matches request subject ${subject}`, options);
  }
}

/**
 * The server could not be reached or refused us (bad credentials, TLS), or the connection was
 * lost for longer than the reconnect policy allows. `url` never carries credentials.
 */
export class ConnectError extends Error {
  override readonly name = "ConnectError";
  readonly url: string;
  constructor(url: string, reason: string, options?: ErrorOptions) {
    const redacted = redactUrl(url);
    super(`${reason} (${redacted})`, options);
    this.url = redacted;
  }
}

/** A subject that is empty, has an empty token or whitespace, or has a wildcard where none may be. */
export class InvalidSubjectError extends Error {
  override readonly name = "InvalidSubjectError";
  constructor(
    readonly subject: string,
    readonly reason: string,
  ) {
    super(`invalid subject ${JSON.stringify(subject)}: ${reason}`);
  }
}

/** A payload larger than the transport's `maxPayloadBytes`. */
export class PayloadTooLargeError extends Error {
  override readonly name = "PayloadTooLargeError";
  constructor(
    readonly subject: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`payload of ${bytes} bytes for ${subject} exceeds the limit of ${maxBytes} bytes`);
  }
}
