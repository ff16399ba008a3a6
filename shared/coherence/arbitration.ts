import { mix32 } from "../engine/prng.ts";

/**
 * Who gets a contended line next. When a line falls free with several requests waiting at its
 * home, the home serves one of them chosen uniformly, by a hash of (experiment seed, line, number
 * of the transfer), among the waiting requesters in CPU order; the current holder's own new request
 * never wins the line back while another request waits (it had its turn: the request waiting for
 * it is serviced at the end of its locked operation).
 *
 * Why a uniform choice and not arrival order: on real many-socket machines the requests of a
 * contended line race through the interconnect to its holder and home, and which one is served
 * next depends on queue and link state that no model here tracks. Serving them in the order that
 * equal, short simulated request legs happen to arrive in turns the line round a fixed ring grouped
 * by socket (90% of transfers stayed on one die of xeon-80 at 80 CPUs), and then a contended line's
 * throughput barely moves when more sockets join. Measurements show the opposite: on the
 * multi-socket Opteron and Xeon the throughput of atomic operations on one location falls as
 * threads on more sockets take part, through cross-socket traffic (SSYNC, David, Guerraoui,
 * Trigonakis, SOSP 2013, Figure 4). A uniform choice among the waiters gives a mostly
 * cross-socket next holder: with waiters spread over k sockets, a transfer leaves the holder's
 * socket with probability about (k - 1) / k.
 *
 * The choice depends on nothing but the seed, the line, the transfer number and the set of waiting
 * CPUs, all of which the line's home alone holds in the engine's total order: the same answer
 * embedded and on any partition.
 */
export function pickWaiter(seed: number, line: number, transfer: number, candidates: number): number {
  if (candidates <= 1) return 0;
  const h = mix32(mix32(mix32(seed >>> 0) ^ (line >>> 0) ^ Math.floor(line / 2 ** 32)) ^ (transfer >>> 0));
  return h % candidates;
}
