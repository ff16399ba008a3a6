/**
 * Per-container variables as a layout (issue 12, item 1). The API, for schemes, the kernel and
 * the workload driver:
 *
 * - A spec's `vars` section (shared/spec/spec.ts) resolves to a VarsConfig: the layout
 *   (layout.ts: native, scattered, packed or percpu), `padded`, and the variables
 *   (variables.ts: read-mostly, written counters, per-CPU copies).
 * - The kernel builds one ContainerVars per run (`k.vars`) with the scheme's VarHome: where the
 *   scheme's per-container variables can live (a container object, the namespace structures, or
 *   plain globals). The layout, not the scheme, decides which objects hold which variables:
 *   `holds(obj)` / `init()` write a new holder's shared lines when it is created.
 * - Scheme.access writes the scheme's own pointer chase (the task's pointer line, its bundle or
 *   container line) and returns VarRoots (the container it reached, the task's namespaces);
 *   `access()` then writes the variables' accesses: one pointer chase (the structure's first
 *   line) per namespace structure in the scattered layout, the area's lines in the packed one,
 *   and each written variable's increment (an atomic on a shared word, a plain add on a per-CPU
 *   copy).
 * - `lineHome()` gives a variable line's home node; line identifiers are in lines.ts.
 * - The metrics count the lines an access operation touches and where each came from
 *   (RunResult.access, shared/report.ts).
 *
 * Nothing here knows a scheme by name; everything is a pure function of the configuration, the
 * objects and the CPU, so every partition of a distributed run computes the same lines.
 */
import { RMW_ATOMIC_ADD, RMW_NONE, RMW_PLAIN_ADD, RMW_SET } from "../coherence/protocol.ts";
import { OBJ_CONTAINER, OBJ_GLOBAL, OBJ_NAMESPACE, type KObject } from "../kernel/objects.ts";
import type { StepWriter } from "../kernel/program.ts";
import { layOutRegion, placementLines, type ConcreteLayout, type Region, type VarLayoutName } from "./layout.ts";
import { areaLine, isVarLine, unitLine, varLineOwner } from "./lines.ts";
import type { VarDecl } from "./variables.ts";

export { VAR_LAYOUTS, type VarLayoutName } from "./layout.ts";
export { DEFAULT_VARIABLES, LINE_BYTES, VAR_CLASSES, type VarClass, type VarDecl } from "./variables.ts";

/** A run's variables: layout, padding, and every variable with its namespace kind resolved. */
export interface VarsConfig {
  layout: VarLayoutName;
  padded: boolean;
  variables: Array<VarDecl & { namespace: string }>;
}

/**
 * Where a scheme's per-container variables can live: in its container object (the container
 * schemes; natively packed there), in the namespace structures (the clone model; natively
 * scattered), or as globals (no virtualization).
 */
export type VarHome = "container" | "namespaces" | "global";

/** What a scheme's pointer chase reached: the container object (or -1) and the task's namespaces by kind. */
export interface VarRoots {
  container: number;
  namespaces: readonly number[];
}

/** What the variables ask of the kernel. */
export interface VarsHost {
  readonly currentCpu: number;
  readonly globalObject: number;
  readLine(obj: number): number;
}

export class ContainerVars {
  readonly layout: ConcreteLayout;
  readonly padded: boolean;
  readonly decls: ReadonlyArray<VarDecl & { namespace: string }>;
  /** scattered: one region per namespace kind; otherwise one region ([0]). */
  readonly regions: Region[];
  /** The region of the global object (all variables, no pointer chase). */
  readonly globalRegion: Region;
  /** Area lines per object (the largest region's), and unit lines per object and CPU. */
  readonly stride: number;
  readonly slotLines: number;
  private readonly kindOf: number[];

  constructor(
    config: VarsConfig,
    private readonly kinds: readonly string[],
    private readonly varKind: number,
    private readonly home: VarHome,
    private readonly cpuCount: number,
  ) {
    this.layout = config.layout === "native" ? (home === "namespaces" ? "scattered" : "packed") : config.layout;
    this.padded = config.padded;
    this.decls = config.variables;
    this.kindOf = config.variables.map((v) => kinds.indexOf(v.namespace));
    const all = config.variables.map((_, i) => i);
    const flat: ConcreteLayout = this.layout === "scattered" ? "packed" : this.layout;
    this.globalRegion = layOutRegion(this.decls, all, flat, this.padded, cpuCount);
    if (this.layout === "scattered") {
      this.regions = kinds.map((_, kind) => layOutRegion(this.decls, all.filter((v) => this.kindOf[v] === kind), "scattered", this.padded, cpuCount));
    } else {
      this.regions = [layOutRegion(this.decls, all, this.layout, this.padded, cpuCount)];
    }
    const regions = [...this.regions, this.globalRegion];
    this.stride = Math.max(1, ...regions.map((r) => r.areaLines));
    this.slotLines = Math.max(1, ...regions.map((r) => r.unitLines));
  }

