import { findMachinePreset } from "../../shared/machine/presets.ts";
import { findWorkloadPreset } from "../../shared/workloads/presets.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import type { ResultsDocument } from "../output.ts";
import { formatTable, formatVerdict } from "../table.ts";
import type { Verdict } from "../verdict.ts";
import { MODEL_ASSUMPTIONS } from "./model-assumptions.ts";
import { chartNotes, type ChartDefinition, type AggregatePoint } from "./report-data.ts";
import { LOW_SAMPLE_OPS, lowSample } from "../figures.ts";
import { CHALLENGE_CHART_CAPTION } from "./challenge-chart.ts";

/** A chart as the page shows it: its definition, the points drawn and the rendered SVG. */
export interface RenderedChart {
  definition: ChartDefinition;
  points: readonly AggregatePoint[];
  svg: string;
}

export interface ReportPage {
  doc: ResultsDocument;
  charts: readonly RenderedChart[];
  verdict: Verdict;
  /** The seeds the verdict averages over. */
  verdictSeeds: readonly number[];
  seeds: readonly number[];
  /** Relative links to the data files beside the page. */
  csvHref: string;
  jsonHref: string;
  /** The "where a fork's time goes" section (fork-breakdown-chart.ts), or empty. */
  forkBreakdown?: string;
  /** The 2006 challenge's chart (challenge-chart.ts), when the verdict has a split to draw. */
  challengeSvg?: string;
}

