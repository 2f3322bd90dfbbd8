import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analysis as memlabAnalysis, config as memlabConfig, utils as memlabUtils, type IHeapSnapshot } from "@memlab/core";
import { analyseHeap } from "../../src/heap/analyse-heap.js";
import { buildHeapGraph, type EdgeSpec, type NodeSpec } from "../../src/heap/build.js";
import { EdgeKind, RootKind, type HeapGraph } from "../../src/heap/format.js";
import { snapshotNodeId, writeHeapSnapshot } from "../../src/heap/heapsnapshot.js";
import { rng } from "./heap-graphs.js";

const dir = mkdtempSync(join(tmpdir(), "lt-heapsnapshot-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A service-like heap: a module with a cache dict of lists of orders (each with a str), a thread, C-held objects, random cross links, and garbage cycles. */
function serviceHeap(seed: number): HeapGraph {
  const r = rng(seed);
  const nodes: NodeSpec[] = [
    { id: "mod", type: "builtins.module", name: "shop.cache", size: 72 },
    { id: "cache", type: "builtins.dict", size: 4000 },
    { id: "frame", type: "builtins.frame", name: "MainThread", size: 400 },
    { id: "cobj", type: "builtins.list", size: 56 },
  ];
  const edges: EdgeSpec[] = [["mod", "cache", EdgeKind.ATTR, "_CACHE"], ["frame", "cache", EdgeKind.LOCAL, "c"]];
  let orders = 0;
  for (let k = 0; k < 20; k++) {
    nodes.push({ id: `l${k}`, type: "builtins.list", size: 88 });
    edges.push(["cache", `l${k}`, EdgeKind.ITEM, `key-${k}`]);
    for (let j = 0; j < 10; j++, orders++) {
      nodes.push({ id: `o${orders}`, type: "shop.models.Order", size: 48 }, { id: `s${orders}`, type: "builtins.str", size: 60, name: `order #${orders}` });
      edges.push([`l${k}`, `o${orders}`, EdgeKind.INDEX, j], [`o${orders}`, `s${orders}`, EdgeKind.ATTR, "name"]);
    }
  }
  for (let i = 0; i < 60; i++) edges.push([`o${Math.floor(r() * orders)}`, `o${Math.floor(r() * orders)}`, EdgeKind.ATTR, "related"]);
  edges.push(["cobj", "o3", EdgeKind.REF], ["cobj", "s7", EdgeKind.REF]);
  for (let c = 0; c < 5; c++) {
    nodes.push({ id: `g${c}a`, type: "shop.models.Node", size: 50 }, { id: `g${c}b`, type: "shop.models.Node", size: 70 });
    edges.push([`g${c}a`, `g${c}b`, EdgeKind.ATTR, "next"], [`g${c}b`, `g${c}a`, EdgeKind.ATTR, "prev"], [`g${c}b`, `o${c}`, EdgeKind.ATTR, "order"]);
  }
  return buildHeapGraph({ nodes, edges, roots: [["mod", RootKind.MODULE], ["frame", RootKind.THREAD], ["cobj", RootKind.EXTERNAL]], flags: 1 });
}

async function loadWithMemlab(file: string): Promise<IHeapSnapshot> {
  memlabConfig.muteConsole = true;
  const snapshot = await memlabUtils.getSnapshotFromFile(file, { buildNodeIdIndex: true });
  memlabAnalysis.preparePathFinder(snapshot); // memlab's own dominators and retained sizes
  return snapshot;
}

describe("export to .heapsnapshot", () => {
  it("loads in memlab with the same nodes, names, edges and retained sizes", async () => {
    const g = serviceHeap(7);
    const a = analyseHeap(g);
    expect(a.unreachableCount).toBe(10);
    const file = join(dir, "service.heapsnapshot");
    const stats = writeHeapSnapshot(g, file, a);
    const snap = await loadWithMemlab(file);

    expect(snap.nodes.length).toBe(g.nodeCount + 5);
    expect(stats.nodes).toBe(g.nodeCount + 5);
    expect(snap.edges.length).toBe(stats.edges);

    const order = snap.getNodeById(snapshotNodeId(g.nodeCount - 10 - 1))!; // the last str
    expect(order.type).toBe("string");
    expect(order.name).toBe("order #199");
    const cache = snap.getNodeById(snapshotNodeId(1))!;
    expect(cache.name).toBe("dict");
    const item = cache.references.find((e) => e.name_or_index === "key-3")!;
    expect(item.type).toBe("property");
    expect(item.toNode.name).toBe("list");
    expect(item.toNode.references.map((e) => e.name_or_index).slice(0, 3)).toEqual([0, 1, 2]);
    const mod = snap.getNodeById(snapshotNodeId(0))!;
    expect(mod.referrers.map((e) => [e.fromNode.name, e.name_or_index])).toEqual([["(modules)", "shop.cache"]]);

    const mismatches: string[] = [];
    for (let i = 0; i < g.nodeCount; i++) {
      const node = snap.getNodeById(snapshotNodeId(i))!;
      if (node.retainedSize !== a.retained[i]) mismatches.push(`node ${i}: memlab ${node.retainedSize}, leaktrail ${a.retained[i]}`);
    }
    expect(mismatches).toEqual([]);
    expect(a.retained[1]).toBeGreaterThan(4000); // the comparison is not between zeros
  });

  it("writes valid JSON with the strings table last", () => {
    const g = serviceHeap(3);
    const file = join(dir, "plain.heapsnapshot");
    writeHeapSnapshot(g, file);
    const json = JSON.parse(readFileSync(file, "utf8"));
    expect(json.snapshot.node_count * json.snapshot.meta.node_fields.length).toBe(json.nodes.length);
    expect(json.snapshot.edge_count * 3).toBe(json.edges.length);
    expect(json.strings).toContain("(held from C)");
    expect(json.strings.slice(0, g.strings.length)).toEqual(g.strings);
  });
});
