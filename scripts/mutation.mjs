// `npm run mutation [-- [--concurrency=N] GROUP_OR_PATH ...]`: mutation testing with Stryker, one group of files at
// a time, then a table of the score of each group.
//
// With no argument it runs the groups whose score the project holds at 80% or more (GROUPS).
// An argument is a group's name, a folder or a file (e.g. shared/spec, coordinator/table.ts), or
// several of them joined by commas, taken as one group.
// Each group keeps its own incremental file, reports/mutation/<group>.incremental.json, so a
// second run re-tests only the mutants whose code or covering tests changed. reports/ is
// gitignored: the incremental file is a cache of this machine's last run (it embeds the source
// of every mutated file and test), it changes with every model change, and checked in it would
// conflict between every branch that touches the model; a missing one means a full run.
// --tests=FILE,FILE,... runs each mutant against those unit test files only (their covering
// tests among them), for groups whose code every simulating test covers (the engine): with the
// whole suite a surviving mutant costs the whole suite's time, minutes on a loaded machine. Such a
// score is a lower bound of the whole suite's (a mutant a subset kills, the suite kills too); it
// keeps an incremental file of its own and the table says which files it used.
// Equivalent mutants (no observable effect) are listed with their reasons in
// test/mutation-equivalents.md; the score counts them as survivors.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { Stryker } from "@stryker-mutator/core";

const GROUPS = {
  "shared/engine": ["shared/engine/**/*.ts"],
  "shared/kernel": ["shared/kernel/**/*.ts"],
  "shared/schemes": ["shared/schemes/**/*.ts"],
  "shared/metrics": ["shared/metrics/**/*.ts"],
  "shared/coherence": ["shared/coherence/**/*.ts"],
  // The functions that compute a run's figures from the partitions' reports, and the
  // coordinator's that compute figures from results (efficiency, verdict, table, report data,
  // a sweep's results document; the namespace-share verdict, the 2006 challenge's split, the
  // table's figure helpers).
  results: [
    "shared/{,*/}report.ts",
    "coordinator/experiment.ts",
    "coordinator/table.ts",
    "coordinator/verdict.ts",
    "coordinator/namespace-share-verdict.ts",
    "coordinator/challenge.ts",
    "coordinator/figures.ts",
    "coordinator/report/report-data.ts",
    "coordinator/sweep/output.ts",
  ],
};

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
// --concurrency=N overrides stryker.config.mjs (2): the test processes running mutants at once.
const concurrency = process.argv.find((a) => a.startsWith("--concurrency="))?.split("=")[1];
// --tests=...: read by vitest.mutation.config.ts in Stryker's test processes (they inherit it).
const tests = process.argv.find((a) => a.startsWith("--tests="))?.slice("--tests=".length);
if (tests !== undefined) process.env.REFSIM_MUTATION_TESTS = tests;
const chosen = args.length === 0 ? Object.keys(GROUPS) : args;
const rows = [];
mkdirSync("reports/mutation", { recursive: true });
for (const name of chosen) {
  // A group's name, or paths separated by commas (one group): a file, or a folder's every .ts.
  const mutate = GROUPS[name] ?? name.split(",").map((p) => (/\.ts$/.test(p) ? p : `${p.replace(/\/$/, "")}/**/*.ts`));
  // A long list of paths would make a file name past the file system's limit: its start and a hash.
  const base = name.replace(/[^A-Za-z0-9]+/g, "-");
  const short = base.length <= 100 ? base : `${base.slice(0, 80)}-${createHash("sha256").update(name).digest("hex").slice(0, 12)}`;
  const slug = short + (tests === undefined ? "" : "-subset");
  const t0 = Date.now();
  const results = await new Stryker({
    configFile: "stryker.config.mjs",
    mutate,
    incrementalFile: `reports/mutation/${slug}.incremental.json`,
    ...(concurrency === undefined ? {} : { concurrency: Number(concurrency) }),
  }).runMutationTest();
  const count = (...statuses) => results.filter((r) => statuses.includes(r.status)).length;
  const killed = count("Killed", "Timeout");
  const survived = count("Survived");
  const noCoverage = count("NoCoverage");
  const errors = count("RuntimeError", "CompileError");
  const ignored = count("Ignored");
  const valid = killed + survived + noCoverage;
  const score = valid === 0 ? "n/a" : ((100 * killed) / valid).toFixed(1);
  rows.push({ group: name, mutants: results.length, ignored, killed, survived, noCoverage, errors, score, seconds: Math.round((Date.now() - t0) / 1000) });
  const survivors = results
    .filter((r) => r.status === "Survived" || r.status === "NoCoverage")
    .map((r) => `${r.status}\t${r.fileName}:${r.location.start.line}:${r.location.start.column + 1}\t${r.mutatorName}\t${(r.replacement ?? "").replace(/\s+/g, " ").slice(0, 120)}`);
  writeFileSync(`reports/mutation/${slug}.survivors.tsv`, survivors.join("\n") + "\n");
}

const cols = ["group", "mutants", "ignored", "killed", "survived", "noCoverage", "errors", "score", "seconds"];
const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
const line = (vals) => vals.map((v, i) => (i === 0 ? String(v).padEnd(width[i]) : String(v).padStart(width[i]))).join("  ");
console.log("\nMutation score per group (killed includes timeouts; ignored: static mutants, see stryker.config.mjs; score = killed / (killed + survived + no coverage)):");
console.log(line(cols));
for (const r of rows) console.log(line(cols.map((c) => r[c])));
if (tests !== undefined) console.log(`Tests: ${tests} only (a lower bound of the whole unit suite's score)`);
console.log("Survivors of each group: reports/mutation/<group>.survivors.tsv; equivalent mutants: test/mutation-equivalents.md");
