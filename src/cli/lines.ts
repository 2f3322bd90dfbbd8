import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentPythonDir } from "../collect/agent-path.js";
import { childStatus, runChild } from "../collect/child-run.js";
import { isRawLines, type RawLines } from "../profile/lines-raw.js";
import { renderLines } from "../profile/lines-table.js";
import { formatBytes } from "../report/units.js";
import { UsageError } from "./errors.js";
import { helpFor, numberOption, parseOptions, type OptionTable } from "./options.js";

export const LINES_OPTIONS = {
  function: { type: "string", short: "f", value: "SPEC", help: "MODULE:FUNCTION, FILE.py:FUNCTION or MODULE:Class.method; several, comma-separated (required)" },
  frames: { type: "string", value: "N", help: "frames per allocation traceback: how deep in called code allocations are still found (default 16)" },
  json: { type: "string", value: "FILE", help: "also write the results as JSON (leaktrail.lines/1, one entry per process)" },
  quiet: { type: "boolean", short: "q", help: "print no table (with --json)" },
  help: { type: "boolean", short: "h", help: "show this help" },
} satisfies OptionTable;

const USAGE = "leaktrail lines --function MODULE:FUNCTION [options] -- COMMAND [ARGS...]";
const SUMMARY =
  "Runs COMMAND and prints, for each line of the chosen functions, the memory it allocated, the\nnet change, the memory it kept (still alive when the call returned) and how often it ran: what\nmemory_profiler's @profile shows, from tracemalloc instead of RSS. The program's output passes\nthrough untouched; the table goes to stderr when it ends; the exit status is the program's.";

const SPEC = /^[^:,\s][^:,]*:[A-Za-z_][A-Za-z0-9_.<>]*$/;

function readResults(dir: string): RawLines[] {
  const out: RawLines[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!/^\d+\.json$/.test(name)) continue;
    try {
      const v: unknown = JSON.parse(readFileSync(join(dir, name), "utf8"));
      if (isRawLines(v)) out.push(v);
    } catch {
      // written by os.replace: never torn
    }
  }
  return out;
}

export async function linesCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions("lines", argv, LINES_OPTIONS);
  if (values.help) {
    process.stdout.write(helpFor(USAGE, SUMMARY, LINES_OPTIONS));
    return 0;
  }
  if (!values.function) throw new UsageError(`lines: say which function with --function MODULE:FUNCTION (usage: ${USAGE})`);
  const specs = values.function.split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of specs) if (!SPEC.test(s)) throw new UsageError(`lines: --function wants MODULE:FUNCTION (e.g. app.views:render or app.py:Cache.get), not '${s}'`);
  if (positionals.length === 0) throw new UsageError(`lines: no command given (usage: ${USAGE})`);
  const frames = Math.trunc(numberOption("lines", "frames", values.frames, 16, 1, 100));

  const dir = mkdtempSync(join(tmpdir(), "leaktrail-lines-"));
  let results: RawLines[];
  let status: number;
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONPATH: [agentPythonDir(), process.env.PYTHONPATH].filter(Boolean).join(":"),
      LEAKTRAIL_LINES: specs.join(","),
      LEAKTRAIL_LINES_OUT: dir,
      LEAKTRAIL_LINES_FRAMES: String(frames),
    };
    const result = await runChild(positionals, env);
    if (result.spawnError) throw new UsageError(`lines: ${result.spawnError}`, 127);
    status = childStatus(result);
    results = readResults(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (values.json) {
    try {
      writeFileSync(values.json, `${JSON.stringify({ schema: "leaktrail.lines-run/1", processes: results }, null, 1)}\n`);
    } catch (err) {
      throw new UsageError(`lines: cannot write ${values.json}: ${(err as Error).message}`, 1);
    }
  }
  if (results.length === 0) {
    process.stderr.write("leaktrail: lines: no Python process reported (a Python started with -I, -E or -S skips leaktrail)\n");
    return status !== 0 ? status : 2;
  }
  const ran = new Set(results.flatMap((r) => r.functions.map((f) => f.spec)));
  if (!values.quiet) {
    const many = results.length > 1;
    for (const r of results) {
      if (r.functions.length === 0) continue;
      if (many) process.stderr.write(`process ${r.pid}: ${r.argv.join(" ")}\n`);
      process.stderr.write(renderLines(r));
      if (r.unattributed[0] > 0) {
        process.stderr.write(
          `(${formatBytes(r.unattributed[0])} in ${r.unattributed[1]} blocks kept with no profiled line in their traceback: other threads, or deeper than --frames ${r.frames})\n\n`,
        );
      }
      for (const e of r.errors.slice(0, 3)) process.stderr.write(`leaktrail: lines: error in the target (caught): ${e}\n`);
    }
  }
  const never = specs.filter((s) => !ran.has(s));
  for (const s of never) process.stderr.write(`leaktrail: lines: ${s} never ran (check the module and function name; a method is Class.method)\n`);
  return status;
}
