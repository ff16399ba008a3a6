/** How long clean-up in Redis may wait when Redis does not answer (its commands wait for a reconnection for ever), ms. */
export const REDIS_CLEANUP_MS = 5000;

/**
 * Waits for `work` at most `ms`: "done", "failed" (it rejected) or "timeout" (it is left to
 * finish, or not, on its own). For clean-up that must not hold a command when a server is gone.
 */
export async function within(work: Promise<unknown>, ms: number): Promise<"done" | "failed" | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  try {
    return await Promise.race([work.then(() => "done" as const, () => "failed" as const), gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}
