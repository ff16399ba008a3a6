import { randomBytes } from "node:crypto";
import { SECRET_BYTES } from "../shared/protocol/seal.ts";

/** An unguessable run id (96 random bits): a run's NATS subjects are namespaced by it. */
export function newRunId(): string {
  return randomBytes(12).toString("base64url");
}

/**
 * A run's secret (SECRET_BYTES random bytes, hex): every message of the run is sealed under it
 * (shared/protocol/seal.ts). It travels only inside the run's jobs, never on the message bus.
 */
export function newRunSecret(): string {
  return randomBytes(SECRET_BYTES).toString("hex");
}

export function runPrefix(run: string): string {
  return `refsim.${run}`;
}
