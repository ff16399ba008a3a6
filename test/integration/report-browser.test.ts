import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";
import type { ResultsDocument } from "../../coordinator/output.ts";
import { isCI } from "../support/services.ts";
import { aggregateRuns } from "../../coordinator/report/report-data.ts";
import { writeReport } from "../../coordinator/report/write-report.ts";

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
  /** Runs a script (text, so no DOM types are needed here) in the page and returns its value. */
  evaluate<T>(script: string): Promise<T>;
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
const SCREENSHOT_MIXED = fileURLToPath(new URL("../../test-output/report-browser-mixed.png", import.meta.url));
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

/**
 * Every element of the page that sticks out of its container: an element whose box reaches
 * past its parent's (text of an SVG: past its SVG), an element that scrolls sideways, a page
 * wider than the window. Closed <details> are skipped (nothing in them is shown).
 */
const OVERFLOWS = `(() => {
  const bad = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.getAttribute("class") ? "." + el.getAttribute("class").split(" ").join(".") : "");
  const path = (el) => { const parts = []; for (let e = el; e && e !== document.body; e = e.parentElement) parts.unshift(name(e)); return parts.slice(-3).join(" > "); };
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("details:not([open]) > :not(summary)")) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const inSvg = el instanceof SVGElement && el.ownerSVGElement !== null;
    if (inSvg && el.tagName.toLowerCase() !== "text") continue;
    const container = inSvg ? el.ownerSVGElement : el.parentElement;
    const c = container.getBoundingClientRect();
    if (r.left < c.left - 1 || r.right > c.right + 1) bad.push(path(el) + ": " + Math.round(r.left) + ".." + Math.round(r.right) + " outside " + Math.round(c.left) + ".." + Math.round(c.right) + (inSvg ? " (" + el.textContent + ")" : ""));
    if (!inSvg && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== "inline") bad.push(path(el) + ": scrolls sideways, " + el.scrollWidth + " > " + el.clientWidth);
  }
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth + 1) bad.push("the page scrolls sideways");
  return bad;
})()`;

/** Per chart: whether it draws marks (lines, points) or says why it is empty, and its axes' descriptions. */
const CHART_CONTENT = `[...document.querySelectorAll("figure.chart")].map((f) => ({
  id: f.dataset.chart,
  marks: f.querySelectorAll("svg .mark-line path, svg .mark-symbol path").length,
  empty: f.querySelector(".chart-empty") ? f.querySelector(".chart-empty").textContent : null,
  axes: [...f.querySelectorAll("svg .role-axis")].map((a) => a.getAttribute("aria-label")).filter((a) => a !== null),
  caption: f.querySelector("figcaption").textContent,
  cut: [...f.querySelectorAll("svg text")].map((t) => t.textContent).filter((t) => t.endsWith("…")),
}))`;

