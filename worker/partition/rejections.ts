import { printable } from "../../shared/protocol/printable.ts";

/** At most one log line per this many ms about rejected messages. */
const LINE_EVERY_MS = 1000;

/**
 * Counts rejected messages and logs them, at most one line a second: the first rejection at
 * once, then, when a second has passed, the newest with how many came since the last line. A
 * flood of garbage on a run's subjects cannot flood the log (4,784 lines for one garbage run
 * before). Reasons are printed with their control characters replaced.
 */
export class RejectionLog {
  private lastLineAt = -Infinity;
  private unlogged = 0;

  constructor(
    private readonly log: (line: string) => void,
    private readonly who: string,
    private readonly count: () => void,
  ) {}

  reject(subject: string, reason: string): void {
    this.count();
    const now = Date.now();
    if (now - this.lastLineAt < LINE_EVERY_MS) {
      this.unlogged++;
      return;
    }
    const more = this.unlogged > 0 ? ` (and ${this.unlogged} more rejected since the last such line)` : "";
    this.lastLineAt = now;
    this.unlogged = 0;
    this.log(`${this.who}: rejected a message on ${printable(subject)}: ${printable(reason)}${more}`);
  }
}
