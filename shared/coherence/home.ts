import type { Engine } from "../engine/engine.ts";
import { LineInUseError } from "../engine/errors.ts";
import { DIE, HOP1 } from "../machine/distance.ts";
import type { Machine } from "../machine/machine.ts";
import type { MeasuredWindow } from "../kernel/cpu.ts";
import { pickWaiter } from "./arbitration.ts";
import { EV_LINE_DATA, EV_LINE_FREE, EV_LINE_INVALIDATE, EV_LINE_RECALL, PRIO_COHERENCE, READ, recallCode, WRITE } from "./protocol.ts";
import { sourceCode, SOURCE_DRAM_LOCAL, SOURCE_DRAM_REMOTE } from "./source.ts";

/** The directory's record of one line. */
interface DirectoryEntry {
  /** The CPU holding the token (the Modified copy, or the forwarding Shared copy); -1 = memory. */
  holder: number;
  /** CPUs with a Shared copy besides the holder. */
  sharers: number[];
  /**
   * For each sharer, the number of its request that gave it its copy (it was the holder then).
   * An invalidation carries it, so a CPU still waiting for that very request knows the
   * invalidation is ordered after it (use the line once, then drop it), not before.
   */
  sharerRequests: number[];
  /** The line serves one transfer at a time; it is busy until this time. */
  busyUntilPs: number;
  /** The value in memory, valid while holder is -1. */
  value: number;
  /** The number of the holder's request that made it the holder (or upgraded its copy). */
  holderRequest: number;
  /** Requests waiting for the line to fall free: requester, kind, request number, arrival time (ps). */
  waiting: number[];
  /** Whether an EV_LINE_FREE for this line is on its way (due at busyUntilPs). */
  freeScheduled: boolean;
  /** Requests served so far (numbers the transfers for the arbitration's choice). */
  served: number;
}

const WAIT_FIELDS = 4;

function newEntry(value: number): DirectoryEntry {
  return { holder: -1, sharers: [], sharerRequests: [], busyUntilPs: 0, value, holderRequest: 0, waiting: [], freeScheduled: false, served: 0 };
}

/** Counters a home node keeps about the transfers it served (after the warm-up). */
export interface HomeStats {
  /** Cache-to-cache transfers by distance class between previous and new holder. */
  transfersByClass: Float64Array;
  dramLocal: number;
  dramRemote: number;
  invalidations: number;
  upgrades: number;
  /** Time requests waited for a busy line, in picoseconds. */
  queueWaitPs: number;
}

/**
 * The directory of the lines homed on one memory node: MESI, with the Shared copy most recently
 * fetched acting as the forwarder (as MESIF's F state). It serves the requests of each line one at
 * a time: a request waits until the line is free (the requests waiting when it falls free are
 * arbitrated, see arbitration.ts), then the transfer keeps the line busy for its occupancy and
 * reaches the requester after its latency.
 *
 * - A line fetched from memory while nobody caches it is Exclusive: the CPU may write it at once,
 *   silently (E -> M needs no message, so the directory cannot tell E from M: it records the
 *   holder and an empty sharer list for both).
 * - A CPU with a Shared copy that writes upgrades (S -> M): its copy is current (any write since
 *   it was fetched would have invalidated it), so the home invalidates the other copies and grants
 *   ownership without moving the data.
 * - A read of a line another CPU owns moves a copy (the published load latency); a write or atomic
 *   moves ownership (the published atomic latency) and invalidates every other copy.
 *
 * A requester waits, from sending its request to receiving the data, the published latency of its
 * distance class to the holder, plus, under a directory protocol, the directory's indirection (see
 * indirectionPs); but never less than the messages the simulation needs: request leg + recall leg
 * + the holder's data hop (each at least a message leg of its distance).
 */
export class HomeNode {
  readonly node: number;
  readonly entity: number;
  readonly stats: HomeStats;
  private readonly lines = new Map<number, DirectoryEntry>();
  private readonly engine: Engine;
  private readonly machine: Machine;
  private readonly window: MeasuredWindow;
  /** The experiment's seed: the arbitration among waiting requests derives from it. */
  private readonly seed: number;

  constructor(node: number, entity: number, engine: Engine, machine: Machine, window: MeasuredWindow, seed: number) {
    this.node = node;
    this.seed = seed;
    this.entity = entity;
    this.engine = engine;
    this.machine = machine;
    this.window = window;
    this.stats = {
      transfersByClass: new Float64Array(6),
      dramLocal: 0,
      dramRemote: 0,
      invalidations: 0,
      upgrades: 0,
      queueWaitPs: 0,
    };
  }

  /** Lines this home has served, with their directory state (for invariant checks). */
  entries(): IterableIterator<[number, DirectoryEntry]> {
    return this.lines.entries();
  }

  /** Sets a line's value in memory before the run starts (set-up of the initial objects). */
  presetValue(line: number, value: number): void {
    const e = this.lines.get(line);
    if (e !== undefined && e.holder !== -1) throw new Error(`line ${line} is cached; cannot preset its memory value`);
    this.lines.set(line, newEntry(value));
  }

