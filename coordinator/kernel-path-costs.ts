import { KERNEL_PATH_COST_SOURCES, KERNEL_PATH_COSTS } from "../shared/kernel-path/costs.ts";

/** `refsim presets`: the linux-6 kernel path's locked sections, each with its source. */
export function printKernelPathCosts(): void {
  console.log("\nKernel path (kernel: linux-6, the default): sections under a lock, out of costs.fork / costs.exit:");
  for (const [name, value] of Object.entries(KERNEL_PATH_COSTS)) {
    console.log(`  ${name.padEnd(22)} ${value.padStart(6)}  ${KERNEL_PATH_COST_SOURCES[name as keyof typeof KERNEL_PATH_COSTS]}`);
  }
}
