import { decodeCheckpoint, encodeCheckpoint } from "../../shared/protocol/checkpoint.ts";
import type { StartMessage } from "../../shared/protocol/messages.ts";
import { Partition } from "../../shared/protocol/partition.ts";
import type { Ownership } from "../../shared/protocol/partitioning.ts";
import type { RunConfig } from "../../shared/spec/resolve.ts";
import type { CheckpointStore } from "../checkpoint-store.ts";
import { RunAbortedError } from "./errors.ts";
import type { RunContext } from "./link.ts";

/** A checkpoint as a partition saves it: the next window's end, then the partition's state. */
function packCheckpoint(endPs: number, state: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + state.byteLength);
  new DataView(out.buffer).setFloat64(0, endPs, true);
  out.set(state, 8);
  return out;
}

/** Where a partition stands when it (re)starts: its state, the window it runs next, and that window's end. */
export interface Standing {
  part: Partition;
  window: number;
  endPs: number;
}

/**
 * When a partition saves its state, and where a start's state comes from. Every
 * `job.checkpointEvery` windows, or (checkpointSeconds) once that much wall time passed since the
 * last save and at least 20 times its cost, as agreed at a barrier from every partition's clock,
 * so all save the same window. Saves go to the store while the run goes on; without a store it
 * saves nothing and a rollback goes back to the run's beginning.
 */
export class CheckpointPolicy {
  private readonly every: number;
  private readonly everyMs: number;
  /** When this partition last saved (or took) a state, and what its last save cost, ms. */
  private checkpointAt = Date.now();
  private costMs = 0;
  private saving: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly c: RunContext,
    private readonly store: CheckpointStore | undefined,
    private readonly config: RunConfig,
    private readonly own: Ownership,
  ) {
    this.every = store === undefined ? 0 : (c.job.checkpointEvery ?? 0);
    this.everyMs = store === undefined || this.every > 0 ? 0 : (c.job.checkpointSeconds ?? 0) * 1000;
  }

  /** This partition's clock for the step message: since its last checkpoint, and that one's cost, ms. */
  clock(): { sinceCheckpointMs: number; checkpointCostMs: number } {
    return { sinceCheckpointMs: Date.now() - this.checkpointAt, checkpointCostMs: this.costMs };
  }

  /** Whether to save after `window`, given the longest wait and the costliest save any partition reported. */
  due(window: number, sinceMs: number, costMs: number): boolean {
    return this.every > 0 ? (window + 1) % this.every === 0 : this.everyMs > 0 && sinceMs >= Math.max(this.everyMs, 20 * costMs);
  }

  /** Saves the state after window `w`'s barrier; the store's write goes on while the run does. */
  save(part: Partition, endPs: number, epoch: number, w: number): void {
    const { job, me, partitions, who, log, stats } = this.c;
    const t0 = Date.now();
    const bytes = packCheckpoint(endPs, encodeCheckpoint(part));
    this.checkpointAt = Date.now();
    this.costMs = this.checkpointAt - t0;
    stats.checkpoints++;
    this.saving = this.saving.then(() =>
      (this.store as CheckpointStore).save(job.run, epoch, w, me, partitions, bytes).then(
        (r) => {
          if (r === "complete") log(`${who}: checkpoint of window ${w} complete (${bytes.byteLength} bytes here)`);
        },
        (err: Error) => log(`${who}: could not save the checkpoint of window ${w}: ${err.message}`),
      ),
    );
  }

  /** Resolves once every save begun so far is done. */
  settled(): Promise<unknown> {
    return this.saving;
  }

  /**
   * The state a start names: the beginning (`fresh`, built ahead, or a new partition), or a
   * checkpoint from the store. Its clock starts again.
   */
  async restore(s: StartMessage, fresh: Partition | null): Promise<Standing> {
    const { job, me, who } = this.c;
    let standing: Standing;
    if (s.window < 0) {
      const part = fresh ?? new Partition(this.config, this.own, me);
      part.start();
      standing = { part, window: 0, endPs: 0 };
    } else {
      if (this.store === undefined) throw new RunAbortedError(`${who}: the coordinator asked for checkpoint ${s.window}, but this partition keeps no checkpoints`);
      const bytes = await this.store.load(job.run, s.window, me);
      if (bytes === null) throw new RunAbortedError(`${who}: checkpoint ${s.window} is missing from the store`);
      const endPs = new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
      standing = { part: decodeCheckpoint(bytes.subarray(8), this.config, this.own, me, fresh ?? undefined), window: s.window + 1, endPs };
    }
    this.checkpointAt = Date.now();
    return standing;
  }
}