  /**
   * Forgets the lines whose memory was reclaimed (`dead` says which) and returns, flattened
   * [line, cpu, ...], the copies the directory recorded of them (holders and sharers), which
   * their CPUs must forget too. Nothing may be waiting for such a line: a reclaimed line has no
   * user left, and one still in use is named in the error.
   */
  forgetWhere(dead: (line: number) => boolean): number[] {
    const copies: number[] = [];
    for (const [line, e] of this.lines) {
      if (!dead(line)) continue;
      if (e.waiting.length > 0 || e.freeScheduled) throw new LineInUseError(line, `requests wait at node ${this.node} for`);
      this.lines.delete(line);
      if (e.holder !== -1) copies.push(line, e.holder);
      for (const s of e.sharers) copies.push(line, s);
    }
    return copies;
  }

  /**
   * The extra time a directory protocol adds to a transfer from `from` to `to`: the published
   * figures were measured with the line homed at one of the two CPUs' nodes (request to the home,
   * home to holder, data back), so a home farther from them costs the difference in legs. A
   * broadcast protocol snoops the holder directly and adds nothing.
   */
  indirectionPs(to: number, from: number): number {
    const c = this.machine.costs;
    if (!c.directory) return 0;
    const topo = this.machine.topology;
    const legs = c.legPs[topo.nodeDistance(to, this.node)] + c.legPs[topo.nodeDistance(from, this.node)];
    const measured = c.legPs[topo.cpuDistance(to, from)] + c.legPs[DIE];
    return legs > measured ? legs - measured : 0;
  }

  /**
   * EV_LINE_REQUEST. A request for a free line with nobody waiting is served at once; otherwise
   * it waits at the home until the line falls free, when the arbitration picks among the waiting
   * requests (see arbitration.ts).
   */
  request(line: number, requester: number, kind: number, requestNumber: number): void {
    const now = this.engine.nowPs;
    let e = this.lines.get(line);
    if (e === undefined) {
      e = newEntry(0);
      this.lines.set(line, e);
    }
    if (e.waiting.length === 0 && now >= e.busyUntilPs) {
      this.serve(line, e, requester, kind, requestNumber, false);
      return;
    }
    // Kept in CPU order (a CPU has one request at most), so the arbitration never sorts.
    const w = e.waiting;
    const at = waitingIndex(w, requester);
    w.splice(at * WAIT_FIELDS, 0, requester, kind, requestNumber, now);
    if (!e.freeScheduled) {
      e.freeScheduled = true;
      this.engine.send(e.busyUntilPs - now, PRIO_COHERENCE, this.entity, this.entity, EV_LINE_FREE, line);
    }
  }

  /** EV_LINE_FREE: the line's occupancy ended; serve one of the requests waiting for it. */
  lineFree(line: number): void {
    const e = this.lines.get(line) as DirectoryEntry;
    e.freeScheduled = false;
    const w = e.waiting;
    // Candidates in CPU order; the holder's own new request only when nobody else waits.
    const n = w.length / WAIT_FIELDS;
    const h = waitingIndex(w, e.holder);
    const skipHolder = n > 1 && h < n && w[h * WAIT_FIELDS] === e.holder;
    let k = pickWaiter(this.seed, line, e.served, skipHolder ? n - 1 : n);
    if (skipHolder && k >= h) k++;
    const at = k * WAIT_FIELDS;
    const requester = w[at];
    const kind = w[at + 1];
    const requestNumber = w[at + 2];
    const arrivedPs = w[at + 3];
    w.splice(at, WAIT_FIELDS);
    const now = this.engine.nowPs;
    if (now >= this.window.warmupPs && now < this.window.durationPs) this.stats.queueWaitPs += now - arrivedPs;
    this.serve(line, e, requester, kind, requestNumber, w.length > 0);
    if (w.length > 0) {
      e.freeScheduled = true;
      this.engine.send(e.busyUntilPs - now, PRIO_COHERENCE, this.entity, this.entity, EV_LINE_FREE, line);
    }
  }

