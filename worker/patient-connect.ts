/**
 * Connects to a server a long-running process cannot work without, for as long as it takes:
 * the first failure is said at once (what, where, why, and that it keeps trying), then one line
 * a minute while it still fails, and one when it succeeds. A failure that retrying cannot mend
 * (`fatal`, such as refused credentials) is thrown.
 */
export async function connectPatiently<T>(
  what: string,
  url: string,
  attempt: () => Promise<T>,
  o: {
    log: (line: string) => void;
    who: string;
    retryMs?: number;
    noteEveryMs?: number;
    fatal?: (e: unknown) => boolean;
    /** Gives up (throws the last failure, its message saying so) once it has failed for this long, ms. */
    giveUpAfterMs?: number;
  },
): Promise<T> {
  const retryMs = o.retryMs ?? 2000;
  const noteEveryMs = o.noteEveryMs ?? 60_000;
  let failures = 0;
  let firstFailure = 0;
  let noted = 0;
  for (;;) {
    try {
      const connected = await attempt();
      if (failures > 0) o.log(`${o.who}: reached ${what} at ${url} after ${failures} failed attempt(s)`);
      return connected;
    } catch (e) {
      if (o.fatal?.(e) === true) throw e;
      failures++;
      const why = e instanceof Error && e.cause instanceof Error ? e.cause.message : (e as Error).message;
      const now = Date.now();
      if (o.giveUpAfterMs !== undefined && failures > 1 && now - firstFailure >= o.giveUpAfterMs) {
        throw new Error(`cannot reach ${what} at ${url} for ${Math.round((now - firstFailure) / 1000)} s (${failures} attempts): ${why}; giving up`, { cause: e });
      }
      if (failures === 1) {
        firstFailure = now;
        noted = now;
        const until = o.giveUpAfterMs === undefined ? "Ctrl-C stops" : `giving up after ${o.giveUpAfterMs / 1000} s`;
        o.log(`${o.who}: cannot reach ${what} at ${url}: ${why}; retrying every ${retryMs / 1000} s (${until})`);
      } else if (now - noted >= noteEveryMs) {
        noted = now;
        o.log(`${o.who}: still cannot reach ${what} at ${url} after ${Math.round((now - firstFailure) / 1000)} s (${failures} attempts): ${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
}
