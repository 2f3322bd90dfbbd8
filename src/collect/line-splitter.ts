/**
 * Splits a byte stream into complete lines; keeps a torn tail until the rest arrives.
 * A heap graph arrives as one line of many megabytes in 64 kB chunks: pieces of a line
 * are collected and joined once, so a long line costs linear time, not quadratic.
 */
export class LineSplitter {
  private pieces: string[] = [];

  push(chunk: string): string[] {
    const lines: string[] = [];
    let start = 0;
    let nl = chunk.indexOf("\n");
    while (nl >= 0) {
      this.pieces.push(chunk.slice(start, nl));
      const line = this.pieces.join("");
      this.pieces = [];
      if (line.length > 0) lines.push(line);
      start = nl + 1;
      nl = chunk.indexOf("\n", start);
    }
    if (start < chunk.length) this.pieces.push(chunk.slice(start));
    return lines;
  }

  /** What is left when the stream ends: a torn line, never a record. */
  rest(): string {
    return this.pieces.join("");
  }
}
