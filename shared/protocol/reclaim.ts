/**
 * When retired memory is reclaimed without memory reuse (kernel: refcounts-only). An exited
 * task's and a freed object's memory is never touched again by a correct run, yet kept, the run's
 * memory would grow with simulated time. It is reclaimed at a boundary of simulated time every
 * RECLAIM_PERIOD_PS: memory retired at t goes at the second boundary after t, so it spends one to
 * two periods in quarantine (as KASAN's), where a use after free still reads the count line's
 * poison and is recorded as a violation; a use after its reclaim is an error naming the object.
 *
 * Every partition reclaims at the same boundaries: windows never cross one (nextWindow), and the
 * notices of what was retired in a window reach every partition at that window's barrier, a
 * period before they fall due. So what a run reclaims, and when, is the same however it is split.
 */

/** The reclaim period: 100 µs of simulated time (an assumption: far above any transfer in flight). */
export const RECLAIM_PERIOD_PS = 100_000_000;

/** The first reclaim boundary after `t`. */
export function nextBoundaryPs(t: number, periodPs: number): number {
  return (Math.floor(t / periodPs) + 1) * periodPs;
}

/** The boundary at which memory retired at `t` is reclaimed: the second one after `t`. */
export function reclaimDuePs(t: number, periodPs: number): number {
  return (Math.floor(t / periodPs) + 2) * periodPs;
}
