import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints the closing line CI reads: "N passed, N failed" (", N skipped" when some were).
 * vitest's own summary stays as it is; this only adds the line.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      let modFailed = 0;
      let modSkipped = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") modFailed++;
        else modSkipped++;
      }
      if (mod.state() === "failed" && modFailed === 0) {
        // the file failed outside its tests (a beforeAll, an import): those it skipped
        // did not run because of it, and count as failed; a file with none counts as one
        modFailed = Math.max(1, modSkipped);
        modSkipped = 0;
      }
      failed += modFailed;
      skipped += modSkipped;
    }
    const line = `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`;
    // printed at exit so that it is the run's last line, after vitest's own summary
    process.once("exit", () => process.stdout.write(line));
  }
}
