import { defineConfig } from "vitest/config";

// Two projects: fast, self-contained unit tests and slower integration tests
// that talk to Redis / NATS (see shared/STACK.md). Select one with
// `vitest run --project unit` or `--project integration`; plain `vitest run`
// runs both.
//
// In vitest 4 inline projects do NOT inherit the root `test` options unless
// they say `extends: true`; each project below carries its own settings.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          testTimeout: 300_000,
          hookTimeout: 120_000,
          pool: "forks",
        },
      },
    ],
  },
});
