import { atomicCounter } from "./atomic-counter.ts";
import { cloneFlagsScheme } from "./clone-flags.ts";
import { econtainerScheme } from "./container.ts";
import { noneScheme } from "./none.ts";
import { nsproxyScheme } from "./nsproxy.ts";
import { openvzScheme } from "./openvz.ts";
import { percpuCounter, percpuScheme } from "./percpu.ts";
import { refcacheCounter, refcacheScheme } from "./refcache.ts";
import type { Counter, Scheme, SchemeName } from "./scheme.ts";
import { sloppyCounter, sloppyScheme } from "./sloppy.ts";
import { veCounter } from "./ve-counter.ts";

export const SCHEMES: Readonly<Record<SchemeName, Scheme>> = {
  none: noneScheme,
  "clone-flags": cloneFlagsScheme,
  container: econtainerScheme,
  openvz: openvzScheme,
  nsproxy: nsproxyScheme,
  percpu: percpuScheme,
  sloppy: sloppyScheme,
  refcache: refcacheScheme,
};

/** Counters by COUNTER_* id (index 0, COUNTER_NONE, has none). */
export const COUNTERS: ReadonlyArray<Counter | null> = [null, atomicCounter, percpuCounter, sloppyCounter, refcacheCounter, veCounter];

export { SCHEME_NAMES } from "./scheme.ts";
export type { SchemeName } from "./scheme.ts";
