import { endianness } from "node:os";
import { inflateSync } from "node:zlib";
import { HeapGraphError } from "./errors.js";
import { EdgeKind, HEAP_GRAPH_MAGIC, HEAP_GRAPH_VERSION, NONE, type HeapGraph } from "./format.js";

export { HeapGraphError } from "./errors.js";

const HEADER_BYTES = 32;
/** Edge kinds whose label is a string index (INDEX's is a number; REF and MEMBER have none). */
const STRING_LABELLED = new Set<number>([EdgeKind.ATTR, EdgeKind.ITEM, EdgeKind.KEY, EdgeKind.CELL, EdgeKind.LOCAL, EdgeKind.FIELD]);
const KIND_COUNT = 9;

/** Inflates a `heap-graph` record's zlib bytes, then decodes them. */
export function inflateHeapGraph(zlibBytes: Uint8Array): HeapGraph {
  let payload: Uint8Array;
  try {
    payload = inflateSync(zlibBytes);
  } catch (err) {
    throw new HeapGraphError(`heap graph: the compressed data is damaged (${(err as Error).message})`);
  }
  return decodeHeapGraph(payload);
}

/**
 * Decodes an uncompressed `LTHG` payload (src/heap/format.ts). The typed arrays are views
 * over one aligned copy of the payload (no per-node objects); everything is checked, so
 * the engine can index without bounds tests.
 */
export function decodeHeapGraph(payload: Uint8Array): HeapGraph {
  if (payload.byteLength < HEADER_BYTES) throw new HeapGraphError(`heap graph: ${payload.byteLength} bytes is too short for its header (truncated?)`);
  const magic = String.fromCharCode(payload[0]!, payload[1]!, payload[2]!, payload[3]!);
  if (magic !== HEAP_GRAPH_MAGIC) throw new HeapGraphError(`heap graph: bad magic '${printable(magic)}' (expected ${HEAP_GRAPH_MAGIC}): not a leaktrail heap graph`);
  // views need a 4-byte aligned buffer in host order; copy once if it is not (small pooled Buffers)
  const bytes = payload.byteOffset % 4 === 0 ? payload : payload.slice();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => dv.getUint32(at, true);
  const version = u32(4);
  if (version !== HEAP_GRAPH_VERSION) throw new HeapGraphError(`heap graph: version ${version}; this leaktrail reads version ${HEAP_GRAPH_VERSION} (upgrade leaktrail)`);
  const N = u32(8), E = u32(12), S = u32(16), R = u32(20), flags = u32(24);

  const reader = new SectionReader(bytes, dv);
  const strings = reader.strings(S);
  const nodeType = reader.u32s(N, "nodeType");
  const nodeSize = reader.u32s(N, "nodeSize");
  const nodeName = reader.u32s(N, "nodeName");
  const nodeSite = reader.u32s(N, "nodeSite");
  const firstEdge = reader.u32s(N + 1, "firstEdge");
  const edgeTarget = reader.u32s(E, "edgeTarget");
  const edgeLabel = reader.u32s(E, "edgeLabel");
  const edgeKind = reader.u8s(E, "edgeKind");
  const rootNode = reader.u32s(R, "rootNode");
  const rootKind = reader.u8s(R, "rootKind");

  const graph: HeapGraph = { nodeCount: N, edgeCount: E, strings, flags, nodeType, nodeSize, nodeName, nodeSite, firstEdge, edgeTarget, edgeLabel, edgeKind, rootNode, rootKind };
  validate(graph);
  return graph;
}

class SectionReader {
  private at = HEADER_BYTES;
  private readonly le = endianness() === "LE";
  constructor(private readonly bytes: Uint8Array, private readonly dv: DataView) {}

  private need(n: number, what: string): void {
    if (this.at + n > this.bytes.byteLength) {
      throw new HeapGraphError(`heap graph: truncated in ${what} (needs ${this.at + n} bytes, has ${this.bytes.byteLength})`);
    }
  }
  private align(): void {
    this.at = (this.at + 3) & ~3;
  }

  strings(count: number): string[] {
    this.need(count * 4, "the string table"); // each string takes 4 bytes at least: no huge allocation on a bad count
    const decoder = new TextDecoder("utf-8");
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      this.need(4, "the string table");
      const len = this.dv.getUint32(this.at, true);
      this.at += 4;
      this.need(len, "the string table");
      out[i] = decoder.decode(this.bytes.subarray(this.at, this.at + len));
      this.at += len;
    }
    this.align();
    return out;
  }

  u32s(count: number, what: string): Uint32Array {
    this.need(count * 4, what);
    const start = this.bytes.byteOffset + this.at;
    this.at += count * 4;
    if (this.le) return new Uint32Array(this.bytes.buffer, start, count);
    const out = new Uint32Array(count); // big-endian host: read value by value
    for (let i = 0; i < count; i++) out[i] = this.dv.getUint32(start - this.bytes.byteOffset + i * 4, true);
    return out;
  }

  u8s(count: number, what: string): Uint8Array {
    this.need(count, what);
    const out = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.at, count);
    this.at += count;
    this.align();
    return out;
  }
}

function validate(g: HeapGraph): void {
  const N = g.nodeCount, E = g.edgeCount, S = g.strings.length;
  const bad = (what: string) => new HeapGraphError(`heap graph: inconsistent: ${what}`);
  for (let i = 0; i < N; i++) {
    if (g.nodeType[i]! >= S) throw bad(`node ${i}'s type is string ${g.nodeType[i]} of ${S}`);
    const name = g.nodeName[i]!, site = g.nodeSite[i]!;
    if (name !== NONE && name >= S) throw bad(`node ${i}'s name is string ${name} of ${S}`);
    if (site !== NONE && site >= S) throw bad(`node ${i}'s site is string ${site} of ${S}`);
  }
  if (g.firstEdge[0] !== 0 || g.firstEdge[N] !== E) throw bad(`edge offsets run from ${g.firstEdge[0]} to ${g.firstEdge[N]}, not 0 to ${E}`);
  for (let i = 0; i < N; i++) if (g.firstEdge[i]! > g.firstEdge[i + 1]!) throw bad(`edge offsets decrease at node ${i}`);
  for (let e = 0; e < E; e++) {
    if (g.edgeTarget[e]! >= N) throw bad(`edge ${e} points to node ${g.edgeTarget[e]} of ${N}`);
    const kind = g.edgeKind[e]!;
    if (kind >= KIND_COUNT) throw bad(`edge ${e} has unknown kind ${kind}`);
    const label = g.edgeLabel[e]!;
    if (STRING_LABELLED.has(kind) && label !== NONE && label >= S) throw bad(`edge ${e}'s label is string ${label} of ${S}`);
  }
  for (let r = 0; r < g.rootNode.length; r++) {
    if (g.rootNode[r]! >= N) throw bad(`root ${r} is node ${g.rootNode[r]} of ${N}`);
    const kind = g.rootKind[r]!;
    if (kind < 1 || kind > 4) throw bad(`root ${r} has unknown kind ${kind}`);
  }
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?");
}
