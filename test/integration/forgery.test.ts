import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coordinateRun } from "../../coordinator/distributed.ts";
import { newRunId, newRunSecret, runPrefix } from "../../coordinator/run-id.ts";
import { decodeMessage, encodeMessage, PROTOCOL_VERSION, type Message, type ReportMessage } from "../../shared/protocol/messages.ts";
import { MAC_BYTES, sealedPayload } from "../../shared/protocol/seal.ts";
import { simulate } from "../../shared/simulation.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec, type ResolvedSpec } from "../../shared/spec/resolve.ts";
import { runPartition, subjects, type PartitionJob } from "../../worker/partition-runner.ts";
import { connectNats } from "../../worker/transport/nats.ts";
import type { Transport } from "../../worker/transport/transport.ts";
import { startNatsServer, type LocalServer } from "../support/services.ts";

/**
 * A bystander on the run's own NATS server (one this file starts on a free port) sees every
 * subject and every message of a run and publishes what it likes: forged reports, an earlier
 * run's reports, hellos, starts, gos and resyncs, and a bomb of message parts. None of it may
 * change the run's result (byte for byte the embedded run's), stall it, or roll it back; every
 * forged message is dropped and counted.
 */

const specOf = (seed: number) =>
  resolveSpec(parseSpec({ machine: "xeon-80", cpus: [24], schemes: ["nsproxy"], workload: { preset: "migration", fork: { placement: "random" } }, duration: "150us", warmup: "15us", seed }));
const SPEC = specOf(1);
const EMBEDDED = JSON.stringify(simulate(planRuns(SPEC)[0]));
/** Long enough for a real run here, short enough that a run the attack stalls fails soon. */
const TIMEOUT_MS = 15_000;
const PARTITIONS = 2;

interface Seen {
  subject: string;
  data: Uint8Array;
  message: Message | null;
}

/** What a bystander can read: the payload before the MAC (it has no secret to check it). */
const read = (data: Uint8Array): Message | null => {
  const d = decodeMessage(sealedPayload(data));
  return d.ok ? d.message : null;
};
const json = (m: unknown) => new TextEncoder().encode(JSON.stringify(m));

/**
 * One run over NATS, coordinator and partitions in this process on connections of their own
 * (`connect(role)` makes them); a bystander's connection hears everything on `refsim.>` and
 * `onMessage` may answer each message.
 */
async function runWithBystander(
  connect: (role: "coordinator" | "worker" | "bystander") => Promise<Transport>,
  spec: ResolvedSpec,
  onMessage: (seen: Seen, bystander: Transport, job: Omit<PartitionJob, "partition">) => void = () => {},
) {
  const run = newRunId();
  const job: Omit<PartitionJob, "partition"> = { run, prefix: runPrefix(run), secret: newRunSecret(), spec, runIndex: 0, partitions: PARTITIONS };
  const bystander = await connect("bystander");
  const seen: Seen[] = [];
  bystander.subscribe("refsim.>", (msg) => {
    const s = { subject: msg.subject, data: new Uint8Array(msg.data), message: read(msg.data) };
    seen.push(s);
    onMessage(s, bystander, job);
  });
  await bystander.flush();
  const coordinator = await connect("coordinator");
  const logs: string[] = [];
  const runners: Array<Promise<unknown>> = [];
  const out = await coordinateRun(coordinator, job, { timeoutMs: TIMEOUT_MS, log: (l) => logs.push(l) }, async () => {
    for (let p = 0; p < PARTITIONS; p++) {
      const t = await connect("worker");
      runners.push(runPartition(t, { ...job, partition: p }, { timeoutMs: TIMEOUT_MS, log: (l) => logs.push(l) }));
    }
  });
  await Promise.all(runners);
  // Whatever the server sent the bystander before this round trip has arrived.
  await bystander.flush();
  const rejected = out.stats.rejected + out.stats.partitionStats.reduce((s, r) => s + r.rejected, 0);
  return { ...out, seen, logs, rejected, job };
}

