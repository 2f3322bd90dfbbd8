import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { agentPythonDir } from "../collect/agent-path.js";
import { childStatus, runChild } from "../collect/child-run.js";
import { formatValue, percent } from "../profile/format-value.js";
import { formatFor, formatList, type ProfileFormat } from "../profile/formats.js";
import { functionTable, renderFunctionTable } from "../profile/function-table.js";
import { total, valueIndex, type Profile } from "../profile/model.js";
import type { RawStacks } from "../profile/raw.js";
import { settleStacksDir } from "../profile/read-stacks.js";
import { stacksProfile } from "../profile/stacks-profile.js";
import { UsageError } from "./errors.js";
import { helpFor, numberOption, parseOptions, type OptionTable } from "./options.js";
import { profilePid } from "./profile-pid.js";

export const PROFILE_OPTIONS = {
  output: { type: "string", short: "o", value: "FILE", help: `where to write the profile; its extension picks the format: ${formatList()} (default profile.svg)` },
  rate: { type: "string", short: "r", value: "HZ", help: "samples per second (default 100)" },
  memory: { type: "boolean", help: "also trace allocations (tracemalloc): bytes allocated and retained per function; slower, see docs/profile.md" },
  frames: { type: "string", value: "N", help: "frames per allocation traceback with --memory (default 16)" },
  value: { type: "string", value: "WHAT", help: "what svg and folded output show: cpu (default), wall, alloc or retained (the last two need --memory)" },
  top: { type: "string", value: "N", help: "functions in the summary table (default 10; 0: no table)" },
  pid: { type: "string", short: "p", value: "PID", help: "profile a running Python process instead of starting a command (gdb on 3.9-3.13)" },
  duration: { type: "string", short: "d", value: "SECONDS", help: "with --pid: how long to sample (default 10)" },
  quiet: { type: "boolean", short: "q", help: "print no summary" },
  help: { type: "boolean", short: "h", help: "show this help" },
} satisfies OptionTable;

const USAGE = "leaktrail profile [options] -- COMMAND [ARGS...]\n       leaktrail profile [options] --pid PID [--duration SECONDS]";
const SUMMARY =
  "Samples the Python stacks of every thread of every Python process COMMAND starts (100 times a\nsecond, from a thread inside each process) and writes a CPU profile: a flame graph, speedscope,\npprof or folded stacks. With --memory, per function also the bytes allocated and retained. The\nprogram's output passes through untouched; the exit status is the program's.";

/** How long to wait, after the command ended, for processes it left running to write their profile. */
const DRAIN_MS = 3000;

const VALUES: Record<string, string> = { cpu: "cpu", wall: "samples", alloc: "alloc_space", retained: "inuse_space" };

