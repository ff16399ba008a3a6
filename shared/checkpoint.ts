import { deserialize, serialize } from "node:v8";
import { gunzipSync, gzipSync } from "node:zlib";
import { HomeNode } from "./coherence/home.ts";
import { Engine } from "./engine/engine.ts";
import { EventQueue } from "./engine/event-queue.ts";
import { Prng } from "./engine/prng.ts";
import { Cpu } from "./kernel/cpu.ts";
import { Kernel } from "./kernel/kernel.ts";
import { ObjectTable } from "./kernel/objects.ts";
import { StepWriter } from "./kernel/program.ts";
import { SampleBuffer } from "./metrics/samples.ts";
import { Partition } from "./partition.ts";
import type { Ownership } from "./partitioning.ts";
import type { RunConfig } from "./spec/resolve.ts";
import { WorkloadDriver } from "./workloads/driver.ts";

/**
 * Checkpoints of a partition: its whole mutable state (event queue, CPUs and their caches,
 * home directories, kernel objects and tasks, programs, random streams, metrics) as bytes, and
 * back. The state is a graph of model objects; encoding walks it and records each class
 * instance by its registered class name, Maps and Sets by their entries (insertion order is
 * part of the state: it decides iteration order), typed arrays as offsets into one byte pool,
 * and shared or cyclic references once. What is the same in every process that holds the partition (the
 * run's configuration, the machine, the ownership, the scheme's functions) is not stored: it
 * is named, and rebuilt on restore from the configuration.
 *
 * The bytes: a 16-byte header (magic "RSCK", format version, flags, the payload's length) and
 * the gzipped V8 serialization of the walked graph and the byte pool. A class this file does not know, or a
 * function that is not one of the named shared values, is an error naming where it was found:
 * such state could not be restored.
 */

export const CHECKPOINT_FORMAT = 2;
const MAGIC = 0x4b435352; // "RSCK" little-endian
const HEADER_BYTES = 16;

/** Classes whose instances a partition's state holds. */
const CLASSES: ReadonlyMap<string, { prototype: object }> = new Map<string, { prototype: object }>([
  ["Partition", Partition],
  ["Engine", Engine],
  ["EventQueue", EventQueue],
  ["Prng", Prng],
  ["Kernel", Kernel],
  ["ObjectTable", ObjectTable],
  ["StepWriter", StepWriter],
  ["WorkloadDriver", WorkloadDriver],
  ["Cpu", Cpu],
  ["HomeNode", HomeNode],
  ["SampleBuffer", SampleBuffer],
]);
const NAME_OF = new Map<object, string>([...CLASSES].map(([name, c]) => [c.prototype, name]));

/** Why a checkpoint could not be made or read. */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
}

/** Values every holder of the partition builds the same from the configuration: not stored. */
function sharedValues(p: Partition): Array<[string, unknown]> {
  return [
    ["config", p.config],
    ["machine", p.machine],
    ["ownership", p.ownership],
    ["ownsCpu", p.kernel.ownsCpu],
    ["scheme", p.kernel.scheme],
  ];
}

// Tags of the walked graph's records (keys no model object uses).
const CLASS = "\u0000c";
const FIELDS = "\u0000f";
const SHARED = "\u0000x";
const MAP = "\u0000m";
const SET = "\u0000s";
const TYPED = "\u0000t";

/** Typed array classes by their code in a checkpoint. */
const TYPED_ARRAYS = [Float64Array, Float32Array, Int32Array, Uint32Array, Int16Array, Uint16Array, Int8Array, Uint8Array, Uint8ClampedArray, BigInt64Array, BigUint64Array] as const;
type AnyTyped = InstanceType<(typeof TYPED_ARRAYS)[number]>;

/**
 * The bytes of every typed array of a checkpoint, one after another (8-byte aligned): V8
 * serializes each typed array on its own slowly, one pool at once quickly.
 */
class BytePool {
  private readonly views: AnyTyped[] = [];
  private size = 0;