/** The 2006 challenge: container against the clone model and nsproxy, split into its parts. */
function challengeSection(page: ReportPage): string {
  const groups = page.verdict.challenge ?? [];
  if (groups.length === 0 || page.challengeSvg === undefined) {
    return `<section id="challenge">
<h2>The 2006 challenge</h2>
<p class="note">Not answered here: the split needs counterfactual runs, which <code>refsim run</code> makes when an experiment runs container and clone-flags or nsproxy at the same CPU count (a sweep does not make them).</p>
</section>`;
  }
  const svg = page.challengeSvg.replace(/^<svg /, `<svg role="img" aria-label="container against the clone model and nsproxy, split into the variables' layout, the pointer chase and the reference count" `);
  return `<section id="challenge">
<h2>The 2006 challenge</h2>
<p>Does the container model do better than the clone model (clone-flags) and than nsproxy, by what factor, and because of which part?</p>
<ul>
${groups.map((g) => `<li>${escapeHtml(g.summary)}</li>`).join("\n")}
</ul>
<figure class="chart" id="chart-challenge" data-chart="challenge">
<figcaption><strong>Where container's difference comes from</strong>${escapeHtml(CHALLENGE_CHART_CAPTION)}</figcaption>
${svg}
</figure>
</section>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const STYLE = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1320px; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.subtitle { color: #555; margin: 0 0 1rem; }
pre { background: #f6f7f9; border: 1px solid #e1e4e8; border-radius: 4px; padding: .75rem 1rem; overflow-x: auto; font-size: 12.5px; line-height: 1.35; }
pre.wrap { white-space: pre-wrap; overflow-wrap: anywhere; }
pre.results-table, pre#results-table { font-size: 11.5px; }
* { box-sizing: border-box; }
p, li, dd, figcaption { overflow-wrap: anywhere; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 560px), 1fr)); gap: 1.25rem; }
figure.chart { margin: 0; border: 1px solid #e1e4e8; border-radius: 4px; padding: .6rem; background: #fff; }
figure.chart figcaption { font-size: .9rem; margin-bottom: .4rem; }
figure.chart figcaption strong { display: block; font-size: 1rem; }
figure.chart { min-width: 0; overflow: hidden; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
.chart-empty { margin: 1rem 0; padding: 2rem 1rem; border: 1px dashed #bbb; border-radius: 4px; color: #444; background: #fafafa; text-align: center; }
.low-sample { border: 2px solid #d97706; background: #fff7ed; color: #5a3300; padding: .6rem 1.2rem; border-radius: 4px; margin: 1rem 0; }
.low-sample h2 { color: #9a4a00; border: none; margin: 0 0 .3rem; font-size: 1.05rem; }
.note { color: #555; font-size: .9rem; }
.invariant-failures { border: 3px solid #b00020; background: #fdecee; color: #5f0010; padding: .8rem 1.2rem; border-radius: 4px; margin: 1rem 0; }
.invariant-failures h2 { color: #b00020; border: none; margin: 0 0 .4rem; }
.invariants-ok { color: #1b5e20; }
.failure-note { color: #b00020; font-weight: 600; font-size: .9rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
details summary { cursor: pointer; }
`;

function list(items: readonly string[]): string {
  return `<ul>${items.map((i) => `<li>${escapeHtml(i)}</li>`).join("")}</ul>`;
}

function facts(rows: ReadonlyArray<[string, string]>): string {
  return `<dl class="facts">${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>`;
}

function failedRuns(runs: readonly RunResult[]): RunResult[] {
  return runs.filter((r) => !r.invariants.ok);
}

/** Shown first on the page when any run broke an invariant: a failure of that scheme, never a footnote. */
function invariantSection(runs: readonly RunResult[]): string {
  const failed = failedRuns(runs);
  if (failed.length === 0) {
    return `<p class="invariants-ok" id="invariants-ok">All ${runs.length} runs kept every invariant (no count below zero, no use after free, final counts equal the references held).</p>`;
  }
  const shown = 5;
  const items = failed.map((r) => {
    const first = r.invariants.violations.slice(0, shown).map((v) => `${v.kind} on object ${v.obj} (CPU ${v.cpu}, ${v.timePs} ps): ${v.detail}`);
    const more = r.invariants.violationCount > first.length ? [`... ${r.invariants.violationCount - first.length} more in results.json`] : [];
    return `<li><strong>${escapeHtml(r.scheme)} at ${r.cpus} CPUs, seed ${r.seed}: ${r.invariants.violationCount} violation(s)</strong>${list([...first, ...more])}</li>`;
  });
  return `<section class="invariant-failures" id="invariant-failures" role="alert">
<h2>Invariant failures: ${failed.length} of ${runs.length} runs</h2>
<p>These schemes broke the reference-counting invariants; their numbers below are not trustworthy.</p>
<ul>${items.join("")}</ul>
</section>`;
}

function seedNote(points: readonly AggregatePoint[]): string {
  const most = points.reduce((m, p) => Math.max(m, p.seeds), 0);
  const fewest = points.reduce((m, p) => Math.min(m, p.seeds), Infinity);
  if (most <= 1) return "One seed: each point is a single run.";
  const seeds = fewest === most ? `${most} seeds` : `${fewest} to ${most} seeds`;
  return `Mean of ${seeds} per point; error bars: 95% confidence interval (Student t).`;
}

/**
 * A chart's figure: its caption (what it shows, the seeds, what its markers mean) and the SVG,
 * or, when no run gave the chart a value, a sentence saying why it is empty instead of an empty
 * plot. Every chart of the page goes through here, whatever it draws.
 */
function chartFigure(chart: RenderedChart): string {
  const d = chart.definition;
  const failed = chart.points.some((p) => p.failedRuns > 0)
    ? ` <span class="failure-note">A red ring marks a point that includes a run which broke an invariant.</span>`
    : "";
  const notes = chartNotes(d, chart.points).map((n) => ` <span class="note chart-note">${escapeHtml(n)}</span>`).join("");
  const head = `<figure class="chart" id="chart-${d.id}" data-chart="${d.id}"${chart.points.length === 0 ? ' data-empty="true"' : ""}>`;
  if (chart.points.length === 0) {
    const why = d.emptyReason ?? "No chart: no run gave a value for this figure (see the table).";
    return `${head}
<figcaption><strong>${escapeHtml(d.title)}</strong>${escapeHtml(d.caption)}</figcaption>
<p class="chart-empty" role="note">${escapeHtml(why)}</p>
</figure>`;
  }
  const svg = chart.svg.replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(`${d.title} vs CPUs, one line per scheme`)}" `);
  return `${head}
<figcaption><strong>${escapeHtml(d.title)}</strong>${escapeHtml(d.caption)} <span class="note">${escapeHtml(seedNote(chart.points))}</span>${failed}${notes}</figcaption>
${svg}
</figure>`;
}

