import { CLASS_COUNT, DIE, HOP1, HOP2, PACKAGE, SELF, SMT } from "./distance.ts";

/** How sockets are wired: which pairs are one hop apart (all others count as hop2). */
export type SocketLinks = "full" | "ring" | "hypercube" | "pairs";

export interface TopologyShape {
  sockets: number;
  diesPerSocket: number;
  coresPerDie: number;
  threadsPerCore: number;
  socketLinks: SocketLinks;
}

/**
 * The machine's hardware threads, numbered so that the first CPUs fill one socket before the
 * next, and inside a socket every core's first thread comes before any second thread (as Linux
 * enumerates physical cores before their SMT siblings). A NUMA memory node is one die.
 */
export class Topology {
  readonly shape: TopologyShape;
  readonly cpuCount: number;
  readonly nodeCount: number;
  private readonly socketOfCpu: Int32Array;
  private readonly nodeOfCpu: Int32Array;
  private readonly coreOfCpu: Int32Array;

  constructor(shape: TopologyShape, cpuCount?: number) {
    this.shape = shape;
    const total = shape.sockets * shape.diesPerSocket * shape.coresPerDie * shape.threadsPerCore;
    this.cpuCount = cpuCount ?? total;
    if (this.cpuCount < 1 || this.cpuCount > total) {
      throw new RangeError(`the machine has ${total} CPUs; cannot use ${this.cpuCount}`);
    }
    this.nodeCount = shape.sockets * shape.diesPerSocket;
    this.socketOfCpu = new Int32Array(this.cpuCount);
    this.nodeOfCpu = new Int32Array(this.cpuCount);
    this.coreOfCpu = new Int32Array(this.cpuCount);
    const perSocket = shape.diesPerSocket * shape.coresPerDie * shape.threadsPerCore;
    const coresPerSocket = shape.diesPerSocket * shape.coresPerDie;
    for (let cpu = 0; cpu < this.cpuCount; cpu++) {
      const socket = Math.floor(cpu / perSocket);
      const inSocket = cpu % perSocket;
      const coreInSocket = inSocket % coresPerSocket;
      const die = Math.floor(coreInSocket / shape.coresPerDie);
      this.socketOfCpu[cpu] = socket;
      this.nodeOfCpu[cpu] = socket * shape.diesPerSocket + die;
      this.coreOfCpu[cpu] = socket * coresPerSocket + coreInSocket;
    }
  }

  /** The sockets that the used CPUs touch. */
  get usedSockets(): number {
    return this.socketOfCpu[this.cpuCount - 1] + 1;
  }

  socketOf(cpu: number): number {
    return this.socketOfCpu[cpu];
  }
  nodeOf(cpu: number): number {
    return this.nodeOfCpu[cpu];
  }
  coreOf(cpu: number): number {
    return this.coreOfCpu[cpu];
  }
  socketOfNode(node: number): number {
    return Math.floor(node / this.shape.diesPerSocket);
  }

  /** Distance class between two CPUs. */
  cpuDistance(a: number, b: number): number {
    if (a === b) return SELF;
    if (this.coreOfCpu[a] === this.coreOfCpu[b]) return SMT;
    if (this.nodeOfCpu[a] === this.nodeOfCpu[b]) return DIE;
    return this.socketDistance(this.socketOfCpu[a], this.socketOfCpu[b]);
  }

  /** Distance class between a CPU and a memory node (die = the CPU's own node). */
  nodeDistance(cpu: number, node: number): number {
    if (this.nodeOfCpu[cpu] === node) return DIE;
    return this.socketDistance(this.socketOfCpu[cpu], this.socketOfNode(node));
  }

  /** Distance class between two sockets: package when equal, else hop1 or hop2. */
  socketDistance(a: number, b: number): number {
    if (a === b) return PACKAGE;
    return this.socketHops(a, b) <= 1 ? HOP1 : HOP2;
  }

  socketHops(a: number, b: number): number {
    if (a === b) return 0;
    switch (this.shape.socketLinks) {
      case "full":
        return 1;
      case "ring": {
        const n = this.shape.sockets;
        const d = Math.abs(a - b);
        return Math.min(d, n - d);
      }
      case "hypercube": {
        let x = a ^ b;
        let bits = 0;
        while (x !== 0) {
          bits += x & 1;
          x >>>= 1;
        }
        return bits;
      }
      case "pairs":
        return a >> 1 === b >> 1 ? 1 : 2;
    }
  }

  /** Which distance classes occur between any two used CPUs (for reporting and lookahead). */
  presentClasses(): boolean[] {
    const present = new Array<boolean>(CLASS_COUNT).fill(false);
    present[SELF] = true;
    const s = this.shape;
    if (s.threadsPerCore > 1 && this.cpuCount > s.diesPerSocket * s.coresPerDie) present[SMT] = true;
    if (this.cpuCount > 1) present[DIE] = true;
    if (s.diesPerSocket > 1 && this.cpuCount > s.coresPerDie) present[PACKAGE] = true;
    const sockets = this.usedSockets;
    for (let a = 0; a < sockets; a++) {
      for (let b = a + 1; b < sockets; b++) present[this.socketDistance(a, b)] = true;
    }
    return present;
  }
}

export { CLASS_COUNT, DIE, HOP1, HOP2, PACKAGE, SELF, SMT };
