import { EventQueue } from "./event-queue.ts";

// Local copies of event-queue.ts's MAX_PRIORITY and MAX_SEQ: the hot path avoids cross-module bindings.
const MAX_PRIORITY = 15;
const MAX_SEQ = 4294967296;
import { InvalidDelayError, LateEventError } from "./errors.ts";

/** Receives every event the engine delivers to an entity held by this engine. */
export interface EventHandler {
  handle(type: number, target: number, a0: number, a1: number, a2: number, a3: number): void;
}

/**
 * Where events for entities held elsewhere go. The model never sees this: it calls
 * Engine.send and the engine decides whether the target is local.
 */
export interface Router {
  isLocal(entity: number): boolean;
  outbound(
    timePs: number,
    priority: number,
    origin: number,
    seq: number,
    target: number,
    type: number,
    a0: number,
    a1: number,
    a2: number,
    a3: number,
  ): void;
}

/**
 * The discrete-event engine: integer picosecond time, a total event order (see EventQueue)
 * and one sequence counter per originating entity.
 */
export class Engine {
  nowPs = 0;
  eventsProcessed = 0;
  readonly queue: EventQueue;
  private readonly seqs: Float64Array;
  private router: Router | null;
  private handler: EventHandler | null = null;
  /** The entity whose event is being handled (for error messages). */
  currentEntity = -1;

  constructor(entityCount: number, router: Router | null = null, initialCapacity = 4096) {
    if (entityCount > 65536) throw new RangeError(`at most 65536 entities, got ${entityCount}`);
    this.queue = new EventQueue(initialCapacity);
    this.seqs = new Float64Array(entityCount);
    this.router = router;
  }

  setHandler(handler: EventHandler): void {
    this.handler = handler;
  }

  setRouter(router: Router | null): void {
    this.router = router;
  }

  /**
   * Schedules an event at nowPs + delayPs for `target`, created by `origin`.
   * delayPs must be a non-negative integer.
   */
  send(
    delayPs: number,
    priority: number,
    origin: number,
    target: number,
    type: number,
    a0 = 0,
    a1 = 0,
    a2 = 0,
    a3 = 0,
  ): void {
    if (!(delayPs >= 0 && delayPs <= Number.MAX_SAFE_INTEGER && Math.floor(delayPs) === delayPs)) {
      throw new InvalidDelayError(`delay must be a non-negative integer number of picoseconds, got ${delayPs}`, this.nowPs, `entity ${origin}`);
    }
    if (!(priority >= 0 && priority <= MAX_PRIORITY)) {
      throw new InvalidDelayError(`priority must be in 0..${MAX_PRIORITY}, got ${priority}`, this.nowPs, `entity ${origin}`);
    }
    const t = this.nowPs + delayPs;
    const seq = this.seqs[origin]++;
    if (seq >= MAX_SEQ) throw new InvalidDelayError(`entity ${origin} created more than 2^32 events`, this.nowPs, `entity ${origin}`);
    if (this.router !== null && !this.router.isLocal(target)) {
      this.router.outbound(t, priority, origin, seq, target, type, a0, a1, a2, a3);
      return;
    }
    this.queue.pushRanked(t, (priority * 65536 + origin) * MAX_SEQ + seq, target, type, a0, a1, a2, a3);
  }

  /** Accepts an event created on another engine (its key was fixed there). */
  deliver(
    timePs: number,
    priority: number,
    origin: number,
    seq: number,
    target: number,
    type: number,
    a0: number,
    a1: number,
    a2: number,
    a3: number,
  ): void {
    this.deliverRanked(timePs, EventQueue.rank(priority, origin, seq), target, type, a0, a1, a2, a3);
  }

  /**
   * deliver() with the key's priority, origin and seq already packed (EventQueue.rank). An event
   * due at or before the current time (once anything has run) is a LateEventError: events from
   * elsewhere always arrive at least one lookahead ahead, so one at the current time is as wrong
   * as one in the past, and could sort before events already run.
   */
  deliverRanked(timePs: number, rank: number, target: number, type: number, a0: number, a1: number, a2: number, a3: number): void {
    if (timePs < this.nowPs || (timePs === this.nowPs && this.eventsProcessed > 0)) {
      const { origin } = EventQueue.unpackRank(rank);
      throw new LateEventError(`event from entity ${origin} arrived for ${timePs} ps, not after the local time`, this.nowPs, `entity ${target}`);
    }
    this.queue.pushRanked(timePs, rank, target, type, a0, a1, a2, a3);
  }

  /** Time of the next local event, or Infinity. */
  nextEventTime(): number {
    return this.queue.peekTime();
  }

  /**
   * Runs local events whose time is below endPs (exclusive), at most `maxEvents` of them (so a
   * caller can yield to its event loop and call again). Returns the events run.
   */
  runUntil(endPs: number, maxEvents = Infinity): number {
    const q = this.queue;
    const handler = this.handler;
    if (handler === null) throw new Error("Engine.runUntil called before setHandler");
    let n = 0;
    while (n < maxEvents && q.peekTime() < endPs) {
      const slot = q.pop();
      this.nowPs = q.lastTimePs;
      const tt = q.targetType[slot];
      const args = q.args;
      const at = slot * 4;
      const a0 = args[at];
      const a1 = args[at + 1];
      const a2 = args[at + 2];
      const a3 = args[at + 3];
      q.release(slot);
      const type = tt & 255;
      const target = tt >> 8;
      this.currentEntity = target;
      handler.handle(type, target, a0, a1, a2, a3);
      n++;
    }
    this.eventsProcessed += n;
    return n;
  }

  /** Sequence counters, for checkpoints. */
  sequenceCounters(): Float64Array {
    return this.seqs;
  }
}
