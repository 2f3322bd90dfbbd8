import { renameSync, writeFileSync } from "node:fs";
import { analyse } from "../analysis/analyse.js";
import type { CaptureModel } from "../analysis/model.js";
import type { Report } from "../report/schema.js";

/** Seconds between verdicts during a run (LEAKTRAIL_LIVE_EVERY overrides, for tests); the JSON report is rewritten every few of them. */
const EVERY_SECONDS = Number(process.env.LEAKTRAIL_LIVE_EVERY) > 0 ? Number(process.env.LEAKTRAIL_LIVE_EVERY) : 5;
const JSON_EVERY = 6;

/**
 * The verdict as the run goes on: a long-running service watched for hours gets an
 * answer without being stopped. The analysis runs on the model so far; with `--json`
 * the report file is replaced atomically (write, then rename), so a reader never sees
 * half a file.
 */
export class LiveVerdict {
  private timer: NodeJS.Timeout | null = null;
  private rounds = 0;

  constructor(
    private readonly snapshot: () => CaptureModel,
    private readonly onVerdict: (text: string) => void,
    private readonly jsonPath?: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.round(), EVERY_SECONDS * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  round(): Report | null {
    let report: Report;
    try {
      const model = this.snapshot();
      if (model.processes.length === 0) return null;
      report = analyse(model, { heap: false }).report;
    } catch {
      return null; // a verdict so far is a courtesy; the final one is what counts
    }
    const v = report.verdict;
    const top = report.suspects[0];
    this.onVerdict(v.leak ? `so far: ${v.kind}${top ? ` at ${top.site.file}:${top.site.line}` : ""}` : "so far: no leak");
    this.rounds++;
    if (this.jsonPath && this.rounds % JSON_EVERY === 0) {
      const tmp = `${this.jsonPath}.partial`;
      try {
        writeFileSync(tmp, JSON.stringify({ ...report, partial: true }, null, 2) + "\n");
        renameSync(tmp, this.jsonPath);
      } catch {
        // the final report is written at the end regardless
      }
    }
    return report;
  }
}
