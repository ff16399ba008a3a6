import { parentPort } from "node:worker_threads";
import { planRuns, type ResolvedSpec } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";
import { runPoint, type PointDocument } from "./point-run.ts";

/**
 * A point thread runs one point at a time for its pool (see point-pool.ts) until it is
 * terminated: a sweep point's document, or one configuration of a resolved spec (`refsim run`).
 */
export type PointRequest = { id: number; doc: PointDocument } | { id: number; spec: ResolvedSpec; runIndex: number };
export type PointReply =
  | { id: number; ok: true; json: string }
  | { id: number; ok: false; name: string; message: string }
  | { id: number; progress: number };

/** How often a thread running a configuration says how far its simulated time has come, ms. */
const PROGRESS_EVERY_MS = 250;

const port = parentPort;
if (port === null) throw new Error("point-thread.ts runs only as a worker thread");
port.on("message", (request: PointRequest) => {
  const id = request.id;
  let reply: PointReply;
  try {
    let said = Date.now();
    const progress = (simulatedPs: number) => {
      if (Date.now() - said < PROGRESS_EVERY_MS) return;
      said = Date.now();
      port.postMessage({ id, progress: simulatedPs } satisfies PointReply);
    };
    const result = "doc" in request ? runPoint(request.doc) : simulate(planRuns(request.spec)[request.runIndex], {}, progress);
    reply = { id, ok: true, json: JSON.stringify(result) };
  } catch (e) {
    const err = e as Error;
    reply = { id, ok: false, name: err.name, message: err.message };
  }
  port.postMessage(reply);
});