  /**
   * Serves one request now. `contended`: other requests still wait, so a requester granted
   * ownership makes its one access and hands the line on (it does not keep it for the next).
   */
  private serve(line: number, e: DirectoryEntry, requester: number, kind: number, requestNumber: number, contended: boolean): void {
    const now = this.engine.nowPs;
    e.served++;
    const topo = this.machine.topology;
    const c = this.machine.costs;
    const counted = now >= this.window.warmupPs && now < this.window.durationPs;
    const legD = c.legPs[topo.nodeDistance(requester, this.node)];
    let grantAt: number;
    let occupancy: number;

    if (e.holder === -1) {
      const dist = topo.nodeDistance(requester, this.node);
      grantAt = now + Math.max(c.dramPs[dist] - legD, legD);
      occupancy = c.legPs[dist];
      const source = dist === DIE ? SOURCE_DRAM_LOCAL : SOURCE_DRAM_REMOTE;
      if (counted) {
        if (dist === DIE) this.stats.dramLocal++;
        else this.stats.dramRemote++;
      }
      // Nobody caches the line: the requester's copy is Exclusive (E), whatever it asked for.
      this.send(grantAt - now, requester, EV_LINE_DATA, line, e.value, WRITE, sourceCode(source, false, contended && kind === WRITE));
      e.holder = requester;
      clearSharers(e);
    } else if (kind === WRITE && (e.holder === requester || e.sharers.includes(requester))) {
      // S -> M: invalidate every other copy (the forwarder's too); no data moves.
      let latency = 2 * legD;
      let farthest = DIE;
      let invalidated = 0;
      const invalidate = (s: number, sharerRequest: number) => {
        const d = topo.cpuDistance(s, requester);
        const l = c.atomicPs[d] + this.indirectionPs(requester, s);
        if (l > latency) latency = l;
        if (d > farthest) farthest = d;
        this.invalidate(s, line, sharerRequest);
        invalidated++;
      };
      for (let i = 0; i < e.sharers.length; i++) if (e.sharers[i] !== requester) invalidate(e.sharers[i], e.sharerRequests[i]);
      if (e.holder !== requester) invalidate(e.holder, e.holderRequest);
      if (counted) {
        this.stats.upgrades++;
        this.stats.invalidations += invalidated;
      }
      occupancy = this.handOffPs(farthest);
      grantAt = now + Math.max(latency - legD, legD);
      this.send(grantAt - now, requester, EV_LINE_DATA, line, 0, kind, sourceCode(farthest, true, contended));
      e.holder = requester;
      clearSharers(e);
    } else {
      const holder = e.holder;
      const dist = topo.cpuDistance(holder, requester);
      let latency: number;
      let occClass = dist;
      if (kind === READ) {
        latency = c.readPs[dist] + this.indirectionPs(requester, holder);
        const i = e.sharers.indexOf(holder);
        if (i === -1) {
          e.sharers.push(holder);
          e.sharerRequests.push(e.holderRequest);
        } else {
          e.sharerRequests[i] = e.holderRequest;
        }
      } else {
        latency = c.atomicPs[dist] + this.indirectionPs(requester, holder);
        let invalidated = 0;
        for (let i = 0; i < e.sharers.length; i++) {
          const s = e.sharers[i];
          if (s === requester) continue;
          const d = topo.cpuDistance(s, requester);
          const l = c.atomicPs[d] + this.indirectionPs(requester, s);
          if (l > latency) {
            latency = l;
            occClass = d;
          }
          this.invalidate(s, line, e.sharerRequests[i]);
          invalidated++;
        }
        if (counted) this.stats.invalidations += invalidated;
        clearSharers(e);
      }
      occupancy = this.handOffPs(occClass);
      const legH = c.legPs[topo.nodeDistance(holder, this.node)];
      grantAt = now + Math.max(latency - legD, legH + c.legPs[dist]);
      if (counted) this.stats.transfersByClass[dist]++;
      // The holder forwards the data itself, to arrive at grantAt (see CpuCache.onRecall).
      this.send(legH, holder, EV_LINE_RECALL, line, requester, recallCode(kind, e.holderRequest, contended && kind === WRITE), grantAt);
      e.holder = requester;
    }
    e.holderRequest = requestNumber;
    e.busyUntilPs = now + occupancy;
  }

  /**
   * How long a cache-to-cache transfer whose farthest party is at distance `cls` keeps the line:
   * the class's occupancy, or, when it crosses sockets on a machine whose home agent serves
   * cross-socket transactions by snooping every socket, that transaction's (crossSocketOccupancyPs).
   */
  private handOffPs(cls: number): number {
    const c = this.machine.costs;
    const crossing = c.crossSocketOccupancyPs;
    return crossing !== null && cls >= HOP1 ? Math.max(crossing, c.occupancyPs[cls]) : c.occupancyPs[cls];
  }

  /** Sends an invalidation to a sharer. */
  private invalidate(sharer: number, line: number, sharerRequest: number): void {
    const leg = this.machine.costs.legPs[this.machine.topology.nodeDistance(sharer, this.node)];
    this.send(leg, sharer, EV_LINE_INVALIDATE, line, sharerRequest, 0, 0);
  }

  private send(delayPs: number, target: number, type: number, a0: number, a1: number, a2: number, a3: number): void {
    this.engine.send(delayPs, PRIO_COHERENCE, this.entity, target, type, a0, a1, a2, a3);
  }
}

function clearSharers(e: DirectoryEntry): void {
  e.sharers.length = 0;
  e.sharerRequests.length = 0;
}

/** Where `cpu`'s request is, or would go, in a waiting list kept in CPU order (entry index). */
function waitingIndex(w: number[], cpu: number): number {
  let lo = 0;
  let hi = w.length / WAIT_FIELDS;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (w[mid * WAIT_FIELDS] < cpu) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
