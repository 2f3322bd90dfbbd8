import { readFileSync } from "node:fs";
import { CAPTURE_SCHEMA, RECORD_KINDS, type Header, type CaptureRecord } from "./format.js";

export class CaptureError extends Error {}

export interface ParsedCapture {
  header: Header;
  records: CaptureRecord[];
  /** The last line was cut short (the writer was killed mid-line); it was dropped. */
  truncated: boolean;
  /** Lines that were not valid records and were skipped. */
  skipped: number;
}

/** Parses a capture's text. Throws CaptureError when it is not a leaktrail capture at all. */
export function parseCapture(text: string, name = "capture"): ParsedCapture {
  if (text.length === 0) throw new CaptureError(`${name} is empty: the run wrote nothing`);
  const lines = text.split("\n");
  const endsClean = text.endsWith("\n");
  const last = lines.pop() ?? "";
  let truncated = false;
  if (!endsClean && last.length > 0) truncated = true;
  let header: Header;
  const first = lines[0] ?? (truncated ? last : "");
  try {
    header = JSON.parse(first) as Header;
  } catch {
    throw new CaptureError(`${name} is not a leaktrail capture (its first line is not JSON)`);
  }
  if (!header || typeof header !== "object" || typeof header.schema !== "string") {
    throw new CaptureError(`${name} is not a leaktrail capture (no schema in its header)`);
  }
  if (header.schema !== CAPTURE_SCHEMA) {
    throw new CaptureError(`${name} has schema ${header.schema}; this leaktrail reads ${CAPTURE_SCHEMA}`);
  }
  const records: CaptureRecord[] = [];
  let skipped = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (value && typeof value === "object" && RECORD_KINDS.has((value as { k?: string }).k ?? "")) {
      records.push(value as CaptureRecord);
    } else {
      skipped++;
    }
  }
  return { header, records, truncated, skipped };
}

export function readCapture(path: string): ParsedCapture {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CaptureError(`no such capture file: ${path}`);
    if (code === "EISDIR") throw new CaptureError(`${path} is a directory, not a capture file`);
    throw new CaptureError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return parseCapture(text, path);
}
