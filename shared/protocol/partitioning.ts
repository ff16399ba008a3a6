import type { Machine } from "../machine/machine.ts";

/**
 * Which process holds each entity of a run: cpuOwner[cpu] and nodeOwner[node] are partition
 * indices in [0, partitions). A home node goes with the CPUs of its die whenever possible.
 */
export interface Ownership {
  partitions: number;
  cpuOwner: Int32Array;
  nodeOwner: Int32Array;
}

export class PartitionError extends Error {
  override readonly name = "PartitionError";
}

/** Everything in one partition (the embedded run). */
export function wholeMachine(machine: Machine): Ownership {
  return { partitions: 1, cpuOwner: new Int32Array(machine.cpuCount), nodeOwner: new Int32Array(machine.nodeCount) };
}

/**
 * Socket-aligned contiguous ranges: with no more workers than used sockets, each worker gets
 * whole, consecutive sockets; with more workers than sockets, the CPUs (numbered socket by
 * socket) are cut into consecutive ranges, so a socket is split only then.
 */
export function socketAligned(machine: Machine, workers: number): Ownership {
  const topo = machine.topology;
  const n = machine.cpuCount;
  if (!Number.isInteger(workers) || workers < 1) throw new PartitionError(`workers must be a positive integer, got ${workers}`);
  if (workers > n) throw new PartitionError(`${workers} workers for ${n} CPUs: each worker needs at least one CPU`);
  const cpuOwner = new Int32Array(n);
  const sockets = topo.usedSockets;
  if (workers <= sockets) {
    for (let cpu = 0; cpu < n; cpu++) cpuOwner[cpu] = Math.floor((topo.socketOf(cpu) * workers) / sockets);
  } else {
    for (let cpu = 0; cpu < n; cpu++) cpuOwner[cpu] = Math.floor((cpu * workers) / n);
  }
  return { partitions: workers, cpuOwner, nodeOwner: nodeOwnersFor(machine, cpuOwner) };
}

/**
 * An arbitrary partition from a list of owners per CPU (tests use random ones): every
 * partition must own at least one CPU. Each node goes to the owner of its first used CPU.
 */
export function fromCpuOwners(machine: Machine, owners: ArrayLike<number>, partitions: number): Ownership {
  if (owners.length !== machine.cpuCount) throw new PartitionError(`expected ${machine.cpuCount} CPU owners, got ${owners.length}`);
  const cpuOwner = Int32Array.from(owners);
  const used = new Set<number>();
  for (const o of cpuOwner) {
    if (!(o >= 0 && o < partitions)) throw new PartitionError(`owner ${o} is outside 0..${partitions - 1}`);
    used.add(o);
  }
  if (used.size !== partitions) throw new PartitionError(`only ${used.size} of ${partitions} partitions own a CPU`);
  return { partitions, cpuOwner, nodeOwner: nodeOwnersFor(machine, cpuOwner) };
}

function nodeOwnersFor(machine: Machine, cpuOwner: Int32Array): Int32Array {
  const nodeOwner = new Int32Array(machine.nodeCount).fill(-1);
  for (let cpu = 0; cpu < machine.cpuCount; cpu++) {
    const node = machine.topology.nodeOf(cpu);
    if (nodeOwner[node] === -1) nodeOwner[node] = cpuOwner[cpu];
  }
  for (let node = 0; node < nodeOwner.length; node++) if (nodeOwner[node] === -1) nodeOwner[node] = 0;
  return nodeOwner;
}

/**
 * The static lookahead: the smallest latency of any message between entities held by
 * different partitions. CPU-home messages (requests, recalls, invalidations, data from memory)
 * take at least one message leg of their distance; CPU-to-CPU messages (forwarded data, a task
 * arriving) at least the message leg and the transfer latency of theirs. Infinity for one partition.
 */
export function lookaheadPs(machine: Machine, own: Ownership): number {
  if (own.partitions === 1) return Infinity;
  const topo = machine.topology;
  const c = machine.costs;
  const n = machine.cpuCount;
  let best = Infinity;
  // CPU <-> home node.
  for (let cpu = 0; cpu < n; cpu++) {
    for (let node = 0; node < machine.nodeCount; node++) {
      if (own.nodeOwner[node] === own.cpuOwner[cpu]) continue;
      const leg = c.legPs[topo.nodeDistance(cpu, node)];
      if (leg < best) best = leg;
    }
  }
  // CPU <-> CPU: one representative per pair of distinct owners and distance class suffices,
  // but the classes are few; scan pairs with an early exit once every class was seen.
  const seen = new Set<number>();
  for (let a = 0; a < n && seen.size < 6; a++) {
    for (let b = a + 1; b < n; b++) {
      if (own.cpuOwner[a] === own.cpuOwner[b]) continue;
      const d = topo.cpuDistance(a, b);
      if (seen.has(d)) continue;
      seen.add(d);
      best = Math.min(best, c.legPs[d], c.atomicPs[d]);
    }
  }
  if (!(best >= 1)) throw new PartitionError(`lookahead must be at least 1 ps, got ${best}`);
  return best;
}
