/**
 * A hand-written check of a step message, equal to `stepSchema` in messages.ts but without
 * copying the message: the step message crosses the wire every window, and its check is on
 * the barrier's critical path. The fuzz suite holds the two to the same verdict on every
 * generated message. Returns null when the value is a valid step message, else the reason,
 * naming the field.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;
const isNum = (v: unknown, min: number): boolean => typeof v === "number" && Number.isFinite(v) && v >= min;
const RUN_ID = /^[A-Za-z0-9_-]{8,64}$/;

const STEP_KEYS = new Set(["v", "run", "kind", "epoch", "window", "from", "nextPs", "earliestSendPs", "minSentTo", "sent", "batches", "sinceCheckpointMs", "checkpointCostMs"]);
const BATCH_KEYS = new Set(["to", "count", "events", "tasks", "objects"]);
const TASK_KEYS = new Set(["id", "cpu", "role", "attach", "owned", "pull", "thinkNext", "churnPhase", "churn"]);
const CHURN_KEYS = new Set(["attach", "creatorHolds"]);
const OBJECT_KEYS = new Set(["id", "type", "nsKind", "home", "holds", "counter", "createdPs"]);

/** Unknown keys (a strict object), or a required one missing: the first, as a reason. */
function keysOf(o: Obj, allowed: ReadonlySet<string>, path: string): string | null {
  for (const k in o) if (!allowed.has(k)) return `${path}${path === "" ? "" : "."}${k}: unknown field`;
  for (const k of allowed) if (!(k in o)) return `${path}${path === "" ? "" : "."}${k}: missing`;
  return null;
}

function intArray(v: unknown, min: number, path: string): string | null {
  if (!Array.isArray(v)) return `${path}: expected an array`;
  for (let i = 0; i < v.length; i++) if (!isInt(v[i], min)) return `${path}.${i}: expected an integer >= ${min}`;
  return null;
}

function checkTask(t: unknown, path: string): string | null {
  if (!isObj(t)) return `${path}: expected an object`;
  const keys = keysOf(t, TASK_KEYS, path);
  if (keys !== null) return keys;
  if (!isInt(t.id, 0)) return `${path}.id: expected an integer >= 0`;
  if (!isInt(t.cpu, 0)) return `${path}.cpu: expected an integer >= 0`;
  if (!isInt(t.role, 0, 1)) return `${path}.role: expected 0 or 1`;
  const attach = intArray(t.attach, 0, `${path}.attach`);
  if (attach !== null) return attach;
  for (const k of ["owned", "pull", "thinkNext"] as const) if (typeof t[k] !== "boolean") return `${path}.${k}: expected a boolean`;
  if (!isInt(t.churnPhase, 0)) return `${path}.churnPhase: expected an integer >= 0`;
  if (t.churn !== null) {
    if (!isObj(t.churn)) return `${path}.churn: expected an object or null`;
    const churnKeys = keysOf(t.churn, CHURN_KEYS, `${path}.churn`);
    if (churnKeys !== null) return churnKeys;
    return intArray(t.churn.attach, 0, `${path}.churn.attach`) ?? intArray(t.churn.creatorHolds, 0, `${path}.churn.creatorHolds`);
  }
  return null;
}

function checkObject(o: unknown, path: string): string | null {
  if (!isObj(o)) return `${path}: expected an object`;
  const keys = keysOf(o, OBJECT_KEYS, path);
  if (keys !== null) return keys;
  if (!isInt(o.id, 0)) return `${path}.id: expected an integer >= 0`;
  if (!isInt(o.type, 0, 4)) return `${path}.type: expected an integer from 0 to 4`;
  if (!isInt(o.nsKind, -1, 31)) return `${path}.nsKind: expected an integer from -1 to 31`;
  if (!isInt(o.home, 0)) return `${path}.home: expected an integer >= 0`;
  const holds = intArray(o.holds, 0, `${path}.holds`);
  if (holds !== null) return holds;
  if (!isInt(o.counter, 0, 4)) return `${path}.counter: expected an integer from 0 to 4`;
  if (!isInt(o.createdPs, 0)) return `${path}.createdPs: expected an integer >= 0`;
  return null;
}

function checkBatch(b: unknown, path: string): string | null {
  if (!isObj(b)) return `${path}: expected an object`;
  const keys = keysOf(b, BATCH_KEYS, path);
  if (keys !== null) return keys;
  if (!isInt(b.to, 0, 4095)) return `${path}.to: expected a partition from 0 to 4095`;
  if (!isInt(b.count, 0)) return `${path}.count: expected an integer >= 0`;
  if (!Array.isArray(b.events)) return `${path}.events: expected an array`;
  for (let i = 0; i < b.events.length; i++) if (typeof b.events[i] !== "number" || !Number.isFinite(b.events[i])) return `${path}.events.${i}: expected a finite number`;
  if (!Array.isArray(b.tasks)) return `${path}.tasks: expected an array`;
  for (let i = 0; i < b.tasks.length; i++) {
    const r = checkTask(b.tasks[i], `${path}.tasks.${i}`);
    if (r !== null) return r;
  }
  if (!Array.isArray(b.objects)) return `${path}.objects: expected an array`;
  for (let i = 0; i < b.objects.length; i++) {
    const r = checkObject(b.objects[i], `${path}.objects.${i}`);
    if (r !== null) return r;
  }
  return null;
}

/** Null when `m` is a valid step message of protocol `version`, else why not. */
export function checkStep(m: unknown, version: number): string | null {
  if (!isObj(m)) return "(message): expected an object";
  const keys = keysOf(m, STEP_KEYS, "");
  if (keys !== null) return keys;
  if (m.v !== version) return `v: expected ${version}`;
  if (typeof m.run !== "string" || !RUN_ID.test(m.run)) return "run: expected a run id";
  if (m.kind !== "step") return 'kind: expected "step"';
  if (!isInt(m.epoch, 0)) return "epoch: expected an integer >= 0";
  if (!isInt(m.window, 0)) return "window: expected an integer >= 0";
  if (!isInt(m.from, 0, 4095)) return "from: expected a partition from 0 to 4095";
  if (m.nextPs !== null && !isInt(m.nextPs, 0)) return "nextPs: expected an integer >= 0 or null";
  if (m.earliestSendPs !== null && !isInt(m.earliestSendPs, 0)) return "earliestSendPs: expected an integer >= 0 or null";
  if (!Array.isArray(m.minSentTo)) return "minSentTo: expected an array";
  for (let i = 0; i < m.minSentTo.length; i++) if (m.minSentTo[i] !== null && !isInt(m.minSentTo[i], 0)) return `minSentTo.${i}: expected an integer >= 0 or null`;
  const sent = intArray(m.sent, 0, "sent");
  if (sent !== null) return sent;
  if (!Array.isArray(m.batches)) return "batches: expected an array";
  for (let i = 0; i < m.batches.length; i++) {
    const r = checkBatch(m.batches[i], `batches.${i}`);
    if (r !== null) return r;
  }
  if (!isNum(m.sinceCheckpointMs, 0)) return "sinceCheckpointMs: expected a number >= 0";
  if (!isNum(m.checkpointCostMs, 0)) return "checkpointCostMs: expected a number >= 0";
  return null;
}
