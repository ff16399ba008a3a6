// Mutation testing (Stryker 9.6, the line that runs on Node 20; its vitest runner supports
// vitest 4.1). `npm run mutation` runs it one group of files at a time (scripts/mutation.mjs) and
// prints the score of each; this file holds what every group shares.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutation.config.ts", related: true },
  // Each mutant runs only the tests that executed its code in the first, instrumented run.
  coverageAnalysis: "perTest",
  // Mutants in code that runs once at module load (constant tables) would each need the whole
  // unit suite; they are left out. Their values are pinned by the hand-computed tests instead.
  ignoreStatic: true,
  // The machine is shared: two test processes at most.
  concurrency: 2,
  timeoutMS: 10_000,
  // The first, instrumented run of every covering test: minutes when the machine is busy.
  dryRunTimeoutMinutes: 30,
  timeoutFactor: 2,
  // The incremental file is a local cache (reports/ is gitignored): see scripts/mutation.mjs.
  incremental: true,
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  reporters: ["progress", "clear-text"],
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
  ignorePatterns: ["results", "coverage", "dist", "test-output", "bench-output", "*.log", "test/integration"],
  disableTypeChecks: "{shared,coordinator,worker}/**/*.ts",
  thresholds: { high: 90, low: 80, break: null },
};
