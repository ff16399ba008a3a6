import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";
import type { ResultsDocument } from "../../coordinator/output.ts";
import { isCI } from "../support/services.ts";

/**
 * The part of Playwright this test drives. playwright-core's own declarations need the DOM
 * library, which this Node project does not compile against; importing through a variable
 * keeps them out of the typecheck.
 */
interface Locator {
  count(): Promise<number>;
  boundingBox(): Promise<{ x: number; y: number; width: number; height: number } | null>;
  locator(selector: string): Locator;
  allTextContents(): Promise<string[]>;
  textContent(): Promise<string | null>;
  getAttribute(name: string): Promise<string | null>;
  isVisible(): Promise<boolean>;
}
interface Page {
  on(event: "request", listener: (request: { url(): string }) => void): void;
  on(event: "websocket", listener: (socket: { url(): string }) => void): void;
  on(event: "console", listener: (message: { type(): string; text(): string }) => void): void;
  on(event: "pageerror", listener: (error: Error) => void): void;
  goto(url: string, options: { waitUntil: "load" }): Promise<unknown>;
  locator(selector: string): Locator;
  screenshot(options: { path: string; fullPage: boolean }): Promise<Buffer>;
  url(): string;
  close(): Promise<void>;
}
interface Browser {
  newPage(options: { viewport: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}
interface Playwright {
  chromium: { launch(options: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser> };
}

async function loadPlaywright(): Promise<Playwright> {
  const specifier = "playwright-core";
  return (await import(specifier)) as Playwright;
}

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];
const BIN = fileURLToPath(new URL("../../bin/refsim.mjs", import.meta.url));
const SCREENSHOT = fileURLToPath(new URL("../../test-output/report-browser.png", import.meta.url));
const CHARTS = ["throughput", "scaling-efficiency", "atomics-per-op", "transfers-per-op", "p99-latency", "ref-bytes-per-container"];
// migration rather than fork-storm: on small-4 a fork storm gives the same numbers for every
// seed, and the intervals would have no width.
const TINY = ["--machine", "small-4", "--cpus", "1,2,4", "--duration", "200us", "--warmup", "20us", "--workload", "migration", "--quiet"];

function refsim(args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`refsim ${args.join(" ")} exited ${r.status}:\n${r.stderr}`);
}

function readDoc(dir: string): ResultsDocument {
  return JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as ResultsDocument;
}

/** A results folder holding the runs of both seeds, as a multi-seed experiment would write it. */
function mergeSeeds(dirs: string[], into: string): void {
  const docs = dirs.map(readDoc);
  mkdirSync(into, { recursive: true });
  writeFileSync(join(into, "results.json"), `${JSON.stringify({ ...docs[0], runs: docs.flatMap((d) => d.runs) }, null, 2)}\n`);
  const csvs = dirs.map((d) => readFileSync(join(d, "results.csv"), "utf8").trimEnd().split("\n"));
  writeFileSync(join(into, "results.csv"), `${[csvs[0][0], ...csvs.flatMap((lines) => lines.slice(1))].join("\n")}\n`);
}

/** What a page did that a self-contained, offline report must not. */
interface PageLog {
  requests: string[];
  consoleErrors: string[];
  pageErrors: string[];
}

async function openReport(browser: Browser, dir: string): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const log: PageLog = { requests: [], consoleErrors: [], pageErrors: [] };
  page.on("request", (r) => log.requests.push(r.url()));
  page.on("websocket", (ws) => log.requests.push(ws.url()));
  page.on("console", (m) => {
    if (m.type() === "error") log.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => log.pageErrors.push(e.message));
  await page.goto(pathToFileURL(join(dir, "report.html")).href, { waitUntil: "load" });
  return { page, log };
}

describe("report.html in headless Chromium", () => {
  const missing = existsSync(CHROMIUM)
    ? null
    : `${CHROMIUM} is missing, so the report cannot be checked in a browser (apt-get install chromium; .ci/run installs it).`;
  let work = "";
  let merged = "";
  let browser: Browser | null = null;

  /** Under CI a missing browser fails each test; elsewhere the tests skip, saying why. */
  function requireBrowser(ctx: { skip(note: string): void }): Browser {
    if (missing !== null && isCI()) throw new Error(`${missing} CI is set, so this is a failure.`);
    if (missing !== null) ctx.skip(`${missing} Skipped; under CI=true this fails instead.`);
    if (browser === null) throw new Error("the browser did not start");
    return browser;
  }

  beforeAll(async () => {
    if (missing !== null) {
      if (!isCI()) console.warn(`${missing} The report-browser tests skip; under CI=true they fail instead.`);
      return;
    }
    work = mkdtempSync(join(tmpdir(), "refsim-report-"));
    const seeds = [1, 2].map((seed) => {
      const out = join(work, `seed-${seed}`);
      refsim(["run", ...TINY, "--seed", String(seed), "--out", out]);
      return out;
    });
    merged = join(work, "both-seeds");
    mergeSeeds(seeds, merged);
    refsim(["report", merged]);
    // launch() gives the browser a fresh temporary profile (user-data-dir) and removes it on close.
    const { chromium } = await loadPlaywright();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    if (work !== "") rmSync(work, { recursive: true, force: true });
  });

  it("refsim run writes report.html beside results.json and results.csv", (ctx) => {
    requireBrowser(ctx);
    for (const seed of [1, 2]) expect(existsSync(join(work, `seed-${seed}`, "report.html"))).toBe(true);
  });

  it("opens offline with no errors and draws every chart as an SVG naming every scheme, with 95% intervals over 2 seeds", async (ctx) => {
    const { page, log } = await openReport(requireBrowser(ctx), merged);
    try {
      const runs = readDoc(merged).runs;
      const seedOne = runs.filter((r) => r.seed === 1).map((r) => r.throughputOpsPerSec);
      const seedTwo = runs.filter((r) => r.seed === 2).map((r) => r.throughputOpsPerSec);
      expect(seedTwo, "the seeds give different throughputs, so the intervals have width").not.toEqual(seedOne);

      for (const id of CHARTS) {
        const svg = page.locator(`figure.chart[data-chart="${id}"] svg`);
        await expect.poll(() => svg.count(), { message: `chart ${id}` }).toBe(1);
        const box = await svg.boundingBox();
        expect(box, `chart ${id} has a box`).not.toBeNull();
        expect(box!.width, `chart ${id} width`).toBeGreaterThan(300);
        expect(box!.height, `chart ${id} height`).toBeGreaterThan(200);
        const legend = await svg.locator(".role-legend-label text").allTextContents();
        expect(legend, `chart ${id} legend`).toEqual([...SCHEME_NAMES]);
        const axisTitles = await svg.locator(".role-axis-title text").allTextContents();
        expect(axisTitles, `chart ${id} axis titles`).toContain("CPUs (log2 scale)");
        expect(await svg.locator(".role-axis-label text").allTextContents(), `chart ${id} CPU ticks`).toEqual(expect.arrayContaining(["1", "2", "4"]));
        // Two seeds per point: each chart carries the error-bar layer.
        expect(await page.locator(`figure.chart[data-chart="${id}"] figcaption`).textContent()).toContain("Mean of 2 seeds per point; error bars: 95% confidence interval (Student t).");
      }

      const csv = page.locator("a#csv-link");
      expect(await csv.getAttribute("href")).toBe("results.csv");
      expect(existsSync(fileURLToPath(new URL((await csv.getAttribute("href"))!, page.url())))).toBe(true);

      const doc = readDoc(merged);
      const text = (await page.locator("body").textContent()) ?? "";
      for (const expected of [
        doc.machine.name,
        doc.machine.source,
        doc.machine.occupancy,
        doc.workload.name,
        doc.workload.description,
        doc.codeVersion,
        "half the transfer latency",
        "1/8 of the read latency",
        "2.6 ms",
        "Verdict:",
        "Seed 1",
        "Seed 2",
      ]) {
        expect(text).toContain(expected);
      }
      expect(await page.locator("#invariants-ok").isVisible()).toBe(true);
      expect(await page.locator("#invariant-failures").count()).toBe(0);

      mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(readFileSync(SCREENSHOT).length).toBeGreaterThan(10_000);

      expect(log.consoleErrors).toEqual([]);
      expect(log.pageErrors).toEqual([]);
      expect(log.requests.filter((url) => !url.startsWith("file://"))).toEqual([]);
      expect(log.requests.length).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  });

  it("shows a run that broke an invariant above everything else, and rings its points in the charts", async (ctx) => {
    const chromium = requireBrowser(ctx);
    const broken = join(work, "broken");
    const doc = readDoc(merged);
    const run = doc.runs.find((r) => r.scheme === "sloppy" && r.cpus === 4 && r.seed === 2)!;
    run.invariants = {
      ok: false,
      violationCount: 1,
      violations: [{ kind: "count-below-zero", obj: 7, cpu: 3, timePs: 1234, detail: "count -1 after a put" }],
    };
    mkdirSync(broken);
    writeFileSync(join(broken, "results.json"), JSON.stringify(doc));
    refsim(["report", broken]);

    const { page, log } = await openReport(chromium, broken);
    try {
      const alert = page.locator("#invariant-failures");
      expect(await alert.isVisible()).toBe(true);
      expect(await alert.getAttribute("role")).toBe("alert");
      const alertText = (await alert.textContent()) ?? "";
      expect(alertText).toContain("1 of 42 runs");
      expect(alertText).toContain("sloppy at 4 CPUs, seed 2: 1 violation(s)");
      expect(alertText).toContain("count -1 after a put");
      const alertBox = (await alert.boundingBox())!;
      const chartsBox = (await page.locator("#charts").boundingBox())!;
      expect(alertBox.y).toBeLessThan(chartsBox.y);
      expect(await page.locator("#invariants-ok").count()).toBe(0);
      for (const id of CHARTS) {
        expect(await page.locator(`figure.chart[data-chart="${id}"] .failure-note`).isVisible(), `chart ${id} failure note`).toBe(true);
      }
      expect(log.consoleErrors).toEqual([]);
      expect(log.pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