interface ChartContent {
  id: string;
  /** Texts vega shortened with an ellipsis (a label or title longer than its limit). */
  cut: string[];
  marks: number;
  empty: string | null;
  axes: string[];
  caption: string;
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
  let mixed = "";
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
    // A sweep-like mix: two workloads (long legend labels), no 1-CPU run (no scaling efficiency)
    // and measured windows too short for 100 operations (the low-sample flag): seed 1's runs at
    // 2 and 4 CPUs beside a fork storm's.
    const forks = join(work, "fork-storm");
    refsim(["run", "--machine", "small-4", "--cpus", "2,4", "--schemes", "none,clone-flags,nsproxy,percpu", "--duration", "60us", "--workload", "fork-storm", "--quiet", "--out", forks]);
    mixed = join(work, "mixed");
    const forkDoc = readDoc(forks);
    // Without their 1-CPU runs these have no scaling efficiency, as a run at 2 and 4 CPUs has none.
    const migrations = readDoc(seeds[0])
      .runs.filter((r) => r.cpus > 1 && forkDoc.runs.some((f) => f.scheme === r.scheme))
      .map((r) => ({ ...r, scalingEfficiency: null }));
    mkdirSync(mixed);
    writeFileSync(join(mixed, "results.json"), JSON.stringify({ ...forkDoc, runs: [...migrations, ...forkDoc.runs] }));
    await writeReport(mixed);
    // launch() gives the browser a fresh temporary profile (user-data-dir) and removes it on close.
    const { chromium } = await loadPlaywright();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    // Three short runs; on a loaded machine their process start-ups alone take most of a minute.
  }, 240_000);

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
        "the class's atomic latency - 2 message legs + a locked RMW",
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

  it("fits every chart: throughput on a log axis, nothing overflows its container, every chart draws or says why it is empty", async (ctx) => {
    const { page, log } = await openReport(requireBrowser(ctx), merged);
    try {
      expect(await page.evaluate<string[]>(OVERFLOWS)).toEqual([]);
      const charts = await page.evaluate<ChartContent[]>(CHART_CONTENT);
      expect(charts.map((c) => c.id)).toEqual(expect.arrayContaining(CHARTS));
      for (const c of charts) {
        expect(c.marks, `chart ${c.id} draws its points`).toBeGreaterThan(0);
        expect(c.cut, `chart ${c.id}: no label or title cut short`).toEqual([]);
      }
      const throughput = charts.find((c) => c.id === "throughput")!;
      expect(throughput.axes.find((a) => a.startsWith("Y-axis"))).toMatch(/for a log scale/);
      expect(throughput.axes.find((a) => a.startsWith("X-axis"))).toMatch(/CPUs \(log2 scale\)' for a log scale/);
      // The efficiency axis fits its values instead of spanning 0-100%.
      const efficiency = charts.find((c) => c.id === "scaling-efficiency")!;
      const range = /values from ([\d.,]+) to ([\d.,]+)/.exec(efficiency.axes.find((a) => a.startsWith("Y-axis")) ?? "");
      expect(range, `efficiency axis range in ${JSON.stringify(efficiency.axes)}`).not.toBeNull();
      const means = aggregateRuns(readDoc(merged).runs, (r) => r.scalingEfficiency).map((p) => p.mean);
      const [low, high] = [range![1], range![2]].map((v) => Number(v.replace(/,/g, "")));
      expect(low, "the efficiency axis does not start at zero").toBeGreaterThan(0);
      expect(low).toBeLessThanOrEqual(Math.min(...means));
      expect(high).toBeGreaterThanOrEqual(Math.max(...means));
      expect(high - low, "nor spans far more than the values").toBeLessThan(2 * (Math.max(...means) - Math.min(...means)) + 0.2);
      expect(log.pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("a sweep-like mix: long legends stay inside their charts, the empty efficiency chart says why, the low-sample runs are flagged", async (ctx) => {
    const { page, log } = await openReport(requireBrowser(ctx), mixed);
    try {
      expect(await page.evaluate<string[]>(OVERFLOWS)).toEqual([]);
      const charts = await page.evaluate<ChartContent[]>(CHART_CONTENT);
      const efficiency = charts.find((c) => c.id === "scaling-efficiency")!;
      expect(efficiency.marks).toBe(0);
      expect(efficiency.empty).toContain("no run here has 1 CPU");
      for (const c of charts.filter((c) => c.id !== "scaling-efficiency")) {
        expect(c.marks, `chart ${c.id} draws its points`).toBeGreaterThan(0);
        expect(c.empty, `chart ${c.id}`).toBeNull();
        expect(c.cut, `chart ${c.id}: no label or title cut short`).toEqual([]);
      }
      const legend = await page.locator('figure.chart[data-chart="throughput"] svg .role-legend-label text').allTextContents();
      expect(legend, "every legend label whole, none cut short").toEqual(
        ["none", "clone-flags", "nsproxy", "percpu"].flatMap((s) => [`${s} (fork-storm, small-4)`, `${s} (migration, small-4)`]),
      );
      const runs = readDoc(mixed).runs;
      const low = runs.filter((r) => r.totalOps < 100);
      expect(low.length, "the 60 us runs include some with fewer than 100 operations").toBeGreaterThan(0);
      const flag = page.locator("#low-sample");
      expect(await flag.isVisible()).toBe(true);
      expect((await flag.textContent()) ?? "").toContain(`Too few operations: ${low.length} of ${runs.length} runs`);
      const throughput = charts.find((c) => c.id === "throughput")!;
      expect(throughput.caption).toContain("fewer than 100 operations");
      expect(await page.locator('figure.chart[data-chart="throughput"] svg .mark-symbol path[stroke="#d97706"]').count()).toBeGreaterThan(0);
      expect((await page.locator("#results-table").textContent()) ?? "").toContain("!");
      mkdirSync(join(SCREENSHOT_MIXED, ".."), { recursive: true });
      await page.screenshot({ path: SCREENSHOT_MIXED, fullPage: true });
      expect(log.pageErrors).toEqual([]);
      expect(log.consoleErrors).toEqual([]);
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
      expect(alertText).toContain(`1 of ${doc.runs.length} runs`);
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
