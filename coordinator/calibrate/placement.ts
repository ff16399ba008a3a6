import type { CpuPlace } from "./host-shape.ts";

/**
 * Where the measuring threads go when they can be pinned (pure). Thread k runs on the host CPU
 * that is refsim's CPU k, so the measured and the simulated experiment use the same CPUs: the
 * first socket fills first, and inside a socket every core's first thread comes before any
 * second thread (Topology's numbering).
 */
export function refsimOrder(places: readonly CpuPlace[]): number[] {
  const sockets = [...new Set(places.map((p) => p.socket))].sort((a, b) => a - b);
  const order: number[] = [];
  for (const socket of sockets) {
    const here = places.filter((p) => p.socket === socket);
    const cores = [...new Set(here.map((p) => p.core))].sort((a, b) => a - b);
    const threadsOf = cores.map((core) => here.filter((p) => p.core === core).map((p) => p.cpu).sort((a, b) => a - b));
    const depth = Math.max(...threadsOf.map((t) => t.length));
    for (let t = 0; t < depth; t++) for (const threads of threadsOf) if (t < threads.length) order.push(threads[t]);
  }
  return order;
}

/** A pair of host CPUs per distance class the host has: SMT siblings, two cores of one socket, two sockets. */
export interface ClassPairs {
  smt: [number, number] | null;
  die: [number, number] | null;
  hop1: [number, number] | null;
}

export function classPairs(places: readonly CpuPlace[]): ClassPairs {
  const first = places.find((p) => p.cpu === refsimOrder(places)[0]);
  if (first === undefined) return { smt: null, die: null, hop1: null };
  const pick = (match: (p: CpuPlace) => boolean): [number, number] | null => {
    const other = places.filter((p) => p.cpu !== first.cpu && match(p)).sort((a, b) => a.cpu - b.cpu)[0];
    return other === undefined ? null : [first.cpu, other.cpu];
  };
  return {
    smt: pick((p) => p.socket === first.socket && p.core === first.core),
    die: pick((p) => p.socket === first.socket && p.core !== first.core),
    hop1: pick((p) => p.socket !== first.socket),
  };
}
