import { RMW_ATOMIC_ADD, RMW_NONE, RMW_SET } from "../coherence/protocol.ts";
import type { Kernel, Task, TaskProgrammer } from "../kernel/kernel.ts";
import { ROLE_CHILD, ROLE_WORKER, TAG_MIGRATE, TAG_SCHEME_BEGIN, TAG_SCHEME_END, TAG_SPAWN, TAG_TASK_EXIT } from "../kernel/kernel.ts";
import { exitAfterNamespaces, exitBeforeNamespaces } from "../kernel-path/exit.ts";
import { forkAfterNamespaces, forkBeforeNamespaces } from "../kernel-path/fork.ts";
import { INITIAL_LEVELS, taskLevels } from "../kernel-path/levels.ts";
import {
  OP_ACCESS,
  OP_CONTAINER_CREATE,
  OP_CONTAINER_DESTROY,
  OP_EXIT,
  OP_FORK,
  OP_GET_PUT,
  OP_HOT_INC,
  OP_MIGRATE,
  OP_SETNS,
  OP_UNSHARE,
  OP_WORK,
  StepWriter,
  type Program,
} from "../kernel/program.ts";
import { withinNestingLimits } from "../schemes/depth.ts";
import type { Placement, ResolvedWorkload } from "./workload.ts";

const MIX_FORK = 0;
const MIX_ACCESS = 1;
const MIX_UNSHARE = 2;
const MIX_SETNS = 3;
const MIX_MIGRATE = 4;
const MIX_CHURN = 5;
const MIX_HOT_INC = 6;
const MIX_LOCAL_INC = 7;
const MIX_GET_PUT = 8;

/**
 * What tasks do. A long-lived task alternates between think time and an operation chosen by
 * weight from the workload's mix (a container cycle runs to its end once started). A forked
 * child pulls its task_struct line, works for `childWork`, and exits.
 */
export class WorkloadDriver implements TaskProgrammer {
  private readonly w: ResolvedWorkload;
  private readonly weights: number[];
  private readonly totalWeight: number;

  constructor(workload: ResolvedWorkload) {
    this.w = workload;
    const m = workload.mix;
    this.weights = [m.fork, m.access, m.unshare, m.setns, m.migrate, m.churn, m.hotInc];
    // Only when given: a workload without it keeps exactly its old weights (and random draws).
    if (m.localInc !== undefined || m.getPut !== undefined) this.weights.push(m.localInc ?? 0);
    if (m.getPut !== undefined) this.weights.push(m.getPut);
    this.totalWeight = this.weights.reduce((a, b) => a + b, 0);
  }

  nextProgram(k: Kernel, cpu: number, task: Task): Program {
    const steps = new StepWriter([]);
    let op = OP_WORK;
    if (task.pull) {
      // The first run after a cross-CPU fork or a migration pulls the task_struct line over.
      task.pull = false;
      steps.access(k.threadInfoLine(task.id), RMW_SET, 0);
    }
    if (task.role === ROLE_CHILD) {
      if (!task.thinkNext) {
        task.thinkNext = true;
        steps.compute(this.w.childWorkPs);
      } else {
        op = OP_EXIT;
        const path = k.path;
        const levels = path === null ? INITIAL_LEVELS : taskLevels(k, k.scheme.namespaces(k, task.attach));
        if (path === null) steps.compute(k.costs.exitPs);
        else exitBeforeNamespaces(k, steps);
        steps.action(TAG_SCHEME_BEGIN, -1, OP_EXIT);
        k.scheme.exit(k, steps, task.attach, task.owned);
        steps.action(TAG_SCHEME_END, -1, OP_EXIT);
        if (path !== null) exitAfterNamespaces(k, steps, path, task, levels);
        steps.action(TAG_TASK_EXIT, task.id);
      }
    } else if (task.thinkNext && this.w.thinkPs > 0 && task.churnPhase === 0) {
      task.thinkNext = false;
      steps.compute(this.w.thinkPs);
    } else {
      task.thinkNext = true;
      op = this.operation(k, cpu, task, steps);
    }
    if (steps.steps.length === 0) steps.compute(1);
    return { op, taskId: task.id, startPs: 0, steps: steps.steps, pc: 0, scratch: 0 };
  }

