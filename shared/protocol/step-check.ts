/**
 * Hand-written checks of the tasks and objects that travel with a step message's batch (as
 * JSON inside the binary frame, step-codec.ts), equal to their schemas in messages.ts but
 * without copying: the step message crosses the wire every window, and its check is on the
 * barrier's critical path. The fuzz suite holds the decoder to the schema's verdict. Each
 * returns null when the value is valid, else the reason, naming the field.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;

const RECORD_KEYS = new Set(["tasks", "objects"]);
const TASK_KEYS = new Set(["id", "cpu", "role", "attach", "owned", "parent", "pull", "thinkNext", "churnPhase", "churn"]);
const CHURN_KEYS = new Set(["attach", "creatorHolds"]);
const OBJECT_KEYS = new Set(["id", "type", "nsKind", "home", "holds", "counter", "createdPs", "gen"]);

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
  if (!isInt(t.parent, -1)) return `${path}.parent: expected an integer >= -1`;
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
  if (!isInt(o.gen, 0)) return `${path}.gen: expected an integer >= 0`;
  return null;
}

/**
 * Null when `doc` is the records of a step message's batch ({"tasks": [...], "objects": [...]},
 * as step-codec.ts carries them), else why not; `path` names the batch.
 */
export function checkRecords(doc: unknown, path: string): string | null {
  const at = `${path}.records`;
  if (!isObj(doc)) return `${at}: expected an object`;
  const keys = keysOf(doc, RECORD_KEYS, at);
  if (keys !== null) return keys;
  if (!Array.isArray(doc.tasks)) return `${path}.tasks: expected an array`;
  for (let i = 0; i < doc.tasks.length; i++) {
    const r = checkTask(doc.tasks[i], `${path}.tasks.${i}`);
    if (r !== null) return r;
  }
  if (!Array.isArray(doc.objects)) return `${path}.objects: expected an array`;
  for (let i = 0; i < doc.objects.length; i++) {
    const r = checkObject(doc.objects[i], `${path}.objects.${i}`);
    if (r !== null) return r;
  }
  return null;
}