  /** The region an object holds, or null. */
  regionOf(o: KObject): Region | null {
    if (o.type === OBJ_GLOBAL) return this.globalRegion;
    if (this.layout === "scattered") return o.type === OBJ_NAMESPACE ? this.regions[o.nsKind] : null;
    if (this.home === "container") return o.type === OBJ_CONTAINER ? this.regions[0] : null;
    if (this.home === "namespaces") return o.type === OBJ_NAMESPACE && o.nsKind === this.varKind ? this.regions[0] : null;
    return null;
  }

  /**
   * Writes the shared lines of a new object's variables beyond its line 0 (which every object
   * writes). Per-CPU copies are not written: their first use fetches them from memory.
   */
  init(w: StepWriter, o: KObject): void {
    const r = this.regionOf(o);
    if (r === null) return;
    for (let i = 1; i < r.sharedLines; i++) w.access(areaLine(o.id, i, this.stride), RMW_SET, 0);
  }

  /** Writes an access: reads of `reads`, one increment of each of `writes` (variable indices). */
  access(k: VarsHost, w: StepWriter, roots: VarRoots, reads: readonly number[], writes: readonly number[]): void {
    if (reads.length === 0 && writes.length === 0) return;
    if (roots.namespaces.length === 0) {
      this.emit(k, w, k.globalObject, this.globalRegion, reads, writes);
      return;
    }
    if (this.layout === "scattered") {
      for (let kind = 0; kind < this.kinds.length; kind++) {
        const r = reads.filter((v) => this.kindOf[v] === kind);
        const wr = writes.filter((v) => this.kindOf[v] === kind);
        if (r.length === 0 && wr.length === 0) continue;
        const ns = roots.namespaces[kind];
        w.access(k.readLine(ns), RMW_NONE);
        this.emit(k, w, ns, this.regions[kind], r, wr);
      }
      return;
    }
    if (this.home === "container") {
      this.emit(k, w, roots.container, this.regions[0], reads, writes);
      return;
    }
    const ns = roots.namespaces[this.varKind];
    w.access(k.readLine(ns), RMW_NONE);
    this.emit(k, w, ns, this.regions[0], reads, writes);
  }

  /** The accesses to one structure's variables, line by line: its reads, then its increments. */
  private emit(k: VarsHost, w: StepWriter, owner: number, region: Region, reads: readonly number[], writes: readonly number[]): void {
    const cpu = k.currentCpu;
    const lines = new Map<number, { order: number; read: boolean; writes: number; plain: boolean }>();
    const touch = (v: number, write: boolean) => {
      const p = region.placements.get(v);
      if (p === undefined) throw new Error(`variable ${this.decls[v].name} is not in this structure`);
      const span = placementLines(region, p, cpu);
      for (let i = span.first; i <= span.last; i++) {
        const line = span.unit ? unitLine(owner, cpu, i, this.cpuCount, this.slotLines) : areaLine(owner, i, this.stride);
        let e = lines.get(line);
        if (e === undefined) {
          e = { order: span.unit ? region.areaLines + i : i, read: false, writes: 0, plain: p.perCpu };
          lines.set(line, e);
        }
        if (write) {
          // A counter spanning lines is written once, on its first line.
          if (i === span.first) e.writes++;
        } else e.read = true;
      }
    };
    for (const v of reads) touch(v, false);
    for (const v of writes) touch(v, true);
    const ordered = [...lines].sort((a, b) => a[1].order - b[1].order);
    for (const [line, e] of ordered) {
      if (e.read) w.access(line, RMW_NONE);
      for (let n = 0; n < e.writes; n++) w.access(line, e.plain ? RMW_PLAIN_ADD : RMW_ATOMIC_ADD, 1);
    }
  }

  /** The home node of a variable line (isVarLine holds). */
  lineHome(line: number, objectHome: (obj: number) => number, cpuNode: (cpu: number) => number): number {
    const owner = varLineOwner(line, this.cpuCount, this.stride, this.slotLines);
    return owner.cpu >= 0 ? cpuNode(owner.cpu) : objectHome(owner.obj);
  }
}

export { isVarLine };