describe("a bystander on the NATS server cannot change or stop a run", () => {
  let nats: LocalServer;
  const open: Transport[] = [];
  const connect = async (role: string) => {
    const t = await connectNats(nats.url, { noEcho: role === "worker" });
    open.push(t);
    return t;
  };
  const runWith = (spec: ResolvedSpec, onMessage?: Parameters<typeof runWithBystander>[2]) => runWithBystander(connect, spec, onMessage);

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    for (const t of open) await t.close().catch(() => {});
    await nats?.stop();
  });

  it("drops a forged report (an earlier run's, its counts multiplied by 10, sent right after the go)", async () => {
    const earlier = await runWith(specOf(2));
    const reports = earlier.seen.flatMap((s) => (s.message?.kind === "report" ? [s.message] : []));
    expect(reports).toHaveLength(PARTITIONS);
    let sent = 0;
    const out = await runWith(SPEC, (s, bystander, job) => {
      if (s.message?.kind !== "go") return;
      for (const r of reports) {
        const cpus = (r.report.cpus as Array<{ opsByKind: number[] }>).map((c) => ({ ...c, opsByKind: c.opsByKind.map((n) => n * 10) }));
        const forged: ReportMessage = { ...r, run: job.run, epoch: s.message.epoch, report: { ...r.report, cpus } };
        bystander.publish(subjects.report(job.prefix), encodeMessage(forged));
        sent++;
      }
    });
    expect(sent).toBe(PARTITIONS);
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    expect(out.rejected).toBeGreaterThanOrEqual(sent);
    expect(out.logs.some((l) => l.includes("MAC"))).toBe(true);
  });

  it("drops an earlier run's reports replayed as they were sent, or with this run's id (under their MAC or none)", async () => {
    const earlier = await runWith(specOf(2));
    const reports = earlier.seen.filter((s) => s.message?.kind === "report");
    let sent = 0;
    const out = await runWith(SPEC, (s, bystander, job) => {
      if (s.message?.kind !== "go") return;
      for (const r of reports) {
        const payload = new TextDecoder().decode(sealedPayload(r.data)).replace(earlier.job.run, job.run);
        const mac = r.data.subarray(r.data.byteLength - MAC_BYTES);
        const rewritten = new TextEncoder().encode(payload);
        // As sent; with this run's id under the earlier run's MAC; with this run's id and no MAC.
        for (const data of [r.data, new Uint8Array([...rewritten, ...mac]), rewritten]) bystander.publish(subjects.report(job.prefix), data);
        sent += 3;
      }
    });
    expect(sent).toBe(3 * PARTITIONS);
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    expect(out.rejected).toBeGreaterThanOrEqual(sent);
  });

  it("drops forged hellos with a huge incarnation: the run neither stalls nor rolls back", async () => {
    let sent = 0;
    const out = await runWith(SPEC, (s, bystander, job) => {
      if (s.message?.kind !== "ready" || s.message.epoch !== null || sent > 0) return;
      for (let p = 0; p < PARTITIONS; p++) {
        bystander.publish(subjects.ready(job.prefix), json({ v: PROTOCOL_VERSION, run: job.run, kind: "ready", from: p, incarnation: 1_000_000, epoch: null }));
        sent++;
      }
    });
    expect(sent).toBe(PARTITIONS);
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    expect(out.stats.epochs).toBe(1);
    expect(out.rejected).toBeGreaterThanOrEqual(sent);
  });

  it("drops a forged start and go of a higher epoch", async () => {
    let sent = 0;
    const out = await runWith(SPEC, (s, bystander, job) => {
      if (s.message?.kind !== "go" || sent > 0) return;
      const epoch = s.message.epoch + 5;
      bystander.publish(subjects.control(job.prefix), json({ v: PROTOCOL_VERSION, run: job.run, kind: "start", partitions: PARTITIONS, epoch, window: -1 }));
      bystander.publish(subjects.control(job.prefix), json({ v: PROTOCOL_VERSION, run: job.run, kind: "go", epoch }));
      sent += 2;
    });
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    expect(out.stats.epochs).toBe(1);
    // Every partition hears both.
    expect(out.rejected).toBeGreaterThanOrEqual(PARTITIONS * sent);
  });

  it("drops forged resyncs of the current epoch: nothing rolls back", async () => {
    let sent = 0;
    const out = await runWith(SPEC, (s, bystander, job) => {
      if (s.message?.kind !== "step" || s.message.window % 20 !== 0 || s.message.from !== 0) return;
      bystander.publish(subjects.resync(job.prefix), json({ v: PROTOCOL_VERSION, run: job.run, kind: "resync", from: 1, epoch: s.message.epoch, reason: "forged" }));
      sent++;
    });
    expect(sent).toBeGreaterThan(0);
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    expect(out.stats.epochs).toBe(1);
    expect(out.rejected).toBeGreaterThanOrEqual(sent);
  });

  it("drops a bomb of message parts on the run's subjects before it holds any of them", async () => {
    const text = "x".repeat(100_000);
    let sent = 0;
    const out = await runWith(SPEC, (s, bystander, job) => {
      if (s.message?.kind !== "go") return;
      for (let i = 0; i < 20; i++) {
        for (const subject of [subjects.control(job.prefix), subjects.step(job.prefix, 1), subjects.report(job.prefix)]) {
          bystander.publish(subject, json({ v: PROTOCOL_VERSION, run: job.run, kind: "part", id: `bomb-${i}`, index: 0, total: 100_000, text, binary: false }));
          sent++;
        }
      }
    });
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    expect(out.rejected).toBeGreaterThanOrEqual(sent);
  });
});