  /** Adds a typed array's bytes; returns their offset in the pool. */
  add(v: AnyTyped): number {
    const at = this.size;
    this.views.push(v);
    this.size += (v.byteLength + 7) & ~7;
    return at;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const v of this.views) {
      out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
      at += (v.byteLength + 7) & ~7;
    }
    return out;
  }
}

type Walked = unknown;

function encodeGraph(root: Partition, pool: BytePool): Walked {
  const shared = new Map<unknown, string>(sharedValues(root).map(([name, v]) => [v, name]));
  const seen = new Map<object, Walked>();
  /** The keys from the root to the value being walked: named only when something fails. */
  const keys: string[] = [];
  const where = () => ["partition", ...keys].join(".");
  const walk = (v: unknown): Walked => {
    if (typeof v === "function") {
      const name = shared.get(v);
      if (name === undefined) throw new CheckpointError(`cannot checkpoint the function ${v.name || "(anonymous)"} at ${where()}`);
      return { [SHARED]: name };
    }
    if (v === null || typeof v !== "object") return v;
    const done = seen.get(v);
    if (done !== undefined) return done;
    const name = shared.get(v);
    if (name !== undefined) {
      const rec = { [SHARED]: name };
      seen.set(v, rec);
      return rec;
    }
    if (ArrayBuffer.isView(v)) {
      const type = TYPED_ARRAYS.findIndex((t) => v instanceof t);
      // A view of part of a buffer may share it with another view: a copy would not.
      if (type < 0 || v.byteOffset !== 0 || v.byteLength !== v.buffer.byteLength) throw new CheckpointError(`cannot checkpoint the ${v.constructor.name} at ${where()} (a view of part of a buffer)`);
      const t = v as AnyTyped;
      const rec = { [TYPED]: [type, pool.add(t), t.length] };
      seen.set(v, rec);
      return rec;
    }
    if (Array.isArray(v)) {
      const out: Walked[] = new Array(v.length);
      seen.set(v, out);
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        out[i] = x === null || typeof x !== "object" ? x : walk(x);
      }
      return out;
    }
    if (v instanceof Map) {
      const entries: Walked[] = [];
      const rec = { [MAP]: entries };
      seen.set(v, rec);
      for (const [k, x] of v) entries.push(walk(k), walk(x));
      return rec;
    }
    if (v instanceof Set) {
      const items: Walked[] = [];
      const rec = { [SET]: items };
      seen.set(v, rec);
      for (const x of v) items.push(walk(x));
      return rec;
    }
    const proto = Object.getPrototypeOf(v) as object | null;
    const fields: Record<string, Walked> = {};
    let rec: Walked = fields;
    if (proto !== Object.prototype && proto !== null) {
      const cls = NAME_OF.get(proto);
      if (cls === undefined) throw new CheckpointError(`cannot checkpoint an instance of ${(proto as { constructor?: { name?: string } }).constructor?.name ?? "?"} at ${where()}`);
      rec = { [CLASS]: cls, [FIELDS]: fields };
    }
    seen.set(v, rec);
    for (const key in v) {
      if (key.charCodeAt(0) === 0) throw new CheckpointError(`cannot checkpoint the field ${JSON.stringify(key)} at ${where()}`);
      const x = (v as Record<string, unknown>)[key];
      if (x === null || typeof x !== "object") {
        if (typeof x !== "function") {
          fields[key] = x;
          continue;
        }
      }
      keys.push(key);
      fields[key] = walk(x);
      keys.pop();
    }
    return rec;
  };
  return walk(root);
}

