import { parentPort } from "node:worker_threads";
import { runPoint, type PointDocument } from "./point-run.ts";

/** A point thread runs one point at a time for its pool (see point-pool.ts) until it is terminated. */
export type PointRequest = { id: number; doc: PointDocument };
export type PointReply = { id: number; ok: true; json: string } | { id: number; ok: false; name: string; message: string };

const port = parentPort;
if (port === null) throw new Error("point-thread.ts runs only as a worker thread");
port.on("message", ({ id, doc }: PointRequest) => {
  let reply: PointReply;
  try {
    reply = { id, ok: true, json: JSON.stringify(runPoint(doc)) };
  } catch (e) {
    const err = e as Error;
    reply = { id, ok: false, name: err.name, message: err.message };
  }
  port.postMessage(reply);
});
