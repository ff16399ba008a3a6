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
 * part of the state: it decides iteration order), typed arrays as they are, and shared or
 * cyclic references once. What is the same in every process that holds the partition (the
 * run's configuration, the machine, the ownership, the scheme's functions) is not stored: it
 * is named, and rebuilt on restore from the configuration.
 *
 * The bytes: a 16-byte header (magic "RSCK", format version, flags, the payload's length) and
 * the gzipped V8 serialization of the walked graph. A class this file does not know, or a
 * function that is not one of the named shared values, is an error naming where it was found:
 * such state could not be restored.
 */

export const CHECKPOINT_FORMAT = 1;
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

type Walked = unknown;

function encodeGraph(root: Partition): Walked {
  const shared = new Map<unknown, string>(sharedValues(root).map(([name, v]) => [v, name]));
  const seen = new Map<object, Walked>();
  const walk = (v: unknown, path: string): Walked => {
    if (typeof v === "function") {
      const name = shared.get(v);
      if (name === undefined) throw new CheckpointError(`cannot checkpoint the function ${v.name || "(anonymous)"} at ${path}`);
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
      seen.set(v, v);
      return v;
    }
    if (Array.isArray(v)) {
      const out: Walked[] = new Array(v.length);
      seen.set(v, out);
      for (let i = 0; i < v.length; i++) out[i] = walk(v[i], path);
      return out;
    }
    if (v instanceof Map) {
      const entries: Walked[] = [];
      const rec = { [MAP]: entries };
      seen.set(v, rec);
      for (const [k, x] of v) entries.push(walk(k, path), walk(x, `${path}.get(${String(k)})`));
      return rec;
    }
    if (v instanceof Set) {
      const items: Walked[] = [];
      const rec = { [SET]: items };
      seen.set(v, rec);
      for (const x of v) items.push(walk(x, path));
      return rec;
    }
    const proto = Object.getPrototypeOf(v) as object | null;
    const fields: Record<string, Walked> = {};
    let rec: Walked = fields;
    if (proto !== Object.prototype && proto !== null) {
      const cls = NAME_OF.get(proto);
      if (cls === undefined) throw new CheckpointError(`cannot checkpoint an instance of ${(proto as { constructor?: { name?: string } }).constructor?.name ?? "?"} at ${path}`);
      rec = { [CLASS]: cls, [FIELDS]: fields };
    }
    seen.set(v, rec);
    for (const key of Object.keys(v)) {
      if (key.startsWith("\u0000")) throw new CheckpointError(`cannot checkpoint the field ${JSON.stringify(key)} at ${path}`);
      fields[key] = walk((v as Record<string, unknown>)[key], `${path}.${key}`);
    }
    return rec;
  };
  return walk(root, "partition");
}

function decodeGraph(tree: Walked, shared: ReadonlyMap<string, unknown>): unknown {
  const done = new Map<object, unknown>();
  const revive = (v: Walked): unknown => {
    if (v === null || typeof v !== "object") return v;
    const hit = done.get(v);
    if (hit !== undefined) return hit;
    if (ArrayBuffer.isView(v)) {
      done.set(v, v);
      return v;
    }
    if (Array.isArray(v)) {
      done.set(v, v);
      for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
      return v;
    }
    const r = v as Record<string, Walked>;
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
  const body = gzipSync(serialize(encodeGraph(p)), { level: 1 });
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
 * the partition was built with: the values they determine are built afresh, not stored.
 */
export function decodeCheckpoint(bytes: Uint8Array, config: RunConfig, ownership: Ownership, index: number): Partition {
  if (bytes.byteLength < HEADER_BYTES) throw new CheckpointError(`a checkpoint of ${bytes.byteLength} bytes is too short for its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new CheckpointError("not a refsim checkpoint (bad magic)");
  const format = view.getUint32(4, true);
  if (format !== CHECKPOINT_FORMAT) throw new CheckpointError(`checkpoint format ${format} is not this version's ${CHECKPOINT_FORMAT}`);
  const length = view.getUint32(12, true);
  if (length !== bytes.byteLength - HEADER_BYTES) throw new CheckpointError(`checkpoint is truncated: ${bytes.byteLength - HEADER_BYTES} of ${length} payload bytes`);
  let tree: Walked;
  try {
    tree = deserialize(gunzipSync(bytes.subarray(HEADER_BYTES)));
  } catch (e) {
    throw new CheckpointError(`checkpoint payload is corrupt: ${(e as Error).message}`);
  }
  // A fresh partition supplies the shared values (its constructor is the only place they are built).
  const fresh = new Partition(config, ownership, index);
  const p = decodeGraph(tree, new Map(sharedValues(fresh)));
  if (!(p instanceof Partition) || p.index !== index) throw new CheckpointError(`the checkpoint is not partition ${index}'s`);
  return p;
}
