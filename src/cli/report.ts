import { resolve } from "node:path";
import { buildModel } from "../analysis/model.js";
import { analyse } from "../analysis/analyse.js";
import { CaptureError, readCapture } from "../capture/reader.js";
import { writeReportJson } from "../report/json.js";
import { renderTerminal, styleFor } from "../report/terminal.js";
import { writeHtmlFile } from "./html-output.js";
import { UsageError } from "./errors.js";
import { helpFor, parseOptions, type OptionTable } from "./options.js";

export const REPORT_OPTIONS = {
  json: { type: "string", value: "FILE", help: "write the report as JSON (leaktrail.report/1)" },
  html: { type: "string", value: "FILE", help: "write the report as one self-contained HTML page (opens offline)" },
  "fail-on-leak": { type: "boolean", help: "exit with status 3 when the capture shows a leak" },
  quiet: { type: "boolean", short: "q", help: "print no summary" },
  help: { type: "boolean", short: "h", help: "show this help" },
} satisfies OptionTable;

const USAGE = "leaktrail report [options] CAPTURE";
const SUMMARY = "Analyses a capture written by 'leaktrail run' and gives the same answer the live run gave.";

export function reportCommand(argv: string[]): number {
  const { values, positionals } = parseOptions("report", argv, REPORT_OPTIONS);
  if (values.help) {
    process.stdout.write(helpFor(USAGE, SUMMARY, REPORT_OPTIONS));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`report: give exactly one capture file (usage: ${USAGE})`);
  const path = positionals[0] as string;
  let parsed;
  try {
    parsed = readCapture(path);
  } catch (err) {
    if (err instanceof CaptureError) throw new UsageError(`report: ${err.message}`);
    throw err;
  }
  const model = buildModel(parsed.header, parsed.records, parsed.truncated);
  if (model.processes.length === 0) throw new UsageError(`report: ${path} holds no measurements from any Python process`);
  const { report, processes } = analyse(model);
  if (!values.quiet) process.stdout.write(renderTerminal(report, styleFor(process.stdout)));
  if (values.json) writeReportJson(values.json, report);
  if (values.html) writeHtmlFile("report", values.html, { model, report, processes, capturePath: resolve(path) });
  return values["fail-on-leak"] && report.verdict.leak ? 3 : 0;
}
