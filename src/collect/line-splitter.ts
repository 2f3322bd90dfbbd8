/** Splits a byte stream into complete lines; keeps a torn tail until the rest arrives. */
export class LineSplitter {
  private tail = "";

  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const lines = text.split("\n");
    this.tail = lines.pop() ?? "";
    return lines.filter((l) => l.length > 0);
  }

  /** What is left when the stream ends: a torn line, never a record. */
  rest(): string {
    return this.tail;
  }
}
