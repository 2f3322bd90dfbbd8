/**
 * The little of the protobuf wire format that pprof needs (protobuf.dev, "Encoding"):
 * varints, length-delimited fields and packed repeated int64s. Numbers are JavaScript
 * numbers (exact to 2^53, ample for counts, nanoseconds and bytes); a negative int64 is
 * written as its ten-byte two's complement, as protobuf does.
 */
export class ProtoWriter {
  private chunks: number[] = [];

  private byte(b: number): void {
    this.chunks.push(b);
  }

  varint(value: number): void {
    if (!Number.isInteger(value)) throw new Error(`not an integer: ${value}`);
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        this.byte(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.byte(Number(v));
      return;
    }
    let v = value;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  private tag(field: number, wireType: 0 | 2): void {
    this.varint(field * 8 + wireType);
  }

  /** A varint field; proto3 leaves zeros out. */
  int(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, 0);
    this.varint(value);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    for (const b of data) this.byte(b);
  }

  string(field: number, value: string): void {
    this.bytes(field, new TextEncoder().encode(value));
  }

  /** An embedded message, written by `fill` into a writer of its own. */
  message(field: number, fill: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    fill(inner);
    this.bytes(field, inner.finish());
  }

  /** A packed repeated varint field (proto3's default encoding for repeated scalars). */
  packed(field: number, values: number[]): void {
    if (values.length === 0) return;
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