describe("the example NATS server configuration (examples/nats-server.conf)", () => {
  const CONFIG = fileURLToPath(new URL("../../examples/nats-server.conf", import.meta.url));
  const PASSWORDS = { "refsim-coordinator": "change-me-coordinator", "refsim-worker": "change-me-worker", "refsim-observer": "change-me-observer", "someone-else": "change-me-others" };
  let nats: LocalServer;
  const open: Transport[] = [];
  const as = async (user: keyof typeof PASSWORDS, noEcho = false) => {
    const url = new URL(nats.url);
    url.username = user;
    url.password = PASSWORDS[user];
    const t = await connectNats(url.toString(), { noEcho });
    open.push(t);
    return t;
  };

  beforeAll(async () => {
    nats = await startNatsServer({ args: ["-c", CONFIG] });
  });
  afterAll(async () => {
    for (const t of open) await t.close().catch(() => {});
    await nats?.stop();
  });

  it("lets coordinators and workers run, hides the run from other accounts and keeps observers from publishing", async () => {
    await expect(connectNats(nats.url)).rejects.toThrow(/cannot connect to NATS/);
    const other = await as("someone-else");
    const heardByOther: string[] = [];
    other.subscribe("refsim.>", (m) => heardByOther.push(m.subject));
    await other.flush();
    const observer = await as("refsim-observer");
    const heardByObserver: string[] = [];
    observer.subscribe("refsim.>", (m) => heardByObserver.push(m.subject));
    await observer.flush();
    const watcher = await as("refsim-worker");
    const fromStrangers: string[] = [];
    watcher.subscribe("refsim.strangers.>", (m) => fromStrangers.push(m.subject));
    await watcher.flush();
    const out = await runWithBystander((role) => (role === "coordinator" ? as("refsim-coordinator") : as("refsim-worker", role === "worker")), SPEC, (s) => {
      if (s.message?.kind !== "go") return;
      other.publish("refsim.strangers.ctl", json({ from: "another account" }));
      observer.publish("refsim.strangers.ctl", json({ from: "an observer" }));
    });
    expect(JSON.stringify(out.result)).toBe(EMBEDDED);
    await other.flush();
    await watcher.flush();
    expect(heardByObserver.length).toBeGreaterThan(0);
    expect(heardByOther).toEqual(["refsim.strangers.ctl"]);
    expect(fromStrangers).toEqual([]);
  });
});
