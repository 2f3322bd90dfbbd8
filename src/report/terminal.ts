import type { Report } from "./schema.js";
import { formatBytes, formatRate } from "./units.js";

export interface Style {
  bold(s: string): string;
  red(s: string): string;
  green(s: string): string;
  dim(s: string): string;
}

const plain: Style = { bold: (s) => s, red: (s) => s, green: (s) => s, dim: (s) => s };
const ansi: Style = {
  bold: (s) => `\x1b[1m${s}\x1b[22m`,
  red: (s) => `\x1b[31m${s}\x1b[39m`,
  green: (s) => `\x1b[32m${s}\x1b[39m`,
  dim: (s) => `\x1b[2m${s}\x1b[22m`,
};

/** Colour only on a terminal, and never when NO_COLOR is set. */
export function styleFor(stream: NodeJS.WriteStream): Style {
  return stream.isTTY && !process.env.NO_COLOR ? ansi : plain;
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l).join("\n");
}

/** Most processes listed one per line under a group; the rest are in the JSON report. */
const MAX_PROCESS_LINES = 8;

function processLine(p: Report["processes"][number], indent: string): string {
  const state = p.judged === false ? "not judged (too little steady series for a fit)" : p.leak ? p.kind : "no leak";
  return `${indent}pid ${p.pid}  ${state}  ${p.duration_s.toFixed(1)} s  rss ${formatBytes(p.rss_start)} → ${formatBytes(p.rss_end)}`;
}

/** The processes section: one heading per group (root, workers, …), its processes below. */
function renderProcesses(report: Report, style: Style): string[] {
  const procs = report.processes;
  const groups = report.groups ?? [];
  if (groups.length === 0) {
    return [
      style.bold(`Processes (${procs.length}):`),
      ...procs.map((p) => `  pid ${p.pid}  ${p.leak ? p.kind : "no leak"}  rss ${formatBytes(p.rss_start)} → ${formatBytes(p.rss_end)}  ${p.argv.join(" ").slice(0, 50)}`),
    ];
  }
  const out = [style.bold(`Processes (${procs.length}) in ${groups.length} group${groups.length === 1 ? "" : "s"}:`)];
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  for (const g of groups) {
    const count = g.pids.length > 1 ? ` ×${g.pids.length}` : "";
    const role = g.role === "root" ? "root" : `children of ${g.parent ?? "?"}`;
    const unjudged = g.pids.length - g.judged.length;
    const single = byPid.get(g.pids[0] ?? -1);
    const verdict =
      g.pids.length === 1 && g.judged.length === 1 && single
        ? single.leak ? single.kind : "no leak"
        : g.leaking.length > 0
        ? `${g.leaking.length} of ${g.judged.length} judged leak` + (g.leak && g.top_site ? ` at ${g.top_site.file}:${g.top_site.line}${g.top_type ? ` (${g.top_type})` : ""}` : "")
        : g.judged.length > 0
          ? `no leak in ${g.judged.length} judged`
          : "none judged";
    const head = `  ${g.name}${count} (${role}): ${verdict}${unjudged > 0 ? `, ${unjudged} too short to judge` : ""}`;
    out.push(g.leak ? style.red(head) : head);
    const parentArgv = groups.find((x) => x.name === g.parent)?.argv;
    if (JSON.stringify(parentArgv) !== JSON.stringify(g.argv)) out.push(style.dim(`    ${g.argv.join(" ").slice(0, 84)}`));
    const members = g.pids.map((pid) => byPid.get(pid)).filter((p): p is Report["processes"][number] => p !== undefined);
    for (const p of members.slice(0, MAX_PROCESS_LINES)) out.push(processLine(p, "    "));
    if (members.length > MAX_PROCESS_LINES) out.push(style.dim(`    … ${members.length - MAX_PROCESS_LINES} more in the JSON report`));
  }
  return out;
}

/** The summary printed after a run or by `leaktrail report`. */
export function renderTerminal(report: Report, style: Style = plain, maxSuspects = 5): string {
  const v = report.verdict;
  const out: string[] = [""];
  const head = v.leak
    ? style.red(style.bold(`LEAK (${v.kind})`)) + ` growing ${formatRate(v.growth_bytes_per_s)}, confidence ${(v.confidence * 100).toFixed(1)}%`
    : style.green(style.bold("NO LEAK")) + `, confidence ${(v.confidence * 100).toFixed(1)}%`;
  out.push(`leaktrail: ${head}`);
  out.push(wrap(v.explanation, 88, "  "));
  if (report.suspects.length > 0) {
    out.push("");
    out.push(style.bold("Suspects, most likely first:"));
    report.suspects.slice(0, maxSuspects).forEach((s, i) => {
      const what = s.type ? `${s.count_growth} × ${s.type}` : `${s.count_growth} blocks`;
      out.push(
        `  ${i + 1}. ${s.site.file}:${s.site.line} in ${s.site.function}()  ${what}, +${formatBytes(s.size_growth_bytes)} (${Math.round(s.share * 100)}%)`,
      );
      const tb = s.traceback.slice(0, 6);
      for (const f of tb) out.push(style.dim(`       ${f.file}:${f.line} ${f.function}`));
      if (s.retainers.length > 0) out.push(`       kept alive by: ${s.retainers.join(" → ")}`);
    });
    if (report.suspects.length > maxSuspects) out.push(style.dim(`  … ${report.suspects.length - maxSuspects} more in the JSON report`));
  }
  if (report.growing_types.length > 0) {
    out.push("");
    out.push(style.bold("Growing types:"));
    for (const t of report.growing_types.slice(0, 6)) {
      out.push(`  ${t.type.padEnd(24)} ${String(t.count_start).padStart(9)} → ${String(t.count_end).padEnd(9)} (${t.count_per_s.toFixed(1)}/s)`);
    }
  }
  const procs = report.processes;
  if (procs.length > 1) out.push("", ...renderProcesses(report, style));
  const run = report.run;
  if (run.signal) out.push(style.red(`\nThe program was killed by ${run.signal}${run.signal === "SIGKILL" ? " (out of memory?)" : ""}; the report covers what was captured until then.`));
  if (run.stopped) out.push(`\nThe run was ${run.stopped}; the report covers what was captured until then.`);
  if (run.capture_truncated) out.push("\nThe capture ends in a torn line (its writer was killed); that line was ignored.");
  for (const p of procs) for (const e of p.agent_errors.slice(0, 3)) out.push(style.dim(`agent (pid ${p.pid}) reported: ${e}`));
  return out.join("\n") + "\n";
}
