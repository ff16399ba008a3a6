import { parentPort } from "node:worker_threads";
import { planRuns, type ResolvedSpec } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";
import { runPoint, type PointDocument } from "./point-run.ts";

/**
 * A point thread runs one point at a time for its pool (see point-pool.ts) until it is
 * terminated: a sweep point's document, or one configuration of a resolved spec (`refsim run`).
 */
export type PointRequest = { id: number; doc: PointDocument } | { id: number; spec: ResolvedSpec; runIndex: number };
export type PointReply = { id: number; ok: true; json: string } | { id: number; ok: false; name: string; message: string };

const port = parentPort;
if (port === null) throw new Error("point-thread.ts runs only as a worker thread");
port.on("message", (request: PointRequest) => {
  const id = request.id;
  let reply: PointReply;
  try {
    const result = "doc" in request ? runPoint(request.doc) : simulate(planRuns(request.spec)[request.runIndex]);
    reply = { id, ok: true, json: JSON.stringify(result) };
  } catch (e) {
    const err = e as Error;
    reply = { id, ok: false, name: err.name, message: err.message };
  }
  port.postMessage(reply);
});
