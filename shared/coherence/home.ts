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
 * The directory of the lines homed on one memory node. It serialises the requests of each
 * line in the engine's total order: a request waits until the line is free, then the transfer
 * keeps the line busy for its occupancy and reaches the requester after its latency.
 *
 * A requester's latency, from sending its request to receiving the data, is the published
 * transfer latency of its distance class to the holder, but never less than the messages the
 * directory protocol needs: request leg + recall leg + the holder's data hop (>= occupancy).
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
    this.lines.set(line, { holder: -1, exclusive: false, sharers: [], busyUntilPs: 0, value, holderRequest: 0 });
  }

  request(line: number, requester: number, kind: number, requestNumber: number): void {
    const now = this.engine.nowPs;
    let e = this.lines.get(line);
    if (e === undefined) {
      e = { holder: -1, exclusive: false, sharers: [], busyUntilPs: 0, value: 0, holderRequest: 0 };
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
      // A line fetched from memory is owned exclusively (MESI's E state behaves as M here).
      this.send(grantAt - now, requester, EV_LINE_DATA, line, e.value, WRITE, sourceCode(source, false));
      e.holder = requester;
      e.exclusive = true;
      e.sharers.length = 0;
    } else if (e.holder === requester) {
      // The requester holds the forwarding Shared copy and wants to write: invalidate the rest.
      let latency = 2 * legD;
      let farthest = DIE;
      for (const s of e.sharers) {
        const d = topo.cpuDistance(s, requester);
        if (c.atomicPs[d] > latency) latency = c.atomicPs[d];
        if (d > farthest) farthest = d;
        this.send(start - now + c.legPs[topo.nodeDistance(s, this.node)], s, EV_LINE_INVALIDATE, line, 0, 0, 0);
      }
      if (counted) {
        this.stats.upgrades++;
        this.stats.invalidations += e.sharers.length;
      }
      occupancy = c.occupancyPs[farthest];
      grantAt = start + Math.max(latency - legD, legD);
      this.send(grantAt - now, requester, EV_LINE_DATA, line, 0, kind, sourceCode(farthest, true));
      e.exclusive = true;
      e.sharers.length = 0;
    } else {
      const holder = e.holder;
      const dist = topo.cpuDistance(holder, requester);
      let latency: number;
      let occClass = dist;
      if (kind === READ) {
        latency = c.readPs[dist];
        if (!e.sharers.includes(holder)) e.sharers.push(holder);
        e.exclusive = false;
      } else {
        latency = c.atomicPs[dist];
        let invalidated = 0;
        for (const s of e.sharers) {
          if (s === requester) continue;
          const d = topo.cpuDistance(s, requester);
          if (c.atomicPs[d] > latency) {
            latency = c.atomicPs[d];
            occClass = d;
          }
          this.send(start - now + c.legPs[topo.nodeDistance(s, this.node)], s, EV_LINE_INVALIDATE, line, 0, 0, 0);
          invalidated++;
        }
        if (counted) this.stats.invalidations += invalidated;
        e.exclusive = true;
        e.sharers.length = 0;
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

  private send(delayPs: number, target: number, type: number, a0: number, a1: number, a2: number, a3: number): void {
    this.engine.send(delayPs, PRIO_COHERENCE, this.entity, target, type, a0, a1, a2, a3);
  }
}
