import { PayloadTooLargeError } from "./errors.ts";
import type { TransportMessage } from "./transport.ts";

/** Rules of the `Transport` contract that every implementation applies the same way. */

/** Rethrows a handler's error on a later tick, so it neither stops delivery nor goes unseen. */
export function deliver(handler: (m: TransportMessage) => void, message: TransportMessage): void {
  try {
    handler(message);
  } catch (e) {
    process.nextTick(() => {
      throw e;
    });
  }
}

export function checkPayload(subject: string, data: Uint8Array, maxBytes: number | undefined): void {
  if (!(data instanceof Uint8Array)) throw new TypeError(`payload for ${subject} must be a Uint8Array`);
  if (maxBytes !== undefined && data.byteLength > maxBytes) throw new PayloadTooLargeError(subject, data.byteLength, maxBytes);
}

export function checkTimeoutMs(timeoutMs: number): void {
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new RangeError(`timeoutMs must be a finite number > 0, got ${timeoutMs}`);
}
