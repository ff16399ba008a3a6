import type { Redis } from "ioredis";

/**
 * Where a distributed run keeps what outlives its processes: each partition's checkpoints, the
 * run's epoch (bumped by every rollback), each partition's incarnation (bumped by every start
 * of its job), the partitions' final reports, and the run's record (what `--resume` needs).
 *
 * A checkpoint of window W is complete once every partition has saved its own; the newest
 * complete one is the one a rollback goes to, and older ones are dropped once a newer one is
 * complete. A save from an epoch older than the run's current one is refused, so a slow save
 * from before a rollback can never complete a checkpoint, nor drop the one being restored.
 */
export interface CheckpointStore {
  /** Claims the next incarnation of a partition's job (1 for its first start). */
  claimIncarnation(run: string, partition: number): Promise<number>;
  /** The partition's newest incarnation (0: none yet). */
  incarnation(run: string, partition: number): Promise<number>;
  /** Saves a partition's checkpoint; "complete" when it was the last of the window's. */
  save(run: string, epoch: number, window: number, partition: number, partitions: number, bytes: Uint8Array): Promise<"stale" | "saved" | "complete">;
  load(run: string, window: number, partition: number): Promise<Uint8Array | null>;
  /** Begins the next epoch: its number and the newest complete checkpoint (-1: none). */
  beginEpoch(run: string): Promise<{ epoch: number; window: number }>;
  saveReport(run: string, partition: number, report: string): Promise<void>;
  reports(run: string): Promise<Map<number, string>>;
  saveRecord(run: string, record: string): Promise<void>;
  record(run: string): Promise<string | null>;
  /** Marks the run finished: a partition job that starts later (a stalled job run again) leaves at once. */
  markFinished(run: string): Promise<void>;
  finished(run: string): Promise<boolean>;
  /** Drops the run's checkpoints and reports (the record stays, for a while). */
  finish(run: string): Promise<void>;
}

/** How long a run's keys live in Redis after their last write. */
export const RUN_TTL_SECONDS = 7 * 24 * 3600;

const runKey = (run: string) => `refsim:run:${run}`;

// KEYS: epoch, the window's hash, the run's newest complete window. ARGV: epoch, partition,
// partitions, bytes, window, ttl, the prefix of window hashes.
const SAVE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < current then return -1 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[6])
if redis.call('HLEN', KEYS[2]) < tonumber(ARGV[3]) then return 0 end
local last = tonumber(redis.call('GET', KEYS[3]) or '-1')
local window = tonumber(ARGV[5])
if window > last then
  redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[6])
  if last >= 0 then redis.call('DEL', ARGV[7] .. last) end