export async function profileCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions("profile", argv, PROFILE_OPTIONS);
  if (values.help) {
    process.stdout.write(helpFor(USAGE, SUMMARY, PROFILE_OPTIONS));
    return 0;
  }
  const output = resolve(values.output ?? "profile.svg");
  const format = formatFor(output);
  if (!format) throw new UsageError(`profile: cannot tell the format of '${values.output}' from its extension (use one of ${formatList()})`);
  const rate = numberOption("profile", "rate", values.rate, 100, 1, 1000);
  const frames = Math.trunc(numberOption("profile", "frames", values.frames, 16, 1, 100));
  const top = Math.trunc(numberOption("profile", "top", values.top, 10, 0, 1000));
  const what = values.value ?? "cpu";
  if (!VALUES[what]) throw new UsageError(`profile: --value must be cpu, wall, alloc or retained, not '${what}'`);
  if ((what === "alloc" || what === "retained") && !values.memory) throw new UsageError(`profile: --value ${what} needs --memory`);

  let raws: RawStacks[];
  let status = 0;
  let name: string;
  if (values.pid !== undefined) {
    if (positionals.length > 0) throw new UsageError("profile: give either --pid or a command, not both");
    const durationS = numberOption("profile", "duration", values.duration, 10, 0.1, 7 * 24 * 3600);
    const got = await profilePid({ pid: values.pid, durationS, rate, memory: !!values.memory, frames, quiet: !!values.quiet });
    raws = got.raws;
    status = got.status;
    name = `pid ${values.pid}`;
  } else {
    if (positionals.length === 0) throw new UsageError(`profile: no command given (usage: ${USAGE.split("\n")[0]})`);
    if (values.duration !== undefined) throw new UsageError("profile: --duration goes with --pid; a command is profiled until it ends");
    const dir = mkdtempSync(join(tmpdir(), "leaktrail-profile-"));
    try {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PYTHONPATH: [agentPythonDir(), process.env.PYTHONPATH].filter(Boolean).join(":"),
        LEAKTRAIL_PROFILE: dir,
        LEAKTRAIL_PROFILE_HZ: String(rate),
        LEAKTRAIL_PROFILE_MEMORY: values.memory ? "1" : "0",
        LEAKTRAIL_PROFILE_FRAMES: String(frames),
      };
      const result = await runChild(positionals, env);
      if (result.spawnError) throw new UsageError(`profile: ${result.spawnError}`, 127);
      status = childStatus(result);
      raws = await settleStacksDir(dir, DRAIN_MS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    name = positionals.join(" ");
  }
  if (raws.length === 0) {
    process.stderr.write(
      `leaktrail: profile: no Python process reported samples (a Python started with -I, -E or -S skips leaktrail); nothing written to ${output}\n`,
    );
    return status !== 0 ? status : 2;
  }
  const profile = stacksProfile(raws, { cwd: process.cwd(), name });
  if (profile.samples.length === 0 && !values.quiet) {
    process.stderr.write(`leaktrail: profile: no samples: the program ended before the first tick (${(1000 / rate).toFixed(0)} ms); ${output} is empty\n`);
  }
  const shown = valueIndex(profile, VALUES[what] as string);
  write(output, format, profile, shown >= 0 ? shown : profile.defaultValue);
  if (!values.quiet) process.stderr.write(summary(profile, raws, output, top));
  return status;
}

function write(output: string, format: ProfileFormat, profile: Profile, value: number): void {
  try {
    writeFileSync(output, format.write(profile, { value }));
  } catch (err) {
    throw new UsageError(`profile: cannot write ${output}: ${(err as Error).message}`, 1);
  }
}

function summary(profile: Profile, raws: RawStacks[], output: string, top: number): string {
  const ticks = raws.reduce((a, r) => a + r.ticks, 0);
  const threads = raws.reduce((a, r) => a + r.threads.length, 0);
  const samples = total(profile, 0);
  const cpu = raws.reduce((a, r) => a + r.process_cpu_ns, 0);
  const own = raws.reduce((a, r) => a + r.sampler_cpu_ns, 0);
  const errors = raws.flatMap((r) => r.errors);
  const lines = [
    `leaktrail: ${raws.length} process${raws.length === 1 ? "" : "es"}, ${threads} thread${threads === 1 ? "" : "s"}, ${ticks} ticks, ${samples} stack samples, ${formatValue(cpu, "nanoseconds")} CPU (the sampler's own: ${percent(own, cpu)}) → ${output}`,
  ];
  if (raws.some((r) => r.memory)) {
    const kept = raws.reduce((a, r) => a + (r.retained_total?.[0] ?? 0), 0);
    lines.push(`  memory: ${formatValue(kept, "bytes")} retained at exit (tracemalloc, ${raws[0]?.trace_frames ?? 0} frames)`);
  }
  for (const e of errors.slice(0, 3)) lines.push(`  sampler error (caught): ${e}`);
  let text = `${lines.join("\n")}\n`;
  if (top > 0 && profile.samples.length > 0) text += renderFunctionTable(profile, functionTable(profile), top);
  return text;
}
