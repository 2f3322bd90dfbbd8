import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyseHeap } from "../../src/heap/analyse-heap.js";
import { buildHeapGraph, type EdgeSpec, type NodeSpec } from "../../src/heap/build.js";
import { heapGraphRecord, heapGraphRecords, readCaptureGraphs, decodeGraphRecord } from "../../src/heap/capture-graphs.js";
import { heapDot } from "../../src/heap/dot.js";
import { encodeHeapGraph } from "../../src/heap/encode.js";
import { EdgeKind, RootKind } from "../../src/heap/format.js";

/** A module's list of 100 listeners, each holding a "config" dict; one listener is garbage-held too. */
function bus() {
  const nodes: NodeSpec[] = [
    { id: "m", type: "builtins.module", name: "events" },
    { id: "l", type: "builtins.list" },
    { id: "cfg", type: "builtins.dict" },
    { id: "g", type: "app.Orphan" },
  ];
  const edges: EdgeSpec[] = [["m", "l", EdgeKind.ATTR, "_listeners"], ["g", "f0", EdgeKind.ATTR, "cb"]];
  for (let i = 0; i < 100; i++) {
    nodes.push({ id: `f${i}`, type: "builtins.function", name: `on_${i}` });
    edges.push(["l", `f${i}`, EdgeKind.INDEX, i], [`f${i}`, "cfg", EdgeKind.CELL, "config"]);
  }
  return buildHeapGraph({ nodes, edges, roots: [["m", RootKind.MODULE]] });
}

describe("DOT around objects", () => {
  it("draws who refers to an object back to the module, with labelled edges", () => {
    const a = analyseHeap(bus());
    const dot = heapDot(a, [4], { direction: "backrefs" });
    expect(dot).toContain('n1 -> n4 [label="[0]"]');
    expect(dot).toContain('n0 -> n1 [label="._listeners"]');
    expect(dot).toContain('n3 -> n4 [label=".cb"]');
    expect(dot).toMatch(/n0 \[label="module events/);
    expect(dot).toMatch(/n3 \[label="Orphan\\n16 B, retains 16 B\\nunreachable", fillcolor="#ea9999"/);
    expect(dot).not.toContain("more");
  });

  it("stays within its node budget and says what it cut", () => {
    const a = analyseHeap(bus());
    const dot = heapDot(a, [2], { direction: "backrefs", maxNodes: 10 });
    expect(dot.match(/^ {2}n\d+ \[/gm)).toHaveLength(10);
    expect(dot).toMatch(/101 more references from objects not drawn/);
    const refs = heapDot(a, [1], { direction: "refs", depth: 1, maxNodes: 1000 });
    expect(refs.match(/^ {2}n\d+ \[/gm)).toHaveLength(101);
    expect(refs).not.toContain('label="closure config"');
  });
});

describe("heap graphs in a capture", () => {
  it("finds heap-graph records among others, skipping a torn last line", () => {
    const g = bus();
    const dir = mkdtempSync(join(tmpdir(), "lt-capgraphs-"));
    try {
      const rec = heapGraphRecord(g, { pid: 5, t: 1.7e9, reason: "exit" });
      const header = { schema: "leaktrail.capture/1", created: 1, command: [], cwd: "/", tool_version: "t" };
      const path = join(dir, "c.ltcap");
      const torn = JSON.stringify({ ...rec, pid: 6 }).slice(0, 50);
      writeFileSync(path, [header, { k: "sample", pid: 5, t: 1 }, rec].map((x) => JSON.stringify(x)).join("\n") + "\n" + torn);
      const { graphs } = readCaptureGraphs(path);
      expect(graphs.map((x) => x.pid)).toEqual([5]);
      expect(encodeHeapGraph(decodeGraphRecord(graphs[0]!))).toEqual(encodeHeapGraph(g));
      expect(heapGraphRecords([{ k: "sample" }, rec, { k: "heap-graph", pid: 1 }])).toEqual([rec]);
      expect(() => decodeGraphRecord({ ...rec, objects: 3 })).toThrow(/the record says 3 objects and 202 edges, its data holds 104 and 202/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