end
return 1
`;

// KEYS: epoch, newest complete window. Returns {epoch, window}.
const BEGIN = `
local epoch = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {epoch, tonumber(redis.call('GET', KEYS[2]) or '-1')}
`;

export class RedisCheckpointStore implements CheckpointStore {
  constructor(private readonly redis: Redis) {}

  async claimIncarnation(run: string, partition: number): Promise<number> {
    const key = `${runKey(run)}:incarnation:${partition}`;
    const [[, n]] = (await this.redis.multi().incr(key).expire(key, RUN_TTL_SECONDS).exec()) as [[unknown, number]];
    return n;
  }

  async incarnation(run: string, partition: number): Promise<number> {
    return Number((await this.redis.get(`${runKey(run)}:incarnation:${partition}`)) ?? 0);
  }

  async save(run: string, epoch: number, window: number, partition: number, partitions: number, bytes: Uint8Array) {
    const base = runKey(run);
    const r = (await this.redis.eval(
      SAVE,
      3,
      `${base}:epoch`,
      `${base}:checkpoint:${window}`,
      `${base}:checkpoint:last`,
      epoch,
      partition,
      partitions,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      window,
      RUN_TTL_SECONDS,
      `${base}:checkpoint:`,
    )) as number;
    return r < 0 ? "stale" : r === 0 ? "saved" : "complete";
  }

  async load(run: string, window: number, partition: number): Promise<Uint8Array | null> {
    const b = await this.redis.hgetBuffer(`${runKey(run)}:checkpoint:${window}`, String(partition));
    return b === null ? null : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  async beginEpoch(run: string): Promise<{ epoch: number; window: number }> {
    const base = runKey(run);
    const [epoch, window] = (await this.redis.eval(BEGIN, 2, `${base}:epoch`, `${base}:checkpoint:last`, RUN_TTL_SECONDS)) as [number, number];
    return { epoch, window };
  }

  async saveReport(run: string, partition: number, report: string): Promise<void> {
    const key = `${runKey(run)}:reports`;
    await this.redis.multi().hset(key, String(partition), report).expire(key, RUN_TTL_SECONDS).exec();
  }

  async reports(run: string): Promise<Map<number, string>> {
    const all = await this.redis.hgetall(`${runKey(run)}:reports`);
    return new Map(Object.entries(all).map(([k, v]) => [Number(k), v]));
  }

  async saveRecord(run: string, record: string): Promise<void> {
    await this.redis.set(runKey(run), record, "EX", RUN_TTL_SECONDS);
  }

  async record(run: string): Promise<string | null> {
    return this.redis.get(runKey(run));
  }

  async markFinished(run: string): Promise<void> {
    await this.redis.set(`${runKey(run)}:finished`, "1", "EX", RUN_TTL_SECONDS);
  }

  async finished(run: string): Promise<boolean> {
    return (await this.redis.exists(`${runKey(run)}:finished`)) === 1;
  }

  async finish(run: string): Promise<void> {
    const base = runKey(run);
    const last = await this.redis.get(`${base}:checkpoint:last`);
    const keys = [`${base}:checkpoint:last`, `${base}:reports`];
    if (last !== null) keys.push(`${base}:checkpoint:${last}`);
    // A partial checkpoint newer than the last complete one may be left: it expires with the TTL.
    await this.redis.del(...keys);
  }
}

/** The same, in this process's memory (tests, and runs whose partitions share a process). */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly runs = new Map<
    string,
    { epoch: number; last: number; checkpoints: Map<number, Map<number, Uint8Array>>; incarnations: Map<number, number>; reports: Map<number, string>; record: string | null; finished: boolean }
  >();

  private of(run: string) {
    let r = this.runs.get(run);
    if (r === undefined) this.runs.set(run, (r = { epoch: 0, last: -1, checkpoints: new Map(), incarnations: new Map(), reports: new Map(), record: null, finished: false }));
    return r;
  }

  async claimIncarnation(run: string, partition: number): Promise<number> {
    const r = this.of(run);
    const n = (r.incarnations.get(partition) ?? 0) + 1;
    r.incarnations.set(partition, n);
    return n;
  }

  async incarnation(run: string, partition: number): Promise<number> {
    return this.of(run).incarnations.get(partition) ?? 0;
  }

  async save(run: string, epoch: number, window: number, partition: number, partitions: number, bytes: Uint8Array) {
    const r = this.of(run);
    if (epoch < r.epoch) return "stale" as const;
    let w = r.checkpoints.get(window);
    if (w === undefined) r.checkpoints.set(window, (w = new Map()));
    w.set(partition, bytes.slice());
    if (w.size < partitions) return "saved" as const;
    if (window > r.last) {
      if (r.last >= 0) r.checkpoints.delete(r.last);
      r.last = window;
    }
    return "complete" as const;
  }

  async load(run: string, window: number, partition: number): Promise<Uint8Array | null> {
    return this.of(run).checkpoints.get(window)?.get(partition) ?? null;
  }

  async beginEpoch(run: string): Promise<{ epoch: number; window: number }> {
    const r = this.of(run);
    r.epoch++;
    return { epoch: r.epoch, window: r.last };
  }

  async saveReport(run: string, partition: number, report: string): Promise<void> {
    this.of(run).reports.set(partition, report);
  }

  async reports(run: string): Promise<Map<number, string>> {
    return new Map(this.of(run).reports);
  }

  async saveRecord(run: string, record: string): Promise<void> {
    this.of(run).record = record;
  }

  async record(run: string): Promise<string | null> {
    return this.of(run).record;
  }

  async markFinished(run: string): Promise<void> {
    this.of(run).finished = true;
  }

  async finished(run: string): Promise<boolean> {
    return this.of(run).finished;
  }

  async finish(run: string): Promise<void> {
    const r = this.of(run);
    r.checkpoints.clear();
    r.reports.clear();
  }

  /** Test access: the newest complete checkpoint's window (-1: none). */
  lastComplete(run: string): number {
    return this.of(run).last;
  }
}
