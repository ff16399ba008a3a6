/** How often a sleeper's time limit is checked, ms: limits here are seconds (timeouts, resends). */
const TICK_MS = 25;

/**
 * One waiter at a time sleeps until a message handler says something changed, or a time limit
 * passes: the protocol loops wait on this instead of polling. The limits are checked by one
 * repeating timer rather than a timer per sleep, because a partition sleeps once per window:
 * setting and clearing a timer thousands of times a second was a measurable share of a window.
 * `close()` stops that timer.
 */
export class Wakeup {
  private wake: (() => void) | null = null;
  private deadline = Infinity;
  private ticker: NodeJS.Timeout | null = null;

  /** Wakes the waiter, if any (message handlers call it). */
  notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Resolves at the next notify(), or about `ms` milliseconds later (within TICK_MS). */
  sleep(ms: number): Promise<void> {
    this.ticker ??= setInterval(() => {
      if (this.wake !== null && performance.now() >= this.deadline) this.notify();
    }, TICK_MS);
    this.deadline = performance.now() + Math.max(0, ms);
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  /** Stops the timer and wakes the waiter, if any. */
  close(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.notify();
  }
}