function decodeGraph(tree: Walked, shared: ReadonlyMap<string, unknown>, pool: Uint8Array): unknown {
  const done = new Map<object, unknown>();
  const revive = (v: Walked): unknown => {
    if (v === null || typeof v !== "object") return v;
    const hit = done.get(v);
    if (hit !== undefined) return hit;
    if (Array.isArray(v)) {
      done.set(v, v);
      for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
      return v;
    }
    const r = v as Record<string, Walked>;
    if (TYPED in r) {
      const [type, at, length] = r[TYPED] as [number, number, number];
      const T = TYPED_ARRAYS[type];
      const bytes = T === undefined ? -1 : length * T.BYTES_PER_ELEMENT;
      if (T === undefined || !(at >= 0 && bytes >= 0 && at + bytes <= pool.byteLength)) throw new CheckpointError("the checkpoint's typed arrays do not fit its byte pool");
      const out = new T(pool.slice(at, at + bytes).buffer as ArrayBuffer);
      done.set(v, out);
      return out;
    }
    if (SHARED in r) {
      const name = r[SHARED] as string;
      if (!shared.has(name)) throw new CheckpointError(`the checkpoint refers to an unknown shared value ${JSON.stringify(name)}`);
      const out = shared.get(name);
      done.set(v, out);
      return out;
    }
    if (MAP in r) {
      const out = new Map();
      done.set(v, out);
      const e = r[MAP] as Walked[];
      for (let i = 0; i < e.length; i += 2) out.set(revive(e[i]), revive(e[i + 1]));
      return out;
    }
    if (SET in r) {
      const out = new Set();
      done.set(v, out);
      for (const x of r[SET] as Walked[]) out.add(revive(x));
      return out;
    }
    let out: Record<string, unknown> = r;
    let fields: Record<string, Walked> = r;
    if (CLASS in r) {
      const cls = CLASSES.get(r[CLASS] as string);
      if (cls === undefined) throw new CheckpointError(`the checkpoint holds an unknown class ${JSON.stringify(r[CLASS])}`);
      out = Object.create(cls.prototype) as Record<string, unknown>;
      fields = r[FIELDS] as Record<string, Walked>;
    }
    done.set(v, out);
    for (const key of Object.keys(fields)) out[key] = revive(fields[key]);
    return out;
  };
  return revive(tree);
}

/** A partition's state as checkpoint bytes. */
export function encodeCheckpoint(p: Partition): Uint8Array {
  const pool = new BytePool();
  const graph = encodeGraph(p, pool);
  const body = gzipSync(serialize([graph, pool.bytes()]), { level: 1 });
  const out = new Uint8Array(HEADER_BYTES + body.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, CHECKPOINT_FORMAT, true);
  view.setUint32(8, 0, true);
  view.setUint32(12, body.byteLength, true);
  out.set(body, HEADER_BYTES);
  return out;
}

/**
 * Rebuilds a partition from checkpoint bytes. `config`, `ownership` and `index` must be those
 * the partition was built with: the values they determine are built afresh, not stored, or
 * taken from `template`, a partition built from them (only read).
 */
export function decodeCheckpoint(bytes: Uint8Array, config: RunConfig, ownership: Ownership, index: number, template?: Partition): Partition {
  if (bytes.byteLength < HEADER_BYTES) throw new CheckpointError(`a checkpoint of ${bytes.byteLength} bytes is too short for its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new CheckpointError("not a refsim checkpoint (bad magic)");
  const format = view.getUint32(4, true);
  if (format !== CHECKPOINT_FORMAT) throw new CheckpointError(`checkpoint format ${format} is not this version's ${CHECKPOINT_FORMAT}`);
  const length = view.getUint32(12, true);
  if (length !== bytes.byteLength - HEADER_BYTES) throw new CheckpointError(`checkpoint is truncated: ${bytes.byteLength - HEADER_BYTES} of ${length} payload bytes`);
  let tree: Walked;
  let pool: Uint8Array;
  try {
    [tree, pool] = deserialize(gunzipSync(bytes.subarray(HEADER_BYTES))) as [Walked, Uint8Array];
    if (!(pool instanceof Uint8Array)) throw new Error("no byte pool");
  } catch (e) {
    throw new CheckpointError(`checkpoint payload is corrupt: ${(e as Error).message}`);
  }
  // A fresh partition supplies the shared values (its constructor is the only place they are built).
  const fresh = template ?? new Partition(config, ownership, index);
  const p = decodeGraph(tree, new Map(sharedValues(fresh)), pool);
  if (!(p instanceof Partition) || p.index !== index) throw new CheckpointError(`the checkpoint is not partition ${index}'s`);
  return p;
}
