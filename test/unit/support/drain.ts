import type { Engine } from "../../../shared/engine/engine.ts";
import { EventQueue } from "../../../shared/engine/event-queue.ts";

/** Pops every queued event: [time, type, target, a0, a1, priority, origin]. */
export function drain(engine: Engine): number[][] {
  const out: number[][] = [];
  while (engine.queue.size > 0) {
    const slot = engine.queue.pop();
    const q = engine.queue;
    const { priority, origin } = EventQueue.unpackRank(q.lastRank);
    out.push([q.lastTimePs, q.type(slot), q.target(slot), q.a0(slot), q.a1(slot), priority, origin]);
  }
  return out;
}
