/**
 * The model's assumptions a reader of a report must keep in mind, as the README states them
 * ("The model, its assumptions and their sources"). Plain text; the page escapes it.
 */
export const MODEL_ASSUMPTIONS: readonly string[] = [
  "Occupancy, how long one hand-off keeps a contended line from the next (a contended line's throughput is 1 / occupancy), is derived, not fitted: the class's atomic latency - 2 message legs + a locked RMW; on xeon-80 a hand-off between sockets is its home agent's whole transaction (the two-hop atomic plus a locked RMW, the Xeon E7 datasheet's directory states). The next holder is a seeded uniform choice among the waiting CPUs.",
  "One message leg (request, recall, invalidation) = 1/8 of the read latency of its distance (assumed): a line homed far from two nearby CPUs costs more than their published transfer latency (directory indirection).",
  "MESI with a forwarding Shared copy: a line fetched from memory with no sharers is Exclusive (its first write is silent), a sharer that writes upgrades without refetching; caches never evict.",
  "Transfer latencies come from the published tables named under Machine; where a table has no remote-DRAM figure it is local DRAM plus the extra cache-to-cache distance. numa-4096's NUMAlink latencies are assumptions.",
  "Each operation is a fixed CPU cost plus the memory accesses its scheme implies. The fixed costs are assumptions of the right order (defaults: fork 15 us, exit 8 us, migrate 3 us, unshare/setns 2 us, a variable read 20 ns, any namespace 5 us), except creating a network namespace: 2.6 ms (E. Dumazet, commit d7d99872c144: 1000 `unshare -n` in 2.612 s). They dilute refcount costs equally for every scheme; the values this experiment used are in the spec below.",
  "Fork placement least-loaded is as the parent sees it (the CPU of its socket it has sent the fewest children); Linux reads other runqueues' loads, which refsim does not model.",
];
