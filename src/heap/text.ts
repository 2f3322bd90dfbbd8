import { formatBytes } from "../report/units.js";
import type { Explanation } from "./analyse-heap.js";
import type { TypeDiffRow, TypeTable } from "./type-table.js";

/** Plain-text tables for `leaktrail heap`: pure functions, the CLI only prints them. */

const num = (n: number) => n.toLocaleString("en-US");
const signed = (n: number) => (n > 0 ? `+${num(n)}` : num(n));
const signedBytes = (n: number) => (n > 0 ? `+${formatBytes(n)}` : formatBytes(n));
const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "-");

/** Like guppy3's `hp.heap()`: count and size with their shares, retained size, by type. */
export function renderTypeTable(t: TypeTable, top: number): string {
  const rows = t.rows.slice(0, top);
  const lines = [`${"count".padStart(11)} ${"%".padStart(6)} ${"size".padStart(9)} ${"%".padStart(6)} ${"retained".padStart(9)} ${"unreach".padStart(8)}  type`];
  for (const r of rows) {
    lines.push(`${num(r.count).padStart(11)} ${pct(r.count, t.objects).padStart(6)} ${formatBytes(r.size).padStart(9)} ${pct(r.size, t.size).padStart(6)} ${formatBytes(r.retained).padStart(9)} ${(r.unreachable ? num(r.unreachable) : "").padStart(8)}  ${r.type}`);
  }
  if (t.rows.length > rows.length) lines.push(`${"".padStart(11)} … ${t.rows.length - rows.length} more types (--top N)`);
  return lines.join("\n") + "\n";
}

export function renderTypeDiff(rows: TypeDiffRow[], top: number): string {
  if (rows.length === 0) return "no type changed in count, size or retained size\n";
  const shown = rows.slice(0, top);
  const lines = [`${"count".padStart(11)} ${"size".padStart(10)} ${"retained".padStart(10)} ${"now".padStart(11)}  type`];
  for (const r of shown) lines.push(`${signed(r.count).padStart(11)} ${signedBytes(r.size).padStart(10)} ${signedBytes(r.retained).padStart(10)} ${num(r.countAfter).padStart(11)}  ${r.type}`);
  if (rows.length > shown.length) lines.push(`${"".padStart(11)} … ${rows.length - shown.length} more types changed (--top N)`);
  return lines.join("\n") + "\n";
}

/** Retainer paths, most objects first, one numbered block per cluster. */
export function renderExplanation(type: string, ex: Explanation, total: number): string {
  if (ex.targets === 0) return `no object of type ${type} in this heap graph\n`;
  const lines = [`${num(total)} ${type} objects; paths of ${num(ex.targets)} sampled, shortest from a root, clustered:`];
  ex.clusters.forEach((c, i) => {
    lines.push("");
    lines.push(`${i + 1}. ${num(c.path.objects)} of ${num(ex.targets)} objects — this path keeps ${formatBytes(c.retainedBytes)} alive${c.holder < 0 ? " (their own retained sizes)" : ""}`);
    lines.push(`   ${c.strings.join(" → ")}`);
    for (const s of c.path.steps) lines.push(`     ${(s.edge || "(ref)").padEnd(28)} ${s.type.padEnd(32)} ${formatBytes(s.size).padStart(8)}  retains ${formatBytes(s.retained)}`);
  });
  return lines.join("\n") + "\n";
}
