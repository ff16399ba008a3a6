/**
 * The count of objects awaiting their free (a per-CPU counter killed but not yet freed: percpu
 * between its kill and the end of the RCU grace period, sloppy before its reconcile, refcache from
 * a flush to zero until its review two epochs on), in memory that does not grow with the run.
 *
 * The machine-wide count is a sum over CPUs whose changes only meet, in time order, when the
 * partitions' reports are merged; keeping every change for that would grow with every operation.
 * So each CPU keeps two bounded things:
 * - the net change of the count between fixed sampling instants: the run's duration cut into
 *   AWAITING_SAMPLES equal parts, and a last slot for the changes at or after the duration (the
 *   drain). The count at each instant is exact, a sum of integers in any order, so the same in
 *   every partitioning; its peak over the instants is the reported peak, a lower bound of the
 *   count's instantaneous peak (a peak shorter than a sampling interval, duration / 1024, can fall
 *   between two instants). The count at the end (changes before the duration) is exact.
 * - the net change per object (and per generation of its memory), for the leak check: an object
 *   whose changes net to zero on a CPU leaves that CPU's map, so it holds at most one entry per
 *   piece of memory, which under memory reuse is bounded by the memory in use.
 */
export const AWAITING_SAMPLES = 1024;

/** One CPU's share: see the file's comment. */
export interface AwaitingLog {
  /** Net changes by sampling slot, flattened: slot, delta, ... in increasing slot order. */
  slots: number[];
  /** Net change by object: its memory's generation and the net (never 0: such entries leave). */
  objects: Map<number, { gen: number; net: number }>;
}

export function newAwaitingLog(): AwaitingLog {
  return { slots: [], objects: new Map() };
}

/**
 * The slot of a change at `timePs`: the changes of slot j count at instants j + 1 .. 1024 (the
 * instant i at i x duration / 1024); AWAITING_SAMPLES for a change at or after the duration.
 */
export function awaitingSlot(timePs: number, durationPs: number): number {
  if (timePs >= durationPs) return AWAITING_SAMPLES;
  // Below 1 for integers timePs < durationPs <= 2^53 (the quotient's true value is at most
  // 1 - 2^-53, which is a double), and 1024 is a power of two: at most 1023.
  return Math.floor((timePs / durationPs) * AWAITING_SAMPLES);
}

/** Records a change of +1 or -1 for object `obj` of generation `gen` at `timePs` (a CPU's changes come in time order). */
export function noteAwaiting(log: AwaitingLog, timePs: number, durationPs: number, obj: number, gen: number, delta: 1 | -1): void {
  const slot = awaitingSlot(timePs, durationPs);
  const s = log.slots;
  // The last slot changed (undefined when none was: neither equal nor greater).
  const last = s[s.length - 2];
  if (last === slot) s[s.length - 1] += delta;
  else if (last > slot) throw new Error(`awaiting-free change at slot ${slot} after slot ${last}`);
  else s.push(slot, delta);
  const had = log.objects.get(obj);
  if (had === undefined || had.gen < gen) log.objects.set(obj, { gen, net: delta });
  else if (had.gen === gen) {
    had.net += delta;
    if (had.net === 0) log.objects.delete(obj);
  }
  // A change for an older generation than one already seen here would be of an object freed
  // before the newer one was made: it says nothing of the memory's current object.
}

/** A CPU's log as a report carries it: slots flattened, objects flattened id, generation, net. */
export function awaitingReport(log: AwaitingLog): { awaitingSlots: number[]; awaitingObjects: number[] } {
  const objects: number[] = [];
  for (const [id, e] of log.objects) objects.push(id, e.gen, e.net);
  return { awaitingSlots: log.slots.slice(), awaitingObjects: objects };
}

export interface AwaitingSummary {
  /** The largest count at the sampling instants (0 when it never rose). */
  peak: number;
  /** The count from the changes before the duration. */
  atEnd: number;
  /** The objects whose current generation's changes, over every CPU, net above zero (the drain's included). */
  objects: Set<number>;
}

/** The machine-wide count from every CPU's report; `genOf` gives each memory's current generation. */
export function mergeAwaiting(
  cpus: ReadonlyArray<{ awaitingSlots: readonly number[]; awaitingObjects: readonly number[] }>,
  genOf: (id: number) => number,
): AwaitingSummary {
  const bySlot = new Float64Array(AWAITING_SAMPLES);
  const net = new Map<number, number>();
  for (const c of cpus) {
    const s = c.awaitingSlots;
    for (let i = 0; i < s.length; i += 2) if (s[i] < AWAITING_SAMPLES) bySlot[s[i]] += s[i + 1];
    const o = c.awaitingObjects;
    for (let i = 0; i < o.length; i += 3) if (o[i + 1] === genOf(o[i])) net.set(o[i], (net.get(o[i]) ?? 0) + o[i + 2]);
  }
  let now = 0;
  let peak = 0;
  for (let i = 0; i < AWAITING_SAMPLES; i++) {
    now += bySlot[i];
    if (now > peak) peak = now;
  }
  const objects = new Set<number>();
  for (const [id, n] of net) if (n > 0) objects.add(id);
  return { peak, atEnd: now, objects };
}