  private operation(k: Kernel, cpu: number, task: Task, w: StepWriter): number {
    if (task.churnPhase > 0) return this.churnStep(k, cpu, task, w);
    const prng = k.perCpu[cpu].prng;
    switch (prng.pickWeighted(this.weights, this.totalWeight)) {
      case MIX_FORK:
        this.fork(k, cpu, task, task.attach, this.w.forkNewKinds, w);
        return OP_FORK;
      case MIX_ACCESS:
        w.compute(k.costs.accessPs);
        k.vars.access(k, w, k.scheme.access(k, w, task.attach, task.id), this.w.accessReads, this.w.accessWrites);
        return OP_ACCESS;
      case MIX_UNSHARE: {
        w.compute(k.costs.unsharePs);
        // Past a nesting limit unshare fails (-ENOSPC) and the task keeps what it had.
        if (!withinNestingLimits(k, k.scheme.namespaces(k, task.attach), this.w.unshareKinds)) return OP_UNSHARE;
        const next = k.scheme.unshare(k, w, task.attach, this.w.unshareKinds, task.owned);
        task.attach = next.attach;
        task.owned = next.owned;
        return OP_UNSHARE;
      }
      case MIX_SETNS: {
        w.compute(k.costs.setnsPs);
        const target = k.containers[prng.nextInt(k.containers.length)];
        const next = k.scheme.setns(k, w, task.attach, this.w.setnsKind, target.attach, task.owned);
        task.attach = next.attach;
        task.owned = next.owned;
        return OP_SETNS;
      }
      case MIX_MIGRATE: {
        w.compute(k.costs.migratePs);
        const dst = this.pickCpu(k, cpu, this.w.migrateScope === "socket" ? "same-socket" : "random");
        w.action(TAG_MIGRATE, task.id, dst);
        return OP_MIGRATE;
      }
      case MIX_CHURN:
        task.churnPhase = 1;
        return this.churnStep(k, cpu, task, w);
      case MIX_HOT_INC:
        w.access(k.countLine(k.globalObject), RMW_ATOMIC_ADD, 1);
        return OP_HOT_INC;
      case MIX_LOCAL_INC:
        // Counted as a hot-inc operation: the same increment, on a line nobody else touches.
        w.access(k.perCpuLine(k.globalObject, cpu), RMW_ATOMIC_ADD, 1);
        return OP_HOT_INC;
      case MIX_GET_PUT: {
        // RadixVM's reference-counting benchmark (Clements et al., EuroSys 2013): get and put on
        // one shared object. Under `none` there is no count: a load of the task's own line.
        const obj = task.attach[0];
        if (obj === undefined) w.access(k.threadInfoLine(task.id), RMW_NONE, 0);
        else {
          k.get(w, obj);
          k.put(w, obj);
        }
        return OP_GET_PUT;
      }
      default:
        throw new Error("unreachable");
    }
  }

  /** A container cycle: phase 1 creates it, 2..N+1 fork children into it, N+2 destroys it. */
  private churnStep(k: Kernel, cpu: number, task: Task, w: StepWriter): number {
    const phase = task.churnPhase;
    if (phase === 1) {
      w.compute(k.costs.containerCreatePs);
      task.churn = k.scheme.createContainer(k, w, null);
      task.churnPhase = 2;
      return OP_CONTAINER_CREATE;
    }
    const c = task.churn;
    if (c === null) throw new Error("container cycle without a container");
    if (phase <= this.w.churnTasks + 1) {
      this.fork(k, cpu, task, c.attach, 0, w);
      task.churnPhase++;
      return OP_FORK;
    }
    w.compute(k.costs.containerDestroyPs);
    k.scheme.destroyContainer(k, w, c);
    task.churn = null;
    task.churnPhase = 0;
    return OP_CONTAINER_DESTROY;
  }

  /**
   * A fork by `parent` into `parentAttach`: the fixed cost (or the kernel path around the
   * namespaces), the scheme's own steps between markers that time them, and the wake-up.
   */
  private fork(k: Kernel, cpu: number, parent: Task, parentAttach: readonly number[], newKinds: number, w: StepWriter): void {
    const path = k.path;
    if (path === null) w.compute(k.costs.forkPs);
    // Past a nesting limit clone fails (-ENOSPC): no child (with a kernel path, its steps too are skipped).
    if (newKinds !== 0 && !withinNestingLimits(k, k.scheme.namespaces(k, parentAttach), newKinds)) return;
    const child = k.newTask(w, cpu, ROLE_CHILD, [], false);
    child.parent = parent.id;
    // The child's pid and user namespace levels: its parent's, one deeper for a CLONE_NEW* kind.
    const levels = path === null ? INITIAL_LEVELS : taskLevels(k, k.scheme.namespaces(k, parentAttach), newKinds);
    if (path !== null) forkBeforeNamespaces(k, w, path, levels);
    w.action(TAG_SCHEME_BEGIN, -1, OP_FORK);
    child.attach = k.scheme.fork(k, w, parentAttach, newKinds);
    w.action(TAG_SCHEME_END, -1, OP_FORK);
    if (path !== null) forkAfterNamespaces(k, w, path, parent, levels);
    child.owned = newKinds !== 0 && k.scheme.namespaced;
    w.action(TAG_SPAWN, child.id, this.pickCpu(k, cpu, this.w.placement));
  }

  private pickCpu(k: Kernel, cpu: number, placement: Placement): number {
    const prng = k.perCpu[cpu].prng;
    switch (placement) {
      case "same-cpu":
        return cpu;
      case "same-socket": {
        const peers = k.socketCpus[k.machine.topology.socketOf(cpu)];
        return peers[prng.nextInt(peers.length)];
      }
      case "random":
        return prng.nextInt(k.cpuCount);
      case "least-loaded": {
        // As the parent sees it: the CPU of its socket it has given the fewest children so far
        // (ties go to the next CPU after itself). Linux reads other runqueues' loads instead.
        const peers = k.socketCpus[k.machine.topology.socketOf(cpu)];
        const sent = k.perCpu[cpu].childrenSent;
        const start = peers.indexOf(cpu);
        let best = cpu;
        let bestCount = Infinity;
        for (let i = 1; i <= peers.length; i++) {
          const candidate = peers[(start + i) % peers.length];
          const n = sent.get(candidate) ?? 0;
          if (n < bestCount) {
            best = candidate;
            bestCount = n;
          }
        }
        sent.set(best, bestCount + 1);
        return best;
      }
    }
  }
}

export { ROLE_WORKER };
