import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { runPartition, type PartitionJob } from "../partition-runner.ts";
import { PortTransport } from "./port-transport.ts";

/** A worker thread runs one partition over a transport bridged to the main thread's bus. */
const { job, port, timeoutMs, maxPayloadBytes } = workerData as { job: PartitionJob; port: MessagePort; timeoutMs: number; maxPayloadBytes?: number };
const transport = new PortTransport(port, maxPayloadBytes);
try {
  const stats = await runPartition(transport, job, { timeoutMs, log: (line) => parentPort?.postMessage({ kind: "log", line }) });
  parentPort?.postMessage({ kind: "done", stats });
} catch (e) {
  parentPort?.postMessage({ kind: "failed", message: (e as Error).message });
} finally {
  await transport.close();
}
