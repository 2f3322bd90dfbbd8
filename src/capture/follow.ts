import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { RECORD_KINDS, type CaptureRecord, type Header } from "./format.js";
import { CaptureError, parseCapture } from "./reader.js";

/** Bytes read at most per poll, so that a huge capture is taken in a few bites. */
const CHUNK = 8 << 20;

/**
 * Reads a capture that may still be growing (a run in progress appends to it): each
 * `poll()` returns the records completed since the last one. A line not yet ended by a
 * line break waits for the next poll, so a record is never read half-written.
 */
export class CaptureFollower {
  header: Header | null = null;
  private offset = 0;
  private rest = "";
  private readonly decoder = new StringDecoder("utf8");

  constructor(readonly path: string) {}

  /** Throws CaptureError when the file is missing or is not a capture. */
  poll(): CaptureRecord[] {
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CaptureError(code === "ENOENT" ? `no such capture file: ${this.path}` : `cannot read ${this.path}: ${(err as Error).message}`);
    }
    const records: CaptureRecord[] = [];
    try {
      const stat = fstatSync(fd);
      if (stat.isDirectory()) throw new CaptureError(`${this.path} is a directory, not a capture file`);
      if (stat.size < this.offset) throw new CaptureError(`${this.path} shrank while being read: it is not the capture it was`);
      const buf = Buffer.alloc(CHUNK);
      while (this.offset < stat.size) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK, stat.size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.take(this.decoder.write(buf.subarray(0, n)), records);
      }
    } finally {
      closeSync(fd);
    }
    return records;
  }

  private take(text: string, out: CaptureRecord[]): void {
    const lines = (this.rest + text).split("\n");
    this.rest = lines.pop() ?? "";
    for (const line of lines) {
      if (!this.header) {
        this.header = parseCapture(`${line}\n`, this.path).header;
        continue;
      }
      if (!line) continue;
      try {
        const value = JSON.parse(line) as { k?: string };
        if (value && typeof value === "object" && RECORD_KINDS.has(value.k ?? "")) out.push(value as CaptureRecord);
      } catch {
        // a line that is not a record is skipped, as the reader does
      }
    }
  }
}
