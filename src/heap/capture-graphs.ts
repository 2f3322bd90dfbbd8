import { readFileSync } from "node:fs";
import { CaptureError, parseCapture } from "../capture/reader.js";
import type { Header } from "../capture/format.js";
import { inflateHeapGraph } from "./decode.js";
import { encodeHeapGraphRecordData } from "./encode.js";
import { withoutTheAgent } from "./agent-filter.js";
import { HeapGraphError } from "./errors.js";
import type { HeapGraph } from "./format.js";

/**
 * The capture record that carries a heap graph. A narrow, local type until the capture
 * format (src/capture/format.ts) defines `heap-graph` itself; this reader takes records
 * from anywhere (a parsed capture's records, or raw lines) and checks their shape.
 */
export interface HeapGraphRecord {
  k: "heap-graph";
  pid: number;
  t: number;
  /** Why the graph was taken: "exit", "request", … */
  reason?: string;
  objects: number;
  edges: number;
  /** Seconds the target was paused (the fork). */
  pause_seconds?: number;
  /** Seconds the forked copy took to walk the heap and write the graph. */
  capture_seconds?: number;
  encoding: "zlib";
  /** base64 of zlib(LTHG payload). */
  data: string;
}

export function isHeapGraphRecord(r: unknown): r is HeapGraphRecord {
  if (!r || typeof r !== "object") return false;
  const x = r as Partial<HeapGraphRecord>;
  return x.k === "heap-graph" && typeof x.pid === "number" && typeof x.t === "number" && typeof x.data === "string" && (x.encoding === undefined || x.encoding === "zlib");
}

/** The heap-graph records among a capture's records, in order. */
export function heapGraphRecords(records: readonly unknown[]): HeapGraphRecord[] {
  return records.filter(isHeapGraphRecord);
}

/**
 * Reads a capture file's header and heap-graph records. Other lines are not parsed (a
 * capture can be large; the graph lines are the large part). Throws CaptureError as
 * readCapture does.
 */
export function readCaptureGraphs(path: string): { header: Header; graphs: HeapGraphRecord[] } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CaptureError(`no such capture file: ${path}`);
    if (code === "EISDIR") throw new CaptureError(`${path} is a directory, not a capture file`);
    throw new CaptureError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const firstBreak = text.indexOf("\n");
  const { header } = parseCapture(firstBreak < 0 ? text : text.slice(0, firstBreak + 1), path);
  const graphs: HeapGraphRecord[] = [];
  let at = firstBreak < 0 ? text.length : firstBreak + 1;
  while (at < text.length) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length; // a torn last line fails to parse and is skipped
    const line = text.slice(at, end);
    at = end + 1;
    if (!line.includes('"heap-graph"')) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isHeapGraphRecord(value)) graphs.push(value);
    } catch {
      // a torn line: the capture's reader skips it too
    }
  }
  return { header, graphs };
}

/** The graph a record carries, checked against the record's own counts, without the agent's own objects. */
export function decodeGraphRecord(r: HeapGraphRecord): HeapGraph {
  const g = inflateHeapGraph(Buffer.from(r.data, "base64"));
  if (g.nodeCount !== r.objects || g.edgeCount !== r.edges) {
    throw new HeapGraphError(`heap graph of pid ${r.pid}: the record says ${r.objects} objects and ${r.edges} edges, its data holds ${g.nodeCount} and ${g.edgeCount}`);
  }
  return withoutTheAgent(g);
}

/** A record for a graph (tests build captures with it; the CLI never writes one). */
export function heapGraphRecord(g: HeapGraph, meta: { pid: number; t: number; reason?: string; pause_seconds?: number; capture_seconds?: number }): HeapGraphRecord {
  return { k: "heap-graph", ...meta, objects: g.nodeCount, edges: g.edgeCount, encoding: "zlib", data: encodeHeapGraphRecordData(g) };
}
