import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildModel, type CaptureModel } from "../analysis/model.js";
import { CaptureError, readCapture } from "../capture/reader.js";
import { captureAllocProfile, diffAllocProfile, noHeapMessage } from "../profile/alloc-stacks.js";
import { formatFor, formatList } from "../profile/formats.js";
import { total } from "../profile/model.js";
import { formatBytes } from "../report/units.js";
import { UsageError } from "./errors.js";
import { parseOptions, helpFor, type OptionTable } from "./options.js";

export const FLAME_OPTIONS = {
  output: { type: "string", short: "o", value: "FILE", help: `where to write it; the extension picks the format: ${formatList()} (default memory.svg)` },
  diff: { type: "string", value: "BASELINE", help: "a capture to compare with: show what grew since it (red grew, blue shrank)" },
  pid: { type: "string", value: "PID", help: "only this process of the capture" },
  help: { type: "boolean", short: "h", help: "show this help" },
} satisfies OptionTable;

const USAGE = "leaktrail flame CAPTURE [--diff BASELINE] [-o FILE]";
const SUMMARY =
  "A memory flame graph from a capture of 'leaktrail run': the bytes still alive, by allocation stack\n(tracemalloc's tracebacks). With --diff, the difference to a baseline capture: widths are the\nlater memory, red what grew, blue what shrank. Any profile format by the output's extension.";

function load(path: string, what: string): CaptureModel {
  try {
    const parsed = readCapture(path);
    const model = buildModel(parsed.header, parsed.records, parsed.truncated);
    const missing = noHeapMessage(model);
    if (missing) throw new UsageError(`flame: ${what} ${path} ${missing}`, 1);
    return model;
  } catch (err) {
    if (err instanceof CaptureError) throw new UsageError(`flame: ${err.message}`, 1);
    throw err;
  }
}

export async function flameCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions("flame", argv, FLAME_OPTIONS);
  if (values.help) {
    process.stdout.write(helpFor(USAGE, SUMMARY, FLAME_OPTIONS));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`flame: give one capture file (usage: ${USAGE})`);
  const output = resolve(values.output ?? "memory.svg");
  const format = formatFor(output);
  if (!format) throw new UsageError(`flame: cannot tell the format of '${values.output}' from its extension (use one of ${formatList()})`);
  let pid: number | undefined;
  if (values.pid !== undefined) {
    pid = Number(values.pid);
    if (!Number.isInteger(pid) || pid <= 0) throw new UsageError(`flame: --pid must be a process id, not '${values.pid}'`);
  }
  const later = load(positionals[0] as string, "capture");
  if (pid !== undefined && !later.processes.some((p) => p.pid === pid)) throw new UsageError(`flame: the capture has no process ${pid} (it has ${later.processes.map((p) => p.pid).join(", ")})`);
  const base = values.diff ? load(values.diff, "baseline") : null;
  const profile = base ? diffAllocProfile(base, later, { pid }) : captureAllocProfile(later, { pid });
  const opts = base ? { value: 1, diff: { before: 0, after: 1 } } : {};
  try {
    writeFileSync(output, format.write(profile, opts));
  } catch (err) {
    throw new UsageError(`flame: cannot write ${output}: ${(err as Error).message}`, 1);
  }
  const summary = base
    ? `${formatBytes(total(profile, 0))} → ${formatBytes(total(profile, 1))}, ${formatBytes(total(profile, 2))} grew`
    : `${formatBytes(total(profile, 0))} in ${total(profile, 1)} blocks`;
  process.stderr.write(`leaktrail: ${summary} → ${output}\n`);
  return 0;
}
