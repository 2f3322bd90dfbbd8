/**
 * Per function, what cProfile and memory_profiler give between them: the share of CPU time
 * with the function on the stack (inclusive) and in it (self), and with --memory the bytes
 * allocated (sampled) and retained under it (inclusive). Rows sorted by inclusive CPU.
 */
import { functionTotals } from "./call-tree.js";
import { formatValue, percent } from "./format-value.js";
import { total, valueIndex, type Profile } from "./model.js";

export interface FunctionRow {
  name: string;
  file: string;
  line: number;
  /** Shares of the whole (0..1) of the CPU column (wall samples when there is no CPU clock). */
  cpuTotal: number;
  cpuSelf: number;
  /** Bytes, inclusive; null without --memory. */
  allocated: number | null;
  retained: number | null;
}

export function functionTable(profile: Profile): FunctionRow[] {
  const cpu = profile.defaultValue;
  const alloc = valueIndex(profile, "alloc_space");
  const kept = valueIndex(profile, "inuse_space");
  const whole = total(profile, cpu);
  const rows = functionTotals(profile)
    .filter((t) => profile.functions[t.fn]!.file !== "") // not the per-process roots
    .map((t): FunctionRow => {
      const f = profile.functions[t.fn]!;
      return {
        name: f.name,
        file: f.file,
        line: f.startLine,
        cpuTotal: whole ? (t.total[cpu] ?? 0) / whole : 0,
        cpuSelf: whole ? (t.self[cpu] ?? 0) / whole : 0,
        allocated: alloc >= 0 ? (t.total[alloc] ?? 0) : null,
        retained: kept >= 0 ? (t.total[kept] ?? 0) : null,
      };
    });
  rows.sort((a, b) => b.cpuTotal - a.cpuTotal || (b.retained ?? 0) - (a.retained ?? 0) || (a.name < b.name ? -1 : 1));
  return rows;
}

export function renderFunctionTable(profile: Profile, rows: FunctionRow[], limit: number): string {
  const memory = rows.some((r) => r.allocated !== null);
  const unit = profile.valueTypes[profile.defaultValue]!;
  const head = unit.type === "cpu" ? ["CPU", "self"] : ["wall", "self"];
  const out = [`  ${head[0]!.padStart(6)} ${head[1]!.padStart(6)}${memory ? `${"allocated".padStart(11)}${"retained".padStart(11)}` : ""}  function`];
  const byCpu = rows.slice(0, limit);
  const shown = new Set(byCpu);
  // with --memory, the functions that keep the most memory belong in the table too
  if (memory) for (const r of [...rows].sort((a, b) => (b.retained ?? 0) - (a.retained ?? 0)).slice(0, Math.ceil(limit / 2))) if ((r.retained ?? 0) > 0 && !shown.has(r)) byCpu.push(r);
  for (const r of byCpu) {
    const where = r.line ? `${r.file}:${r.line}` : r.file;
    const mem = memory ? `${formatValue(r.allocated ?? 0, "bytes").padStart(11)}${formatValue(r.retained ?? 0, "bytes").padStart(11)}` : "";
    out.push(`  ${percent(r.cpuTotal, 1).padStart(6)} ${percent(r.cpuSelf, 1).padStart(6)}${mem}  ${r.name} (${where})`);
  }
  return `${out.join("\n")}\n`;
}
