import { KERNEL_PATH_COST_SOURCES, KERNEL_PATH_COSTS } from "../shared/kernel-path/costs.ts";
import { NETNS_COST_SOURCES, NETNS_COSTS } from "../shared/kernel-path/netns-costs.ts";
import { SLEEP_COST_SOURCES, SLEEP_COSTS } from "../shared/locks/sleep-costs.ts";
import { SLAB_SOURCES } from "../shared/slab/caches.ts";

/** `refsim presets`: the linux-6 kernel path's locked sections, each with its source. */
export function printKernelPathCosts(): void {
  console.log("\nKernel path (kernel: linux-6, the default): sections under a lock, out of costs.fork / costs.exit:");
  for (const [name, value] of Object.entries(KERNEL_PATH_COSTS)) {
    console.log(`  ${name.padEnd(22)} ${value.padStart(6)}  ${KERNEL_PATH_COST_SOURCES[name as keyof typeof KERNEL_PATH_COSTS]}`);
  }
  console.log("\nNetwork namespaces (kernel: linux-6): copy_net_ns's serialised part (a share of costs.netnsCreate) and cleanup_net on the single netns worker:");
  for (const [name, value] of Object.entries(NETNS_COSTS)) {
    console.log(`  ${name.padEnd(24)} ${value.padStart(6)}  ${NETNS_COST_SOURCES[name as keyof typeof NETNS_COSTS]}`);
  }
  console.log("\nSleeping locks (mutex, rwsem) and sleeps for RCU:");
  for (const [name, value] of Object.entries(SLEEP_COSTS)) {
    console.log(`  ${name.padEnd(24)} ${value.padStart(6)}  ${SLEEP_COST_SOURCES[name as keyof typeof SLEEP_COSTS]}`);
  }
}

/** `refsim presets`: the object memory reuse of linux-6 (shared/slab/), each figure with its source. */
export function printSlabSources(): void {
  console.log("\nObject memory (kernel: linux-6): freed objects' memory is reused, slab-like:");
  for (const [name, source] of SLAB_SOURCES) console.log(`  ${name.padEnd(22)} ${source}`);
}
