import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { SourceSnippet } from "./view-model.js";

/**
 * Lines around a site, read from disk when the page is built (a report opened elsewhere
 * later carries them). Null when the file is gone or unreadable, or when the line is past
 * its end (the file changed since the run): no snippet is better than a wrong one.
 */
export class SourceReader {
  private readonly files = new Map<string, string[] | null>();

  constructor(private readonly cwd: string, private readonly context: number, private readonly maxChars: number) {}

  snippet(file: string, line: number): SourceSnippet | null {
    if (!file || file.startsWith("<") || line < 1) return null;
    const lines = this.lines(isAbsolute(file) ? file : join(this.cwd, file));
    if (!lines || line > lines.length) return null;
    const first = Math.max(1, line - this.context);
    const last = Math.min(lines.length, line + this.context);
    const cut = (s: string) => (s.length > this.maxChars ? `${s.slice(0, this.maxChars - 1)}…` : s);
    return { first, lines: lines.slice(first - 1, last).map(cut), mark: line };
  }

  private lines(path: string): string[] | null {
    let v = this.files.get(path);
    if (v === undefined) {
      try {
        v = readFileSync(path, "utf8").split(/\r?\n/);
      } catch {
        v = null;
      }
      this.files.set(path, v);
    }
    return v;
  }
}
