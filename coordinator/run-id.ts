import { randomBytes } from "node:crypto";

/** An unguessable run id (96 random bits): a run's NATS subjects are namespaced by it. */
export function newRunId(): string {
  return randomBytes(12).toString("base64url");
}

export function runPrefix(run: string): string {
  return `refsim.${run}`;
}
