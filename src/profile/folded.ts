/**
 * Collapsed stacks ("folded"): one line per distinct stack, `root;child;leaf VALUE`, the
 * format of Brendan Gregg's stackcollapse scripts that flamegraph.pl, inferno and
 * speedscope read, and what `py-spy record --format raw` writes. A differential profile
 * writes two values per line, `stack BEFORE AFTER`, as difffolded.pl does.
 */
import { functionLabel, type Profile } from "./model.js";

/** Frame labels may not hold the separators of the format. */
function clean(label: string): string {
  return label.replace(/;/g, ":").replace(/[\r\n]+/g, " ");
}

function stackKey(profile: Profile, stack: number[]): string {
  return stack.map((id) => clean(functionLabel(profile.functions[profile.frames[id]!.fn]!))).join(";");
}

/** Folded stacks of column `values[0]` (and, for a differential line, `values[1]`). Lines sorted. */
export function toFolded(profile: Profile, values: number[] = [profile.defaultValue]): string {
  const sums = new Map<string, number[]>();
  for (const s of profile.samples) {
    const key = stackKey(profile, s.stack);
    if (!key) continue;
    let row = sums.get(key);
    if (!row) sums.set(key, (row = values.map(() => 0)));
    values.forEach((v, i) => (row![i]! += s.values[v] ?? 0));
  }
  const lines: string[] = [];
  for (const [key, row] of sums) {
    if (row.every((v) => v === 0)) continue;
    lines.push(`${key} ${row.map((v) => Math.round(v)).join(" ")}`);
  }
  lines.sort();
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/** Reads folded stacks back: stack → values. Used by tests and by nothing that trusts its input. */
export function parseFolded(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const m = /^(.*?)((?: -?\d+)+)$/.exec(line);
    if (!m) throw new Error(`not a folded-stack line: ${line}`);
    out.set(m[1] as string, (m[2] as string).trim().split(" ").map(Number));
  }
  return out;
}
