/**
 * One waiter at a time sleeps until a message handler says something changed, or a time limit
 * passes: the protocol loops wait on this instead of polling.
 */
export class Wakeup {
  private wake: (() => void) | null = null;

  /** Wakes the waiter, if any (message handlers call it). */
  notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Resolves at the next notify(), or after `ms` milliseconds. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(0, ms));
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
