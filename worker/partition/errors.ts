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
  override readonly name: string = "RunAbortedError";
}

/** The coordinator aborted the run: it is over, and a retry of the job could only wait. */
export class CoordinatorAbortError extends RunAbortedError {
  override readonly name = "CoordinatorAbortError";
}

/** The coordinator started a new epoch: drop the window in hand and restore. */
export class RollbackSignal extends Error {}

/** The partition is projected to need more memory than this process may hold: a retry cannot change that. */
export class MemoryRefusalError extends Error {
  override readonly name = "MemoryRefusalError";
}
