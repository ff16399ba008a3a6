/**
 * What a CPU executes for one operation: a list of steps, each plain data (so a program can
 * be saved in a checkpoint or shipped to another worker). A step's result may make the kernel
 * insert more steps right after it (e.g. a put that reached zero inserts the free path).
 */
export const STEP_COMPUTE = 0;
export const STEP_ACCESS = 1;
export const STEP_ACTION = 2;
/** A load repeated until the value meets a condition (a spinning lock waiter, see locks/). */
export const STEP_SPIN = 3;
/**
 * The program leaves its CPU (schedule() in a sleeping lock or a wait for RCU): the kernel keeps
 * it until a wake-up for its task arrives, and the CPU runs other work or idles meanwhile.
 */
export const STEP_SLEEP = 4;

export interface Step {
  kind: number;
  /** STEP_COMPUTE: the CPU time it takes, in picoseconds. */
  ps: number;
  /**
   * STEP_ACCESS: the line, the RMW code (protocol.ts) and its argument. STEP_SPIN: the line,
   * the wait condition (locks/lock-word.ts) in `rmw` and its argument; the access is a load.
   */
  line: number;
  rmw: number;
  arg: number;
  /** A code the kernel receives with the access result (0 = none), or the action's code. */
  tag: number;
  /** The kernel object the step concerns, or -1. */
  obj: number;
}

/**
 * Operation kinds, for metrics. KWORK is kernel background work (RCU callbacks, epoch flushes);
 * WORK is a task's own user-space work and think time. Neither counts as an operation.
 */
export const OP_KINDS = [
  "fork",
  "exit",
  "migrate",
  "unshare",
  "setns",
  "access",
  "container-create",
  "container-destroy",
  "hot-inc",
  "kwork",
  "work",
  "get-put",
] as const;
export type OpKindName = (typeof OP_KINDS)[number];
export const OP_FORK = 0;
export const OP_EXIT = 1;
export const OP_MIGRATE = 2;
export const OP_UNSHARE = 3;
export const OP_SETNS = 4;
export const OP_ACCESS = 5;
export const OP_CONTAINER_CREATE = 6;
export const OP_CONTAINER_DESTROY = 7;
export const OP_HOT_INC = 8;
export const OP_KWORK = 9;
export const OP_WORK = 10;
export const OP_GET_PUT = 11;
/** Whether an operation kind counts towards throughput. */
export function isCountedOp(op: number): boolean {
  return op !== OP_KWORK && op !== OP_WORK;
}
export const OP_KIND_COUNT = OP_KINDS.length;

export interface Program {
  op: number;
  /** The task running it, or -1 for kernel work. */
  taskId: number;
  startPs: number;
  steps: Step[];
  pc: number;
  /** Working storage for multi-step algorithms (e.g. the sum over CPUs of a per-CPU count). */
  scratch: number;
}

/** Appends steps to a list; schemes describe their work through it. */
export class StepWriter {
  steps: Step[];
  constructor(steps: Step[] = []) {
    this.steps = steps;
  }
  compute(ps: number): this {
    if (ps > 0) this.steps.push({ kind: STEP_COMPUTE, ps, line: 0, rmw: 0, arg: 0, tag: 0, obj: -1 });
    return this;
  }
  access(line: number, rmw: number, arg = 0, tag = 0, obj = -1): this {
    this.steps.push({ kind: STEP_ACCESS, ps: 0, line, rmw, arg, tag, obj });
    return this;
  }
  /** Loads `line` until `condition` holds for its value; the result is that value. */
  spin(line: number, condition: number, arg = 0, tag = 0, obj = -1): this {
    this.steps.push({ kind: STEP_SPIN, ps: 0, line, rmw: condition, arg, tag, obj });
    return this;
  }
  /** Leaves the CPU until the program's task is woken (see STEP_SLEEP). */
  sleep(): this {
    this.steps.push({ kind: STEP_SLEEP, ps: 0, line: 0, rmw: 0, arg: 0, tag: 0, obj: -1 });
    return this;
  }
  action(tag: number, obj = -1, arg = 0): this {
    this.steps.push({ kind: STEP_ACTION, ps: 0, line: 0, rmw: 0, arg, tag, obj });
    return this;
  }
}

/** `steps` with `more` inserted at `at` (no spread of arguments: `more` may hold thousands of steps). */
export function insertSteps(steps: Step[], at: number, more: Step[]): Step[] {
  if (more.length < 1024) {
    steps.splice(at, 0, ...more);
    return steps;
  }
  return steps.slice(0, at).concat(more, steps.slice(at));
}
