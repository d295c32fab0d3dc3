import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests share the real servers; files run one at a time so
    // they never fight over ports, deadlock recipes or connection limits.
    fileParallelism: false,
    globalSetup: ["test/support/global-setup.ts"],
    reporters: ["default"],
  },
});
