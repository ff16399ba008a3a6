import { Engine } from "../shared/engine/engine.ts";
import { Prng } from "../shared/engine/prng.ts";

/**
 * PHOLD (Fujimoto 1990): a fixed population of events hops between logical processes; each
 * event, when handled, schedules one more at a random process after a random delay.
 */
export function phold(processes: number, population: number, events: number, seed = 1): { events: number; seconds: number } {
  const engine = new Engine(processes, null, population * 2);
  const streams = Array.from({ length: processes }, (_, i) => Prng.forEntity(seed, i));
  let remaining = events;
  engine.setHandler({
    handle(_type, target) {
      if (--remaining <= 0) return;
      const prng = streams[target];
      engine.send(1000 + prng.nextInt(1000), 0, target, prng.nextInt(processes), 1);
    },
  });
  const start = streams[0];
  for (let i = 0; i < population; i++) engine.send(start.nextInt(1000), 0, i % processes, start.nextInt(processes), 1);
  const t0 = performance.now();
  engine.runUntil(Infinity);
  return { events: engine.eventsProcessed, seconds: (performance.now() - t0) / 1000 };
}

/**
 * The practical ceiling: a bare binary heap of times in typed arrays with the same population
 * and the same random draws per event (a delay and a destination), with no keys beyond time,
 * no payload and no handler.
 */
export function bareHeapLoop(population: number, events: number, seed = 1): { events: number; seconds: number } {
  const time = new Float64Array(population + 1);
  const data = new Int32Array(population + 1);
  let n = 0;
  const prng = Prng.forEntity(seed, 0);
  const push = (t: number, d: number) => {
    let i = n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (time[p] <= t) break;
      time[i] = time[p];
      data[i] = data[p];
      i = p;
    }
    time[i] = t;
    data[i] = d;
  };
  const pop = (): number => {
    const top = time[0];
    const lt = time[--n];
    const ld = data[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && time[c + 1] < time[c]) c++;
      if (time[c] >= lt) break;
      time[i] = time[c];
      data[i] = data[c];
      i = c;
    }
    time[i] = lt;
    data[i] = ld;
    return top;
  };
  for (let i = 0; i < population; i++) push(prng.nextInt(1000), i);
  const t0 = performance.now();
  let done = 0;
  while (done < events) {
    const t = pop();
    done++;
    if (done < events) {
      const delay = 1000 + prng.nextInt(1000);
      push(t + delay, prng.nextInt(1024));
    }
  }
  return { events: done, seconds: (performance.now() - t0) / 1000 };
}
