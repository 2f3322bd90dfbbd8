import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // makes .venv-test (gunicorn from PyPI) on a checkout's first run; see the file
    globalSetup: ["./test/setup/python-venv.ts"],
    setupFiles: ["./test/setup/spin-event-loop.ts"],
    reporters: ["default", "./test/reporter/summary-reporter.ts"],
  },
});
