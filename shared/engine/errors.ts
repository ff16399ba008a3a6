/** Misuse of the simulation engine or model: carries the simulated time and the entity. */
export class SimulationError extends Error {
  override readonly name: string = "SimulationError";
  readonly timePs: number;
  readonly entity: string;

  constructor(message: string, timePs: number, entity: string, options?: { cause?: unknown }) {
    super(`${message} (at ${timePs} ps, ${entity})`, options);
    this.timePs = timePs;
    this.entity = entity;
  }
}

/** An event scheduled into the past, or with a non-integer or non-finite delay. */
export class InvalidDelayError extends SimulationError {
  override readonly name = "InvalidDelayError";
}

/**
 * An event from another engine due at or before the receiver's current time, or inside a window
 * the receiver has already run: the window protocol promised it could not happen, and running it
 * now would reorder events silently.
 */
export class LateEventError extends SimulationError {
  override readonly name = "LateEventError";
}

/** A line whose memory is being reclaimed while something still uses it (a use after free). */
export class LineInUseError extends Error {
  override readonly name = "LineInUseError";
  constructor(
    readonly line: number,
    /** Who uses it, and how: "cpu 3 waits for", "requests wait at node 0 for". */
    readonly user: string,
  ) {
    super(`${user} line ${line}`);
  }
}

/** A spec that is well-formed but cannot be simulated (e.g. more CPUs than the machine has). */
export class SpecError extends Error {
  override readonly name: string = "SpecError";
  readonly path: string;
  constructor(path: string, message: string) {
    super(path ? `${path}: ${message}` : message);
    this.path = path;
  }
}
