import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start } from "../support/refsim-process.ts";
import { freePort, hostNetwork, isCI } from "../support/services.ts";

/**
 * The compose cluster for real: builds the refsim image from the project's Dockerfile, brings up
 * docker-compose.yml (plus docker-compose.host.yml where the engine has no bridge networking,
 * REFSIM_CONTAINER_NETWORK=host) with Redis, NATS, the coordinator and 3 workers, waits for the
 * coordinator to exit, copies /results out and compares results.json and results.csv with the
 * embedded run of the same experiment, byte for byte. Then the same again, killing the worker
 * container that holds a partition of the experiment's second run while that run is going.
 * Everything it starts (containers, volumes, and its image, named REFSIM_IMAGE=refsim:test-...) is removed.
 * Run it with `npm run test:compose` (not part of `npm test`: it needs Docker and takes minutes).
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The compose file's demo experiment, shortened: 3 schemes, 400 µs simulated. */
const EXPERIMENT = ["--workload", "fork-storm", "--machine", "modern-2s", "--cpus", "64", "--schemes", "clone-flags,nsproxy,percpu", "--duration", "400us", "--warmup", "50us"];
const WORKERS = 3;

/** Lines for the record (kept in the test output, read by .ci/run's log). */
const record = (line: string) => process.stdout.write(`[compose] ${line}\n`);

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Output> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr: stderr + (error !== null && typeof error.code !== "number" ? error.message : "") });
    });
  });
}

/**
 * Follows containers' logs (`docker logs --follow`, their stderr, where refsim logs) and wakes a
 * waiter whenever a line arrives: `until` resolves with the first non-undefined answer of `test`
 * on the logs so far, or fails with `what` at `deadline`.
 */
function followLogs(ids: string[]) {
  const texts = new Map(ids.map((id) => [id, ""]));
  let wake: (() => void) | null = null;
  const followers = ids.map((id) => {
    const child = spawn("docker", ["logs", "--follow", id], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      texts.set(id, (texts.get(id) ?? "") + chunk);
      wake?.();
    });
    return child;
  });
  return {
    async until<T>(test: (logs: Array<{ id: string; text: string }>) => T | undefined, deadline: number, what: string): Promise<T> {
      for (;;) {
        const answer = test([...texts].map(([id, text]) => ({ id, text })));
        if (answer !== undefined) return answer;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(what);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    },
    stop() {
      for (const child of followers) child.kill();
    },
  };
}

