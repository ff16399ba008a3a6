import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../atomic-write.ts";
import { join } from "node:path";
import { RESULTS_SCHEMA_VERSION, type ResultsDocument } from "../output.ts";
import { renderSvgs } from "./render-charts.ts";
import { reportCharts, reportVerdict, seedsOf } from "./report-data.ts";
import { reportHtml } from "./report-html.ts";
import { forkBreakdownFigure, forkBreakdownRows, forkBreakdownSpec } from "./fork-breakdown-chart.ts";
import { challengeChartSpec } from "./challenge-chart.ts";
import { resultsDocumentProblem } from "./results-schema.ts";

export const REPORT_FILE = "report.html";

/** A results.json that is missing, unreadable, or of a layout this version cannot read. */
export class ResultsFileError extends Error {
  override readonly name = "ResultsFileError";
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, options);
  }
}

export function readResultsDocument(dir: string): ResultsDocument {
  const path = join(dir, "results.json");
  if (!existsSync(path)) throw new ResultsFileError(path, "not found (refsim run writes it)");
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ResultsFileError(path, `not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const d = doc as Partial<ResultsDocument> | null;
  if (d === null || typeof d !== "object" || d.tool !== "refsim") throw new ResultsFileError(path, "not a refsim results file");
  if (d.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new ResultsFileError(path, `schemaVersion ${String(d.schemaVersion)}; this refsim reads schemaVersion ${RESULTS_SCHEMA_VERSION}`);
  }
  if (!Array.isArray(d.runs) || d.runs.length === 0) throw new ResultsFileError(path, "holds no runs");
  const problem = resultsDocumentProblem(d);
  if (problem !== null) throw new ResultsFileError(path, `not a results file this refsim can read: ${problem}`);
  return d as ResultsDocument;
}

/** The report page of a results document, as HTML text. */
export async function renderReport(doc: ResultsDocument): Promise<string> {
  const charts = reportCharts(doc.runs);
  const breakdown = forkBreakdownRows(doc.runs);
  const svgs = await renderSvgs([...charts.map((c) => c.spec), ...(breakdown.length > 0 ? [forkBreakdownSpec(breakdown)] : [])]);
  const { verdict, overSeeds } = reportVerdict(doc);
  const challenge = verdict.challenge ?? [];
  const challengeSvg = challenge.length > 0 ? (await renderSvgs([challengeChartSpec(challenge)]))[0] : undefined;
  return reportHtml({
    challengeSvg,
    doc,
    charts: charts.map((c, i) => ({ definition: c.definition, points: c.points, svg: svgs[i] })),
    verdict,
    verdictSeeds: overSeeds,
    seeds: seedsOf(doc.runs),
    csvHref: "results.csv",
    jsonHref: "results.json",
    forkBreakdown: forkBreakdownFigure(breakdown, svgs[charts.length] ?? null),
  });
}

/** Writes DIR/report.html beside results.json (read from DIR unless given) and returns its path. */
export async function writeReport(dir: string, doc: ResultsDocument = readResultsDocument(dir)): Promise<string> {
  const path = join(dir, REPORT_FILE);
  writeFileAtomic(path, await renderReport(doc));
  return path;
}
