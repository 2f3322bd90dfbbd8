import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { CAPTURE_SCHEMA, type Header, type CaptureRecord } from "./format.js";

/**
 * Appends records to a capture file, one line at a time, with synchronous writes: once
 * `append` returns, the line is in the kernel's page cache and survives a `kill -9` of
 * this process. Lines from the agent are written as received (they are already JSON).
 */
export class CaptureWriter {
  private fd: number | null;

  constructor(readonly path: string, header: Omit<Header, "schema">) {
    this.fd = openSync(path, "wx");
    this.appendLine(JSON.stringify({ schema: CAPTURE_SCHEMA, ...header }));
  }

  appendLine(line: string): void {
    if (this.fd === null) return;
    writeSync(this.fd, line.endsWith("\n") ? line : line + "\n");
  }

  append(record: CaptureRecord): void {
    this.appendLine(JSON.stringify(record));
  }

  close(): void {
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
    } catch {
      // a capture on a filesystem without fsync is still complete in the page cache
    }
    closeSync(this.fd);
    this.fd = null;
  }
}
