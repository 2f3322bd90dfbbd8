import { deflateSync } from "node:zlib";
import { HEAP_GRAPH_MAGIC, HEAP_GRAPH_VERSION, type HeapGraph } from "./format.js";

const pad4 = (n: number) => (n + 3) & ~3;

/** Writes a graph as an uncompressed `LTHG` payload (src/heap/format.ts); decodeHeapGraph reverses it. */
export function encodeHeapGraph(g: HeapGraph): Uint8Array {
  const encoder = new TextEncoder();
  const encoded = g.strings.map((s) => encoder.encode(s));
  const stringBytes = pad4(encoded.reduce((sum, b) => sum + 4 + b.byteLength, 0));
  const N = g.nodeCount, E = g.edgeCount, R = g.rootNode.length;
  const total = 32 + stringBytes + 4 * N * 4 + 4 * (N + 1) + 8 * E + pad4(E) + 4 * R + pad4(R);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let at = 0;
  for (let i = 0; i < 4; i++) out[i] = HEAP_GRAPH_MAGIC.charCodeAt(i);
  at = 4;
  for (const v of [HEAP_GRAPH_VERSION, N, E, g.strings.length, R, g.flags, 0]) {
    dv.setUint32(at, v, true);
    at += 4;
  }
  for (const b of encoded) {
    dv.setUint32(at, b.byteLength, true);
    out.set(b, at + 4);
    at += 4 + b.byteLength;
  }
  at = pad4(at);
  const u32 = (arr: Uint32Array) => {
    for (let i = 0; i < arr.length; i++) dv.setUint32(at + i * 4, arr[i]!, true);
    at += arr.length * 4;
  };
  const u8 = (arr: Uint8Array) => {
    out.set(arr, at);
    at = pad4(at + arr.length);
  };
  u32(g.nodeType);
  u32(g.nodeSize);
  u32(g.nodeName);
  u32(g.nodeSite);
  u32(g.firstEdge);
  u32(g.edgeTarget);
  u32(g.edgeLabel);
  u8(g.edgeKind);
  u32(g.rootNode);
  u8(g.rootKind);
  return out;
}

/** The payload as a `heap-graph` record carries it: zlib, then base64. */
export function encodeHeapGraphRecordData(g: HeapGraph): string {
  return Buffer.from(deflateSync(encodeHeapGraph(g))).toString("base64");
}
