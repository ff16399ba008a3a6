import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../bin/refsim.mjs", import.meta.url));

/** What each process has written to stderr so far (its log), by process. */
export const workerLogs = new WeakMap<ChildProcess, string>();

/** Starts `n` `refsim worker` processes and resolves once each has printed `readyLine`. */
export async function startWorkerProcesses(n: number, args: string[], readyLine: string): Promise<ChildProcess[]> {
  const procs = Array.from({ length: n }, () => spawn(process.execPath, [BIN, "worker", ...args], { stdio: ["ignore", "ignore", "pipe"] }));
  for (const p of procs) {
    workerLogs.set(p, "");
    p.stderr?.on("data", (d: Buffer) => workerLogs.set(p, (workerLogs.get(p) ?? "") + d.toString()));
  }
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve, reject) => {
          let text = "";
          p.stderr?.on("data", (d: Buffer) => {
            text += d.toString();
            if (text.includes(readyLine)) resolve();
          });
          p.once("exit", (code) => reject(new Error(`worker exited with ${code}: ${text}`)));
        }),
    ),
  );
  return procs;
}

/** SIGTERM, then wait until every process has exited. */
export async function stopWorkerProcesses(procs: ChildProcess[]): Promise<void> {
  for (const p of procs) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => new Promise((resolve) => (p.exitCode !== null ? resolve(null) : p.once("exit", resolve)))));
}
