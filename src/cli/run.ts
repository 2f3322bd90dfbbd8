import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { analyse } from "../analysis/analyse.js";
import { runSession } from "../collect/session.js";
import { writeReportJson } from "../report/json.js";
import { renderTerminal, styleFor } from "../report/terminal.js";
import { UsageError } from "./errors.js";
import { helpFor, numberOption, parseOptions, type OptionTable } from "./options.js";
import { StatusLine } from "./status-line.js";
import { isHeapGraphMode, isTraceMode } from "../capture/format.js";
import { LiveVerdict } from "./live-verdict.js";
import { writeHtmlFile } from "./html-output.js";
import { pendingView } from "../html/build-view.js";
import { LiveFeed, viewOf } from "../html/live-feed.js";
import { LiveServer } from "../html/live-server.js";

export const RUN_OPTIONS = {
  json: { type: "string", value: "FILE", help: "write the report as JSON (leaktrail.report/1)" },
  html: { type: "string", value: "FILE", help: "write the report as one self-contained HTML page (opens offline)" },
  ui: { type: "boolean", help: "show the report live in a browser while the program runs (127.0.0.1, URL with a token on stderr; stops with the run)" },
  port: { type: "string", value: "N", help: "port of the --ui server on 127.0.0.1 (default: any free one)" },
  capture: { type: "string", short: "o", value: "FILE", help: "where to write the capture (default: a new file in the temp folder)" },
  frames: { type: "string", value: "N", help: "frames kept per allocation traceback (default 16; 0 turns tracemalloc off)" },
  interval: { type: "string", value: "SECONDS", help: "seconds between cheap samples (default 0.1)" },
  trace: { type: "string", value: "MODE", help: "auto (default): tracemalloc for the whole run while the traced program leaves a CPU mostly idle, else (a CPU kept busy for half a second, or half a CPU over a second) only in short, budgeted windows; windows: only in windows from the start (a few % on allocation-heavy code); full: the whole run, always (exact; 10-25x slower on allocation-heavy code)" },
  "heap-graph": { type: "string", value: "WHEN", help: "auto (default): heap graphs (why objects are alive) at 3 s, then at doubling ages while the heap grows, and at exit; exit: only at exit; off: none. Each is walked by a forked copy: the program pauses only for the fork" },
  "heap-values": { type: "boolean", help: "keep str and bytes contents in heap graphs (first 200 characters); by default only their lengths, dict keys and attribute names are kept" },
  "fail-on-leak": { type: "boolean", help: "exit with status 3 when a leak is found (instead of the program's own)" },
  quiet: { type: "boolean", short: "q", help: "print no summary (the JSON report is still written)" },
  help: { type: "boolean", short: "h", help: "show this help" },
} satisfies OptionTable;

export const RUN_USAGE = "leaktrail run [options] -- COMMAND [ARGS...]";
const RUN_SUMMARY =
  "Runs COMMAND with the leaktrail agent inside every Python process it starts, then says whether\nit leaks, what grows and where it was allocated. The program's output passes through untouched;\nthe exit status is the program's.";