/** Shown near the top when runs completed too few operations: their figures are noise. */
function lowSampleSection(runs: readonly RunResult[]): string {
  const low = runs.filter(lowSample);
  if (low.length === 0) return "";
  const shown = 12;
  const items = low.slice(0, shown).map((r) => `${r.scheme} at ${r.cpus} CPUs, seed ${r.seed}: ${r.totalOps} operations`);
  if (low.length > shown) items.push(`... and ${low.length - shown} more (the table marks each with !)`);
  return `<section class="low-sample" id="low-sample" role="note">
<h2>Too few operations: ${low.length} of ${runs.length} runs</h2>
<p>These runs completed fewer than ${LOW_SAMPLE_OPS} operations after the warm-up, so their rates, ratios and intervals are noise (counting alone spreads them by 10% or more). The charts mark them with an amber square and the table with !. Simulate longer (--duration) for figures to trust.</p>
${list(items)}
</section>`;
}

/**
 * The terminal table exactly as `refsim run` prints it (with several seeds: a row per scheme and
 * CPU count, the means and the throughput's 95% interval), then each seed's own table.
 */
function tables(runs: readonly RunResult[], seeds: readonly number[]): string {
  const all = tablePre(formatTable(runs), 'id="results-table"');
  if (seeds.length <= 1) return all;
  const each = seeds.map((seed) => `<h3>Seed ${seed}</h3>\n${tablePre(formatTable(runs.filter((r) => r.seed === seed)), `class="results-table" data-seed="${seed}"`)}`).join("\n");
  return `${all}\n<details id="seed-tables"><summary>Each seed's runs (${seeds.length} tables)</summary>\n${each}\n</details>`;
}

/**
 * A terminal table as preformatted text, its font small enough that its longest line fits the
 * page's width (a monospace character is about 0.6 em wide), between 7 and 11.5 px: a table
 * never wraps and never runs past its box.
 */
function tablePre(text: string, attributes: string): string {
  const longest = text.split("\n").reduce((m, l) => Math.max(m, l.length), 1);
  const fit = `font-size: max(7px, min(11.5px, calc((min(100vw, 1320px) - 7rem) / ${(longest * 0.61).toFixed(1)})))`;
  return `<pre ${attributes} style="${fit}">${escapeHtml(text)}</pre>`;
}

function specFacts(doc: ResultsDocument, seeds: readonly number[]): string {
  const s = doc.spec;
  return facts([
    ["name", s.name],
    ["CPU counts", s.cpus.join(", ")],
    ["schemes", s.schemes.join(", ")],
    ["namespace kinds", `${s.namespaces.length}: ${s.namespaces.join(", ")}`],
    ["refcount layout", s.layout],
    ["simulated", `${s.duration} per run, of which ${s.warmup} warm-up (excluded from every metric)`],
    ["seeds", seeds.join(", ")],
    ["runs", String(doc.runs.length)],
    ["operation costs", Object.entries(s.costs).map(([k, v]) => `${k} ${v}`).join(", ")],
    ["scheme options", Object.entries(s.options).map(([k, v]) => `${k} ${v}`).join(", ")],
    ["code version", doc.codeVersion],
  ]);
}

