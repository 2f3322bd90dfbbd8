import { readFileSync } from "node:fs";

const DEF = /^([ \t]*)(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_][A-Za-z0-9_]*)/;
const MAX_FILES = 512;

interface Scanned {
  /** line number → name of the def/class that starts there */
  defs: Map<number, string>;
  /** indent of each line (index = line - 1), -1 for blank and comment lines */
  indents: Int32Array;
}

/**
 * Finds the function enclosing a line of Python source: the first line above it that is
 * less indented and starts a `def` or `class`. tracemalloc records file and line only; the
 * CLI fills in function names before writing the capture, so the target never pays for
 * reading source files. Decorators and module-level code are reported as `<module>`.
 */
export class FunctionNames {
  private readonly files = new Map<string, Scanned | null>();

  private scan(file: string): Scanned | null {
    if (this.files.has(file)) return this.files.get(file) ?? null;
    let scanned: Scanned | null = null;
    try {
      const lines = readFileSync(file, "utf8").split(/\r?\n/);
      const defs = new Map<number, string>();
      const indents = new Int32Array(lines.length);
      lines.forEach((line, i) => {
        const trimmed = line.trim();
        indents[i] = trimmed === "" || trimmed.startsWith("#") ? -1 : line.length - line.trimStart().length;
        const m = DEF.exec(line);
        if (m) defs.set(i + 1, m[2] as string);
      });
      scanned = { defs, indents };
    } catch {
      scanned = null;
    }
    if (this.files.size >= MAX_FILES) this.files.clear();
    this.files.set(file, scanned);
    return scanned;
  }

  at(file: string, line: number): string {
    if (file.startsWith("<")) return "<module>";
    const s = this.scan(file);
    if (!s || line < 1 || line > s.indents.length) return "?";
    const own = s.defs.get(line);
    if (own) return own;
    let current = s.indents[line - 1] as number;
    if (current < 0) current = Number.MAX_SAFE_INTEGER;
    for (let n = line - 1; n >= 1; n--) {
      const indent = s.indents[n - 1] as number;
      if (indent >= 0 && indent < current) {
        const name = s.defs.get(n);
        if (name) return name;
        if (indent === 0) return "<module>";
        current = indent;
      }
    }
    return "<module>";
  }
}
