import type { Kernel } from "../kernel/kernel.ts";
import { ROLE_WORKER } from "../kernel/kernel.ts";
import type { ResolvedWorkload } from "./workload.ts";

/**
 * The state at time zero: the global object, the workload's containers (each with its chain of
 * nested levels) and the long-lived tasks of every CPU, attached as if forked into their
 * container. Every process of a distributed run builds the same state.
 */
export function setUpWorkload(k: Kernel, w: ResolvedWorkload): void {
  k.setup(0, (sw) => k.createGlobal(sw));
  const n = k.cpuCount;
  const sockets = k.socketCpus.length;
  const count = w.containers.count;
  for (let i = 0; i < count; i++) {
    const homeCpu = w.containers.pinToSockets ? k.socketCpus[i % sockets][0] : Math.floor((i * n) / count) % n;
    const chain = [];
    let parent: number[] | null = null;
    for (let level = 0; level <= w.containers.nesting; level++) {
      const objects = k.setup(homeCpu, (sw) => k.scheme.createContainer(k, sw, parent));
      chain.push(objects);
      parent = objects.attach;
    }
    k.containers.push({ index: i, socket: k.machine.topology.socketOf(homeCpu), chain, attach: parent ?? [] });
  }
  for (let cpu = 0; cpu < n; cpu++) {
    const socket = k.machine.topology.socketOf(cpu);
    const local = w.containers.pinToSockets ? k.containers.filter((c) => c.socket === socket) : [];
    const candidates = local.length > 0 ? local : k.containers;
    const indexInSocket = cpu - k.socketCpus[socket][0];
    for (let j = 0; j < w.tasksPerCpu; j++) {
      const slot = w.containers.pinToSockets ? indexInSocket * w.tasksPerCpu + j : cpu * w.tasksPerCpu + j;
      const container = candidates[slot % candidates.length];
      const task = k.setup(cpu, (sw) => {
        const t = k.newTask(sw, cpu, ROLE_WORKER, [], false);
        t.attach = k.scheme.fork(k, sw, container.attach, 0);
        return t;
      });
      k.perCpu[cpu].runQueue.push(task.id);
    }
  }
}