function defaultCapturePath(): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return join(tmpdir(), `leaktrail-${stamp}-${process.pid}.ltcap`);
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions("run", argv, RUN_OPTIONS);
  if (values.help) {
    process.stdout.write(helpFor(RUN_USAGE, RUN_SUMMARY, RUN_OPTIONS));
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`run: no command given (usage: ${RUN_USAGE})`);
  const frames = numberOption("run", "frames", values.frames, 16, 0, 100);
  const interval = numberOption("run", "interval", values.interval, 0.1, 0.01, 60);
  const trace = values.trace ?? process.env.LEAKTRAIL_TRACE ?? "auto";
  if (!isTraceMode(trace)) throw new UsageError(`run: --trace must be 'auto', 'windows' or 'full', not '${trace}'`);
  const heapGraphs = values["heap-graph"] ?? "auto";
  if (!isHeapGraphMode(heapGraphs)) throw new UsageError(`run: --heap-graph must be 'auto', 'exit' or 'off', not '${heapGraphs}'`);
  const capturePath = resolve(values.capture ?? defaultCapturePath());
  if (existsSync(capturePath)) throw new UsageError(`run: ${capturePath} exists already; a capture is never overwritten`);
  const port = numberOption("run", "port", values.port, 0, 0, 65535);
  if (values.port !== undefined && !values.ui) throw new UsageError("run: --port goes with --ui");
  const ui = values.ui ? await startUi(positionals, capturePath, port) : null;

  const status = new StatusLine(process.stderr);
  status.start();
  let result;
  let live: LiveVerdict | null = null;
  try {
    result = await runSession({
      command: positionals,
      capturePath,
      frames,
      interval,
      trace,
      heapGraphs,
      heapValues: values["heap-values"] === true,
      onRecord: (r) => {
        status.onRecord(r);
        ui?.feed?.changed();
      },
      onStart: (snapshot) => {
        live = new LiveVerdict(snapshot, (text) => status.setVerdict(text), values.json);
        live.start();
        if (ui) {
          ui.feed = new LiveFeed(snapshot, (v) => ui.server.publish(v), capturePath);
          ui.feed.start();
        }
      },
    });
  } catch (err) {
    (live as LiveVerdict | null)?.stop();
    status.stop();
    await ui?.server.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EACCES" || code === "EEXIST") throw new UsageError(`run: cannot write the capture ${capturePath}: ${(err as Error).message}`);
    throw err;
  }
  (live as LiveVerdict | null)?.stop();
  status.stop();
  if (ui) {
    // the pages keep this last view; the server does not outlive the run
    ui.feed?.stop();
    ui.server.publish(viewOf(result.model, capturePath, "ended"));
    await ui.server.close();
  }
  if (result.spawnError) {
    rmSync(capturePath, { force: true }); // it holds nothing but its header
    throw new UsageError(`run: ${result.spawnError}`, 127);
  }

  const childStatus = result.exitCode ?? (result.signal ? 128 + signalNumber(result.signal) : 1);
  if (result.model.processes.length === 0) {
    process.stderr.write(
      `leaktrail: '${positionals.join(" ")}' started no Python process that leaktrail could watch (a Python started with -I, -E or -S skips the agent); nothing to analyse. Capture: ${capturePath}\n`,
    );
    return childStatus !== 0 ? childStatus : 2;
  }
  const { report, processes } = analyse(result.model);
  if (!values.quiet) {
    process.stderr.write(renderTerminal(report, styleFor(process.stderr)));
    process.stderr.write(`capture: ${capturePath}\n`);
  }
  if (values.json) writeReportJson(values.json, report);
  if (values.html) writeHtmlFile("run", values.html, { model: result.model, report, processes, capturePath });
  if (values["fail-on-leak"] && report.verdict.leak) return 3;
  if (result.stopped) return 128 + signalNumber(result.stopSignal ?? "SIGINT"); // 130 after Ctrl-C, 143 after SIGTERM
  return childStatus;
}

interface Ui {
  server: LiveServer;
  feed: LiveFeed | null;
}

/** `--ui`: the live page's server, listening before the program starts, its URL on stderr. */
async function startUi(command: string[], capturePath: string, port: number): Promise<Ui> {
  const server = new LiveServer(pendingView(command, process.cwd(), capturePath, { state: "waiting", updated: Date.now() / 1000 }));
  let url: string;
  try {
    url = await server.listen(port);
  } catch (err) {
    throw new UsageError(`run: --ui cannot listen on 127.0.0.1:${port}: ${(err as Error).message}`);
  }
  process.stderr.write(`leaktrail: live report at ${url}\n`);
  return { server, feed: null };
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

function signalNumber(sig: string): number {
  return SIGNALS[sig] ?? 1;
}
