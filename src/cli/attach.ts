import { isTraceMode } from "../capture/format.js";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { analyse } from "../analysis/analyse.js";
import { attachSession } from "../collect/attach.js";
import { AttachError, parsePid } from "../collect/attach-proc.js";
import { writeReportJson } from "../report/json.js";
import { renderTerminal, styleFor } from "../report/terminal.js";
import { UsageError } from "./errors.js";
import { helpFor, numberOption, parseOptions, type OptionTable } from "./options.js";
import { StatusLine } from "./status-line.js";

export const ATTACH_OPTIONS = {
  duration: { type: "string", value: "SECONDS", help: "how long to collect before detaching (default 30); Ctrl-C stops early" },
  json: { type: "string", value: "FILE", help: "write the report as JSON (leaktrail.report/1)" },
  capture: { type: "string", short: "o", value: "FILE", help: "where to write the capture (default: a new file in the temp folder)" },
  frames: { type: "string", value: "N", help: "frames kept per allocation traceback (default 16; 0 turns tracemalloc off)" },
  interval: { type: "string", value: "SECONDS", help: "seconds between cheap samples (default 0.1)" },
  trace: { type: "string", value: "MODE", help: "tracemalloc mode, auto, windows or full (default: as for 'leaktrail run')" },
  "fail-on-leak": { type: "boolean", help: "exit with status 3 when a leak is found" },
  quiet: { type: "boolean", short: "q", help: "print no summary (the JSON report is still written)" },
  help: { type: "boolean", short: "h", help: "show this help" },
} satisfies OptionTable;

const USAGE = "leaktrail attach [options] PID";
const SUMMARY =
  "Puts the leaktrail agent into a running CPython process (3.9 and newer) without restarting it,\ncollects for a while, takes the agent out again and says whether the process leaks. Needs gdb\nfor Python 3.9–3.13 (sys.remote_exec on 3.14+) and the right to trace the process. The process\nruns on as before. Exit status: 0, 3 with --fail-on-leak and a leak, 130 after Ctrl-C, 1 when\nleaktrail could not attach or detach, 2 for bad arguments.";

/** Exit status when leaktrail could not get in (or out). */
const ATTACH_FAILED = 1;

function defaultCapturePath(pid: number): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return join(tmpdir(), `leaktrail-${stamp}-attach-${pid}.ltcap`);
}

export async function attachCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions("attach", argv, ATTACH_OPTIONS);
  if (values.help) {
    process.stdout.write(helpFor(USAGE, SUMMARY, ATTACH_OPTIONS));
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`attach: no process id given (usage: ${USAGE})`);
  if (positionals.length > 1) throw new UsageError(`attach: give exactly one process id, not '${positionals.join(" ")}' (usage: ${USAGE})`);
  let pid: number;
  try {
    pid = parsePid(positionals[0] as string);
  } catch (err) {
    throw new UsageError(`attach: ${(err as Error).message}`);
  }
  if (pid === process.pid) throw new UsageError("attach: that is leaktrail's own process id");
  const durationS = numberOption("attach", "duration", values.duration, 30, 1, 7 * 24 * 3600);
  const frames = numberOption("attach", "frames", values.frames, 16, 0, 100);
  const interval = numberOption("attach", "interval", values.interval, 0.1, 0.01, 60);
  const trace = values.trace ?? process.env.LEAKTRAIL_TRACE;
  if (trace !== undefined && !isTraceMode(trace)) throw new UsageError(`attach: --trace must be 'auto', 'windows' or 'full', not '${trace}'`);
  const capturePath = resolve(values.capture ?? defaultCapturePath(pid));
  if (existsSync(capturePath)) throw new UsageError(`attach: ${capturePath} exists already; a capture is never overwritten`);

  const debug = !!process.env.LEAKTRAIL_DEBUG;
  const status = new StatusLine(process.stderr);
  let result;
  try {
    result = await attachSession({
      pid,
      capturePath,
      frames: Math.trunc(frames),
      interval,
      trace,
      durationS,
      onRecord: (r) => status.onRecord(r),
      onNote: (msg) => {
        if (values.quiet) return;
        status.stop();
        process.stderr.write(`leaktrail: ${msg}\n`);
        status.start();
      },
      onDebug: debug ? (text) => process.stderr.write(text) : undefined,
    });
  } catch (err) {
    status.stop();
    if (err instanceof AttachError) {
      throw new UsageError(`attach: ${err.message.split("\n")[0]}`, err.kind === "bad-pid" ? 2 : ATTACH_FAILED);
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EACCES" || code === "EEXIST" || code === "EROFS") {
      throw new UsageError(`attach: cannot write the capture ${capturePath}: ${(err as Error).message}`, ATTACH_FAILED);
    }
    throw err;
  }
  status.stop();

  if (result.model.processes.length === 0) {
    process.stderr.write(`leaktrail: attach: process ${pid} sent nothing to analyse. Capture: ${capturePath}\n`);
    return ATTACH_FAILED;
  }
  const { report } = analyse(result.model);
  if (!values.quiet) {
    process.stderr.write(renderTerminal(report, styleFor(process.stderr)));
    if (result.ended === "process-exited") process.stderr.write(`process ${pid} ended while leaktrail was attached.\n`);
    process.stderr.write(`capture: ${capturePath}\n`);
  }
  if (values.json) writeReportJson(values.json, report);
  for (const w of result.warnings) process.stderr.write(`leaktrail: attach: warning: ${w}\n`);
  if (result.detachError) {
    process.stderr.write(
      `leaktrail: attach: could not take the agent out of process ${pid} (${result.detachError}); the agent may still be in it, with tracemalloc on, until the process ends\n`,
    );
    return ATTACH_FAILED;
  }
  if (values["fail-on-leak"] && report.verdict.leak) return 3;
  if (result.stopped) return 130;
  return 0;
}