/** The whole page: one self-contained HTML document (inline style and SVG, nothing fetched). */
export function reportHtml(page: ReportPage): string {
  const { doc } = page;
  const seedText = page.seeds.length === 1 ? `seed ${page.seeds[0]}` : `seeds ${page.seeds.join(", ")}`;
  const verdictNote =
    page.verdictSeeds.length > 1 ? `<p class="note">Over the means of seeds ${page.verdictSeeds.join(", ")} (recomputed from the runs of this file).</p>` : "";
  // A sweep may span machines and workloads: name every one its runs used.
  const machineNames = [...new Set(doc.runs.map((r) => r.machine))];
  const workloadNames = [...new Set(doc.runs.map((r) => r.workload))];
  if (machineNames.length === 0) machineNames.push(doc.machine.name);
  if (workloadNames.length === 0) workloadNames.push(doc.workload.name);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`refsim report: ${doc.spec.name}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(`refsim: ${doc.spec.name}`)}</h1>
<p class="subtitle">${escapeHtml(`Reference-counting cost vs CPU count. ${plural("Machine", machineNames)} ${machineNames.join(", ")}, ${plural("workload", workloadNames)} ${workloadNames.join(", ")}, ${seedText}, ${doc.spec.duration} simulated per run. refsim ${doc.codeVersion}.`)}</p>
<p>Data: <a href="${escapeHtml(page.csvHref)}" id="csv-link">results.csv</a> (one row per run) and <a href="${escapeHtml(page.jsonHref)}" id="json-link">results.json</a> (everything, including invariant violations).</p>
</header>
${invariantSection(doc.runs)}
${lowSampleSection(doc.runs)}
<section id="verdict">
<h2>Verdict</h2>
${verdictNote}
<pre class="wrap" id="verdict-text">${escapeHtml(formatVerdict(page.verdict))}</pre>
</section>
${challengeSection(page)}
<section id="charts">
<h2>Charts</h2>
<p class="note">X axis: CPUs, on a log2 scale when the counts span a factor of 4 or more, with a tick at each CPU count run (or at the powers of two among many). Throughput is on a log scale; the other axes fit their values. One colour per scheme; schemes with equal values are drawn a few pixels apart (the table below has every number).</p>
<div class="charts">
${page.charts.map(chartFigure).join("\n")}
</div>
</section>
${page.forkBreakdown ?? ""}
<section id="table">
<h2>Table</h2>
<p class="note">As <code>refsim run</code> prints it: ops/s after the warm-up, eff = scaling efficiency, p99 of the most frequent operation, atomics and cache-line transfers per operation, pointer bytes per task, refcount bytes per container, invariants.</p>
${tables(doc.runs, page.seeds)}
</section>
<section id="experiment">
<h2>Experiment</h2>
${machineNames
  .map((name) => {
    const m = findMachinePreset(name);
    return `<h3>Machine: ${escapeHtml(name)}</h3>\n${facts([
      ["shape", m?.summary ?? doc.machine.summary],
      ["source", m?.source ?? doc.machine.source],
      ["occupancy", m?.occupancySource ?? doc.machine.occupancy],
    ])}`;
  })
  .join("\n")}
${workloadNames
  .map((name) => {
    const description = name === doc.workload.name ? doc.workload.description : (findWorkloadPreset(name)?.description ?? "a custom workload (see the spec)");
    return `<h3>Workload: ${escapeHtml(name)}</h3>\n<p>${escapeHtml(description)}</p>`;
  })
  .join("\n")}
<h3>Spec</h3>
${specFacts(doc, page.seeds)}
<details><summary>The fully resolved spec (JSON)</summary><pre>${escapeHtml(JSON.stringify(doc.spec, null, 2))}</pre></details>
</section>
<section id="model-assumptions">
<h2>Model assumptions</h2>
${list(MODEL_ASSUMPTIONS)}
</section>
</body>
</html>
`;
}

function plural(word: string, items: readonly string[]): string {
  return items.length > 1 ? `${word}s` : word;
}
