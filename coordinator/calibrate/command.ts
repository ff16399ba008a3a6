import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { parseDurationPs } from "../../shared/spec/duration.ts";
import { UsageError } from "../usage-error.ts";
import { totalCpus } from "../../shared/machine/machine.ts";
import { isSteady, UNSTEADY_SPREAD, UNSTEADY_TOGETHER, type CounterPoint } from "./batch-stats.ts";
import { detectHost } from "./detect.ts";
import { hostMachineFile } from "./host-machine.ts";
import { measureHost, threadCounts } from "./microbench.ts";
import { simulateHost, type SimulatedPoint } from "./simulate.ts";

interface CalibrateOptions {
  duration: string;
  threads?: string;
  out: string;
}


const si = (v: number) => (v >= 1e9 ? `${(v / 1e9).toFixed(2)}G` : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
const nsText = (v: number) => (v > 0 ? v.toFixed(1) : "-");

/** Lines of a left-aligned first column and right-aligned others. */
export function alignColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd());
}

function rows(name: string, measured: CounterPoint[], simulated: SimulatedPoint[], inputThreads: number | null): string[][] {
  return measured.map((m) => {
    const s = simulated.find((p) => p.threads === m.threads);
    const simNs = s !== undefined && s.opsPerSec > 0 ? (m.threads * 1e9) / s.opsPerSec : 0;
    const measuredTrials = m.trials.filter((r) => r > 0).length;
    const note = [
      m.threads === inputThreads ? "input" : "",
      m.opsPerSec <= 0 ? "not measured" : isSteady(m) ? "" : "unsteady",
      measuredTrials > 0 && measuredTrials < m.trials.length ? `${measuredTrials}/${m.trials.length} trials measured` : "",
    ].filter((x) => x !== "").join(", ");
    return [
      name,
      String(m.threads),
      m.opsPerSec > 0 ? si(m.opsPerSec) : "-",
      nsText(m.nsPerOp),
      s !== undefined ? si(s.opsPerSec) : "-",
      nsText(simNs),
      s !== undefined && m.opsPerSec > 0 ? (s.opsPerSec / m.opsPerSec).toFixed(2) : "-",
      `${Math.round(m.coRunShare * 100)}%`,
      `${m.transfersPerOp.toFixed(2)}/${s !== undefined ? s.transfersPerOp.toFixed(2) : "-"}`,
      si(m.wallOpsPerSec),
      m.spread === null ? "-" : `${Math.round(m.spread * 100)}%`,
      note,
    ];
  });
}

async function calibrateCommand(o: CalibrateOptions): Promise<void> {
  const ps = parseDurationPs(o.duration);
  if (ps === null || ps < 1e10 || ps > 1e13) throw new UsageError(`--duration: "${o.duration}" is not a time from 10ms to 10s`);
  const host = detectHost();
  const available = availableParallelism();
  const maxThreads = o.threads === undefined ? available : Number(o.threads);
  if (!Number.isInteger(maxThreads) || maxThreads < 1 || maxThreads > 1024) throw new UsageError(`--threads: "${o.threads}" is not a whole number from 1 to 1024`);
  const started = performance.now();
  const measurements = await measureHost({ maxThreads, durationMs: ps / 1e9, places: host.places });
  const file = hostMachineFile(host, measurements);
  const counts = threadCounts(Math.min(maxThreads, totalCpus(file.machine)));
  const simulated = simulateHost(file.machine, counts);
  writeFileSync(o.out, `${JSON.stringify(file, null, 2)}\n`);
  const m = measurements;
  console.log(`refsim calibrate: ${file.machine.summary}`);
  console.log(`  shape from ${host.source}${host.notes.length > 0 ? ` (${host.notes.join("; ")})` : ""}; ${available} CPUs available, ${maxThreads} threads`);
  const pings = m.pingPong.map((p) => `${p.cls}${p.cpus !== null ? ` (CPUs ${p.cpus.join(" and ")})` : ""} ${p.oneWayNs !== null ? `${nsText(p.oneWayNs)} ns` : "not measured (the two threads never ran at once)"}`);
  console.log(`  threads ${m.pinned ? "pinned: thread k on the host CPU that is refsim's CPU k" : "not pinned"}`);
  console.log(`  measured: one thread's atomic increment on its own line ${nsText(file.machine.localAtomic)} ns; one-way line transfer (ping-pong): ${pings.length > 0 ? pings.join(", ") : "none (one thread)"}`);
  const load = Math.max(m.loadAverageBefore, m.loadAverage);
  console.log(`  host load: 1-minute load average ${m.loadAverageBefore} before, ${m.loadAverage} after, on ${available} CPUs`);
  if (load > available / 2) {
    console.log(
      `  THE HOST IS BUSY: the measuring threads share their CPUs with other work. "together" is the share of timed batches during which the threads ran at once, and the shared-counter figures come from those batches only; ` +
        `a row marked "unsteady" (its ${m.trials} trials spread more than ${UNSTEADY_SPREAD * 100}% or its threads ran together in under ${UNSTEADY_TOGETHER * 100}% of batches) or "not measured" says nothing reliable about this host's coherence: run calibrate again on an idle host`,
    );
  }
  console.log("");
  const header = ["experiment", "threads", "measured ops/s", "ns/op", "simulated ops/s", "ns/op", "sim/measured", "together", "xfers/op m/s", "wall ops/s", "spread", ""];
  const table = [header, ...rows("shared counter", m.shared, simulated.shared, null), ...rows("per-thread counters", m.padded, simulated.padded, 1)];
  for (const line of alignColumns(table)) console.log(line);
  console.log("");
  console.log(`  ns/op is one thread's time per increment. Simulated: hot-line (one shared line) and local-line (a line per CPU) on the machine in ${o.out},`);
  console.log("  scheme none; 'input' marks the point the machine's localAtomic was taken from. xfers/op m/s: line transfers per increment, measured");
  console.log("  (another thread's increment between two of a thread's own) / simulated. wall ops/s: all increments over the whole window.");
  console.log(`  measured = the median of ${m.trials} trials; spread = (largest - smallest) / median of the trials; unsteady: spread above ${UNSTEADY_SPREAD * 100}% or together under ${UNSTEADY_TOGETHER * 100}%.`);
  console.log(`wrote ${o.out} (machine "${file.machine.name}"; use it with: refsim run --machine ${o.out} ...) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Adds `refsim calibrate` to the CLI. */
export function registerCalibrate(program: Command): void {
  program
    .command("calibrate")
    .description("measure this host's shared and per-thread atomic counters, simulate the same on a machine built for it, and write that machine to a file")
    .option("--duration <time>", "wall time per trial of a measured point (10ms to 10s; 3 trials each)", "250ms")
    .option("--threads <n>", "most threads to measure with (default: the CPUs available)")
    .option("--out <file>", "the machine file to write, for a spec's machine field", "host.json")
    .action(async (o: CalibrateOptions) => calibrateCommand(o));
}
