import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";

/**
 * Every message of a distributed run travels sealed: its bytes, then an HMAC-SHA256 (RFC 2104)
 * of the subject it is published on, a zero byte and those bytes, under the run's secret. The
 * secret is made by the coordinator for each run and travels only inside the run's partition
 * jobs (in Redis), never on the message bus: whoever can publish on the bus but not read Redis
 * cannot make a message that a partition or the coordinator acts on, nor move a real one to
 * another subject or another run. A message that does not open is dropped and counted.
 *
 * This is I/O-free and deterministic, like the codecs beside it; it uses node:crypto's HMAC
 * with the key held as a KeyObject. (Hashing the key's pads once and copying the two hash states
 * per message measured twice as slow as createHmac per message, so it is not done.)
 */

/** Bytes of the MAC after each message. */
export const MAC_BYTES = 32;
/** Bytes of a run's secret (hex in the job: twice as many characters). */
export const SECRET_BYTES = 32;

const SEPARATOR = new Uint8Array(1);
const SECRET_HEX = new RegExp(`^[0-9a-f]{${2 * SECRET_BYTES}}$`);

/** A secret that is not SECRET_BYTES bytes of hex. */
export class SecretError extends Error {
  override readonly name = "SecretError";
}

export class RunSeal {
  private readonly key: KeyObject;

  /** `secretHex`: the run's secret, SECRET_BYTES bytes as lower-case hex. */
  constructor(secretHex: string) {
    if (typeof secretHex !== "string" || !SECRET_HEX.test(secretHex)) throw new SecretError(`a run's secret is ${SECRET_BYTES} bytes of lower-case hex`);
    this.key = createSecretKey(Buffer.from(secretHex, "hex"));
  }

  /** The MAC of `payload` published on `subject`. */
  mac(subject: string, payload: Uint8Array): Buffer {
    return createHmac("sha256", this.key).update(subject).update(SEPARATOR).update(payload).digest();
  }

  /** `payload` followed by its MAC. */
  seal(subject: string, payload: Uint8Array): Uint8Array {
    const out = new Uint8Array(payload.byteLength + MAC_BYTES);
    out.set(payload, 0);
    out.set(this.mac(subject, payload), payload.byteLength);
    return out;
  }

  /** The payload of a sealed message published on `subject`, or null when its MAC does not check. */
  open(subject: string, data: Uint8Array): Uint8Array | null {
    if (data.byteLength < MAC_BYTES) return null;
    const payload = data.subarray(0, data.byteLength - MAC_BYTES);
    return timingSafeEqual(this.mac(subject, payload), data.subarray(data.byteLength - MAC_BYTES)) ? payload : null;
  }
}

/** The payload of a sealed message, unchecked (for tests and tools that inspect traffic). */
export function sealedPayload(data: Uint8Array): Uint8Array {
  return data.subarray(0, Math.max(0, data.byteLength - MAC_BYTES));
}
