/** What `watchInterrupts` gives: the first SIGINT or SIGTERM, as a promise and a flag. */
export interface Interrupts {
  /** Resolves with the signal's name at the first SIGINT or SIGTERM. */
  readonly signalled: Promise<NodeJS.Signals>;
  /** The signal received, or null. */
  readonly signal: NodeJS.Signals | null;
  /** Stops listening (the signals' default action comes back). */
  dispose(): void;
}

/** The exit code of a command stopped by SIGINT or SIGTERM (as a shell reports 128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

/**
 * Catches SIGINT and SIGTERM while a command runs, so it can keep what finished before it stops.
 * A second signal does not wait: the process exits at once with code 130.
 */
export function watchInterrupts(): Interrupts {
  let received: NodeJS.Signals | null = null;
  let resolve!: (s: NodeJS.Signals) => void;
  const signalled = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (signal: NodeJS.Signals) => {
    if (received !== null) {
      restoreCursor();
      process.stderr.write(`refsim: ${signal} again: stopping without writing\n`);
      process.exit(INTERRUPTED_EXIT_CODE);
    }
    received = signal;
    resolve(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signalled,
    get signal() {
      return received;
    },
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}

/** Shows the terminal's cursor again (progress bars hide it). */
export function restoreCursor(): void {
  if (process.stderr.isTTY === true) process.stderr.write("\u001b[?25h");
}
