import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests start real HTTP servers on loopback; the default 5 s leaves no room on a loaded 2-core CI box.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The JSON report feeds the totals line of .ci/run.
    reporters: ["default", ["json", { outputFile: ".vitest/results.json" }]],
  },
});
