import { defineConfig } from "vitest/config";

// The compose cluster test (test/compose/): it builds the Docker image and runs the cluster in
// containers, so it needs Docker and takes minutes. Not part of `npm test`; run it with
// `npm run test:compose` (.ci/run does, after `npm test`).
export default defineConfig({
  test: {
    include: ["test/compose/**/*.test.ts"],
    environment: "node",
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: "forks",
  },
});
