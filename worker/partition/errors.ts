/** A lost, duplicated or inconsistent message between partitions: the run must stop. */
export class CountMismatchError extends Error {
  override readonly name = "CountMismatchError";
  constructor(
    message: string,
    readonly window: number,
    readonly from: number,
    readonly to: number,
  ) {
    super(message);
  }
}

/** The coordinator said to stop, or a peer went silent. */
export class RunAbortedError extends Error {
  override readonly name = "RunAbortedError";
}

/** The coordinator started a new epoch: drop the window in hand and restore. */
export class RollbackSignal extends Error {}
