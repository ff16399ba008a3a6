/**
 * xoshiro128** 1.0 (Blackman and Vigna, "Scrambled Linear Pseudorandom Number Generators",
 * ACM TOMS 2021), seeded through splitmix32 so that each entity has its own stream derived
 * from (experiment seed, entity id) and from nothing else: never from a worker's identity.
 */
export class Prng {
  /** The four 32-bit state words; exposed so a checkpoint can save and restore a stream. */
  readonly state: Uint32Array;

  private constructor(state: Uint32Array) {
    this.state = state;
  }

  /** The stream of one entity (a CPU, a task, a home node) of one experiment. */
  static forEntity(seed: number, entityId: number, streamTag = 0): Prng {
    let x = (mix32(seed >>> 0) ^ mix32((entityId + 0x9e3779b9) >>> 0) ^ mix32(streamTag * 0x85ebca6b)) >>> 0;
    const state = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      state[i] = mix32(x);
    }
    if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
    return new Prng(state);
  }

  static fromState(words: ArrayLike<number>): Prng {
    return new Prng(Uint32Array.from(words));
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.state;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /**
   * A uniform integer in [0, n), without modulo bias (Lemire's multiply-and-reject method).
   * n is at most 2^21 so that the 53-bit product stays exact.
   */
  nextInt(n: number): number {
    if (!(n >= 1) || n > 2097152 || !Number.isInteger(n)) throw new RangeError(`nextInt bound must be an integer in [1, 2^21], got ${n}`);
    const threshold = (4294967296 - n) % n;
    for (;;) {
      const r = this.nextU32();
      const m = r * n;
      const low = m % 4294967296;
      if (low >= threshold) return Math.floor(m / 4294967296);
    }
  }

  /** Picks an index with probability proportional to weights[i]. */
  pickWeighted(weights: readonly number[], total: number): number {
    let r = this.nextFloat() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The splitmix32 / murmur3 finaliser: a bijective 32-bit mix. */
export function mix32(z: number): number {
  z = (z + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
