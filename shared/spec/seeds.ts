/**
 * The seeds of an experiment repeated with `seeds: N` (`refsim run --seeds N`): the first is the
 * spec's own seed, so `seeds: 1` is the experiment as before; seed i > 0 is a splitmix32 mix of
 * (the spec's seed, i). A function of those two numbers and nothing else, so every transport,
 * thread count and resumed run gives the same seeds, and seeds of nearby spec seeds do not
 * overlap the way seed + i would (seed 1 x 3 and seed 2 x 3 would share two).
 */
export function experimentSeeds(seed: number, count: number): number[] {
  const seeds: number[] = [];
  for (let i = 0; i < count; i++) seeds.push(i === 0 ? seed >>> 0 : derive(seed, i));
  return seeds;
}

function derive(seed: number, index: number): number {
  let x = (Math.imul(seed >>> 0, 0x9e3779b9) ^ Math.imul(index, 0x85ebca6b)) >>> 0;
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97) >>> 0;
  return (x ^ (x >>> 15)) >>> 0;
}