async function must(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const out = await run(command, args, env);
  if (out.code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${out.code}: ${out.stderr.trim().slice(-2000)}`);
  return out.stdout;
}

const composeWorks = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
const dockerWorks = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8" });
const missing =
  composeWorks.status !== 0 ? `docker compose does not work (${(composeWorks.stderr ?? composeWorks.error?.message ?? "").trim()})` :
  dockerWorks.status !== 0 ? `no Docker engine answers (${(dockerWorks.stderr ?? "").trim()})` : "";
const notApplicable = missing === "" ? "" : ` (not applicable: ${missing}; scripts/container-runtime.sh up starts one)`;

describe("docker compose: Redis, NATS, a coordinator and 3 workers", () => {
  const base = mkdtempSync(join(tmpdir(), "refsim-compose-"));
  const project = `refsim-test-${process.pid}-${Date.now().toString(36)}`;
  const files = ["-f", "docker-compose.yml", ...(hostNetwork() ? ["-f", "docker-compose.host.yml"] : []), "-f", join(base, "experiment.yml")];
  let env: NodeJS.ProcessEnv = process.env;
  const image = `refsim:${project.replace(/^refsim-/, "")}`;
  let embedded = { json: "", csv: "" };

  const compose = (...args: string[]) => must("docker", ["compose", "-p", project, ...files, ...args], env);
  const containers = async (service: string) => (await compose("ps", "-aq", service)).split("\n").filter((id) => id !== "");

  /** Brings the cluster up, optionally does something while it runs, and returns /results. */
  async function clusterRun(name: string, duringRun?: () => Promise<void>): Promise<{ json: string; csv: string; coordinatorLog: string }> {
    const t0 = Date.now();
    await compose("up", "-d");
    const [coordinator] = await containers("coordinator");
    await duringRun?.();
    const exit = (await must("docker", ["wait", coordinator])).trim();
    const coordinatorLog = (await run("docker", ["logs", coordinator])).stderr;
    expect(exit, `the coordinator's exit code; its log:\n${coordinatorLog.slice(-3000)}`).toBe("0");
    const out = join(base, name);
    await compose("cp", "coordinator:/results/.", out);
    await compose("down", "-v");
    record(`${name}: the cluster ran and was removed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { json: readFileSync(join(out, "results.json"), "utf8"), csv: readFileSync(join(out, "results.csv"), "utf8"), coordinatorLog };
  }

  beforeAll(async () => {
    if (missing !== "") return;
    const experiment = {
      services: {
        coordinator: { command: ["run", "--cluster", "--workers", String(WORKERS), ...EXPERIMENT, "--out", "/results"] },
        // A killed worker's partition job is handed on after 5 s without a lock renewal (default 15 s).
        worker: { command: ["worker", "--stall-ms", "5000"] },
      },
    };
    writeFileSync(join(base, "experiment.yml"), JSON.stringify(experiment, null, 2));
    env = { ...process.env, REFSIM_WORKERS: String(WORKERS), REFSIM_IMAGE: image };
    if (hostNetwork()) {
      const [redis, nats, monitor] = [await freePort(), await freePort(), await freePort()];
      env = { ...env, REFSIM_REDIS_PORT: String(redis), REFSIM_NATS_PORT: String(nats), REFSIM_NATS_MONITOR_PORT: String(monitor) };
    }

    const t0 = Date.now();
    const local = await start(["run", ...EXPERIMENT, "--quiet", "--out", join(base, "embedded")]).done;
    expect(local.code, local.stderr).toBe(0);
    embedded = { json: readFileSync(join(base, "embedded", "results.json"), "utf8"), csv: readFileSync(join(base, "embedded", "results.csv"), "utf8") };
    record(`embedded run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const t1 = Date.now();
    await compose("build", "coordinator");
    const size = Number((await must("docker", ["image", "inspect", "--format", "{{.Size}}", image])).trim());
    record(`built ${image} from the Dockerfile in ${((Date.now() - t1) / 1000).toFixed(1)} s (${(size / 1e6).toFixed(0)} MB)`);
  }, 600_000);

  afterAll(async () => {
    if (missing !== "") return;
    await run("docker", ["compose", "-p", project, ...files, "down", "-v", "--remove-orphans"], env);
    await run("docker", ["image", "rm", image]);
    rmSync(base, { recursive: true, force: true });
    // Nothing of this project may be left behind.
    const left = await must("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`]);
    expect(left.trim(), "containers left behind").toBe("");
  }, 120_000);

  it.runIf(missing === "" || isCI())(`gives the embedded run's results.json and results.csv, byte for byte${notApplicable}`, { timeout: 600_000 }, async () => {
    if (missing !== "") throw new Error(`CI is set and ${missing}. Run scripts/container-runtime.sh up.`);
    const got = await clusterRun("cluster");
    expect(got.csv).toBe(embedded.csv);
    expect(got.json).toBe(embedded.json);
  });

  it.runIf(missing === "" || isCI())(`gives them again when a worker container is killed mid-run${notApplicable}`, { timeout: 600_000 }, async () => {
    if (missing !== "") throw new Error(`CI is set and ${missing}. Run scripts/container-runtime.sh up.`);
    let lostJob = "";
    const got = await clusterRun("cluster-kill", async () => {
      // The experiment's runs go one after the other (ids <run>-0, -1, -2): kill the worker that
      // took a partition of the second one, once that run is under way: every partition answered
      // and its first epoch began (the coordinator's second "epoch 1 starts"). A kill between the
      // take and the answer is no rollback: the coordinator only waits for the job to be taken again.
      const deadline = Date.now() + 300_000;
      const logs = followLogs(await containers("worker"));
      const coordinatorLogs = followLogs(await containers("coordinator"));
      try {
        await coordinatorLogs.until(
          ([c]) => (c.text.split("coordinator: epoch 1 starts").length - 1 >= 2 ? true : undefined),
          deadline,
          "the second run's first epoch did not start within 300 s",
        );
        const victim = await logs.until(
          (all) => {
            const taken = all.flatMap(({ id, text }) => [...text.matchAll(/run \S+-1 partition \d+\/\d+ \(job (\S+)\)/g)].map((m) => ({ id, job: m[1] })));
            return taken.length >= WORKERS ? taken[0] : undefined;
          },
          deadline,
          "the second run's partitions were not all taken within 300 s",
        );
        lostJob = victim.job;
        await must("docker", ["kill", victim.id]);
        record(`killed worker container ${victim.id.slice(0, 12)}, which held partition job ${lostJob}`);
        const [coordinator] = await containers("coordinator");
        const running = (await must("docker", ["inspect", "--format", "{{.State.Running}}", coordinator])).trim();
        expect(running, "the coordinator still runs when the worker is killed").toBe("true");
        await logs.until(
          (all) => (all.reduce((n, { text }) => n + text.split(`(job ${lostJob})`).length - 1, 0) >= 2 ? true : undefined),
          deadline,
          `no other worker took ${lostJob} again within 300 s`,
        );
      } finally {
        logs.stop();
        coordinatorLogs.stop();
      }
      record(`another worker took ${lostJob} again`);
    });
    expect(got.coordinatorLog).toMatch(/coordinator: rolling back/);
    expect(got.csv).toBe(embedded.csv);
    expect(got.json).toBe(embedded.json);
  });
});
