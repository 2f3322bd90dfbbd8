import { formatBytes } from "../report/units.js";
import type { ValueUnit } from "./model.js";

/** A value of a profile column as a person reads it: "1.2 s", "340 ms", "5.1 MB", "12 samples". */
export function formatValue(v: number, unit: ValueUnit): string {
  if (unit === "bytes") return formatBytes(v);
  if (unit === "nanoseconds") {
    const a = Math.abs(v);
    if (a >= 1e9) return `${(v / 1e9).toFixed(2)} s`;
    if (a >= 1e6) return `${(v / 1e6).toFixed(1)} ms`;
    return `${(v / 1e3).toFixed(0)} µs`;
  }
  return `${Math.round(v)} sample${Math.round(v) === 1 ? "" : "s"}`;
}

export function percent(part: number, whole: number): string {
  return whole ? `${((100 * part) / whole).toFixed(1)}%` : "0.0%";
}
