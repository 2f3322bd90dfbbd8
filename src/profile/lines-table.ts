/**
 * The line table of `leaktrail lines`, laid out as memory_profiler's: one row per source
 * line of the function, blank columns for lines that never ran. python/leaktrail/lines.py
 * (`format_table`) prints the same for the `@profile` decorator; a test keeps them alike.
 */
import { readFileSync } from "node:fs";
import { formatBytes } from "../report/units.js";
import type { LinesFunction, RawLines } from "./lines-raw.js";

function sourceLines(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split(/\r?\n/);
  } catch {
    return [];
  }
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

export function renderFunction(fn: LinesFunction, frames: number): string {
  const src = sourceLines(fn.file);
  const rows = new Map(fn.lines.map((r) => [r[0], r]));
  const out = [
    `${fn.name} (${fn.file}:${fn.first_line}): ${fn.calls} call${fn.calls === 1 ? "" : "s"}; tracemalloc, ${frames} frames`,
    `${pad("Line", 6)} ${pad("Hits", 8)} ${pad("Allocated", 11)} ${pad("Net", 11)} ${pad("Kept", 11)} ${pad("Blocks", 8)}  Line Contents`,
    "=".repeat(76),
  ];
  for (let line = fn.first_line; line <= fn.last_line; line++) {
    const text = src[line - 1] ?? "";
    const r = rows.get(line);
    out.push(
      r
        ? `${pad(line, 6)} ${pad(r[1], 8)} ${pad(formatBytes(r[2]), 11)} ${pad(formatBytes(r[3]), 11)} ${pad(formatBytes(r[4]), 11)} ${pad(r[5], 8)}  ${text}`
        : `${pad(line, 6)} ${pad("", 8)} ${pad("", 11)} ${pad("", 11)} ${pad("", 11)} ${pad("", 8)}  ${text}`,
    );
  }
  return `${out.join("\n")}\n`;
}

export function renderLines(raw: RawLines): string {
  return raw.functions.map((f) => `${renderFunction(f, raw.frames)}\n`).join("");
}
