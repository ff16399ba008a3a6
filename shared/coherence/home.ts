import type { Engine } from "../engine/engine.ts";
import { DIE } from "../machine/distance.ts";
import type { Machine } from "../machine/machine.ts";
import type { MeasuredWindow } from "../kernel/cpu.ts";
import { EV_LINE_DATA, EV_LINE_INVALIDATE, EV_LINE_RECALL, PRIO_COHERENCE, READ, recallCode, WRITE } from "./protocol.ts";
import { sourceCode, SOURCE_DRAM_LOCAL, SOURCE_DRAM_REMOTE } from "./source.ts";

/** The directory's record of one line. */
interface DirectoryEntry {
  /** The CPU holding the token (the Modified copy, or the forwarding Shared copy); -1 = memory. */
  holder: number;
  /** Whether the holder's copy is exclusive (no sharers). */
  exclusive: boolean;
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
 * fetched acting as the forwarder (as MESIF's F state). It serialises the requests of each line
 * in the engine's total order: a request waits until the line is free, then the transfer keeps
 * the line busy for its occupancy and reaches the requester after its latency.
 *
 * - A line fetched from memory while nobody caches it is Exclusive: the CPU may write it at once,
 *   silently (E -> M needs no message, so the directory cannot tell E from M and keeps one
 *   "exclusive" flag for both).
 * - A CPU with a Shared copy that writes upgrades (S -> M): its copy is current (any write since
 *   it was fetched would have invalidated it), so the home invalidates the other copies and grants
 *   ownership without moving the data.
 * - A read of a line another CPU owns moves a copy (the published load latency); a write or atomic
 *   moves ownership (the published atomic latency) and invalidates every other copy.
 *
 * A requester waits, from sending its request to receiving the data, the published latency of its
 * distance class to the holder, plus, under a directory protocol, the directory's indirection (see
 * indirectionPs); but never less than the messages the simulation needs: request leg + recall leg
 * + the holder's data hop (at least the transfer's occupancy).
 */
export class HomeNode {
  readonly node: number;
  readonly entity: number;
  readonly stats: HomeStats;
  private readonly lines = new Map<number, DirectoryEntry>();
  private readonly engine: Engine;
  private readonly machine: Machine;
  private readonly window: MeasuredWindow;

  constructor(node: number, entity: number, engine: Engine, machine: Machine, window: MeasuredWindow) {
    this.node = node;
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
    this.lines.set(line, { holder: -1, exclusive: false, sharers: [], sharerRequests: [], busyUntilPs: 0, value, holderRequest: 0 });
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

  request(line: number, requester: number, kind: number, requestNumber: number): void {
    const now = this.engine.nowPs;
    let e = this.lines.get(line);
    if (e === undefined) {
      e = { holder: -1, exclusive: false, sharers: [], sharerRequests: [], busyUntilPs: 0, value: 0, holderRequest: 0 };
      this.lines.set(line, e);
    }
    const topo = this.machine.topology;
    const c = this.machine.costs;
    const counted = now >= this.window.warmupPs && now < this.window.durationPs;
    const legD = c.legPs[topo.nodeDistance(requester, this.node)];
    const start = now > e.busyUntilPs ? now : e.busyUntilPs;
    if (counted) this.stats.queueWaitPs += start - now;
    let grantAt: number;
    let occupancy: number;

    if (e.holder === -1) {
      const dist = topo.nodeDistance(requester, this.node);
      grantAt = start + Math.max(c.dramPs[dist] - legD, legD);
      occupancy = c.legPs[dist];
      const source = dist === DIE ? SOURCE_DRAM_LOCAL : SOURCE_DRAM_REMOTE;
      if (counted) {
        if (dist === DIE) this.stats.dramLocal++;
        else this.stats.dramRemote++;
      }
      // Nobody caches the line: the requester's copy is Exclusive (E), whatever it asked for.
      this.send(grantAt - now, requester, EV_LINE_DATA, line, e.value, WRITE, sourceCode(source, false));
      e.holder = requester;
      e.exclusive = true;
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
        this.invalidate(start - now, s, line, sharerRequest);
        invalidated++;
      };
      for (let i = 0; i < e.sharers.length; i++) if (e.sharers[i] !== requester) invalidate(e.sharers[i], e.sharerRequests[i]);
      if (e.holder !== requester) invalidate(e.holder, e.holderRequest);
      if (counted) {
        this.stats.upgrades++;
        this.stats.invalidations += invalidated;
      }
      occupancy = c.occupancyPs[farthest];
      grantAt = start + Math.max(latency - legD, legD);
      this.send(grantAt - now, requester, EV_LINE_DATA, line, 0, kind, sourceCode(farthest, true));
      e.holder = requester;
      e.exclusive = true;
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
        e.exclusive = false;
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
          this.invalidate(start - now, s, line, e.sharerRequests[i]);
          invalidated++;
        }
        if (counted) this.stats.invalidations += invalidated;
        e.exclusive = true;
        clearSharers(e);
      }
      occupancy = c.occupancyPs[occClass];
      const legH = c.legPs[topo.nodeDistance(holder, this.node)];
      grantAt = start + Math.max(latency - legD, legH + c.occupancyPs[dist]);
      if (counted) this.stats.transfersByClass[dist]++;
      // The holder forwards the data itself, to arrive at grantAt (see CpuCache.onRecall).
      this.send(start - now + legH, holder, EV_LINE_RECALL, line, requester, recallCode(kind, e.holderRequest), grantAt);
      e.holder = requester;
    }
    e.holderRequest = requestNumber;
    e.busyUntilPs = start + occupancy;
  }

  /** Sends an invalidation, leaving the directory `afterPs` from now, to a sharer. */
  private invalidate(afterPs: number, sharer: number, line: number, sharerRequest: number): void {
    const leg = this.machine.costs.legPs[this.machine.topology.nodeDistance(sharer, this.node)];
    this.send(afterPs + leg, sharer, EV_LINE_INVALIDATE, line, sharerRequest, 0, 0);
  }

  private send(delayPs: number, target: number, type: number, a0: number, a1: number, a2: number, a3: number): void {
    this.engine.send(delayPs, PRIO_COHERENCE, this.entity, target, type, a0, a1, a2, a3);
  }
}

function clearSharers(e: DirectoryEntry): void {
  e.sharers.length = 0;
  e.sharerRequests.length = 0;
}
