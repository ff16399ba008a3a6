import { defineConfig } from "vitest/config";

// The unit tests for Stryker (stryker.config.mjs): each mutant runs the unit tests that cover it.
// Left out: the integration tests (they need services and take minutes); the embedded sweep's
// test (it runs points in worker threads, which load the sandbox's code without Stryker's mutant
// switch); and the three slowest unit files, which test the parallel-run protocol and the input
// decoders rather than the model's answers and would run for nearly every mutant of the model
// (they cover it all): checkpoint (14 s), fuzz (7 s) and partitioned (3 s). A mutant only they
// would catch counts as a survivor here. The timeout is generous: mutation runs share the machine.
// REFSIM_MUTATION_TESTS (set by `npm run mutation -- --tests=...`): those files only.
const only = process.env.REFSIM_MUTATION_TESTS?.split(",").filter((f) => f !== "");
export default defineConfig({
  test: {
    include: only ?? ["test/unit/**/*.test.ts"],
    exclude: ["test/unit/sweep-embedded.test.ts", "test/unit/checkpoint.test.ts", "test/unit/fuzz.test.ts", "test/unit/partitioned.test.ts"],
    environment: "node",
    testTimeout: 120_000,
  },
});
