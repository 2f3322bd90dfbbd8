import { describe, expect, it } from "vitest";
import { analyseHeap } from "../../src/heap/analyse-heap.js";
import { buildHeapGraph, type EdgeSpec, type NodeSpec } from "../../src/heap/build.js";
import { EdgeKind, RootKind } from "../../src/heap/format.js";
import { diffTypeTables, typeTable } from "../../src/heap/type-table.js";
import { randomGraph } from "./heap-graphs.js";

/** A module holding a linked list of `n` app.Node (each with a 100-byte str), plus a garbage pair. */
function linked(n: number) {
  const nodes: NodeSpec[] = [{ id: "m", type: "builtins.module", name: "app", size: 72 }];
  const edges: EdgeSpec[] = [["m", "n0", EdgeKind.ATTR, "HEAD"]];
  for (let i = 0; i < n; i++) {
    nodes.push({ id: `n${i}`, type: "app.Node", size: 48 }, { id: `s${i}`, type: "builtins.str", size: 100 });
    edges.push([`n${i}`, `s${i}`, EdgeKind.ATTR, "payload"]);
    if (i + 1 < n) edges.push([`n${i}`, `n${i + 1}`, EdgeKind.ATTR, "next"]);
  }
  nodes.push({ id: "g1", type: "app.Node", size: 48 }, { id: "g2", type: "app.Node", size: 48 });
  edges.push(["g1", "g2", EdgeKind.ATTR, "next"], ["g2", "g1", EdgeKind.ATTR, "prev"]);
  return buildHeapGraph({ nodes, edges, roots: [["m", RootKind.MODULE]] });
}

describe("the table by type", () => {
  it("counts, sums and retains without counting a chain once per link", () => {
    const t = typeTable(analyseHeap(linked(4)));
    const row = (type: string) => t.rows.find((r) => r.type === type)!;
    expect(t.rows.map((r) => r.type)).toEqual(["builtins.str", "app.Node", "builtins.module"]);
    expect(row("app.Node")).toEqual({ type: "app.Node", count: 6, size: 6 * 48, retained: 4 * 148 + 2 * 48, unreachable: 2 });
    expect(row("builtins.str")).toEqual({ type: "builtins.str", count: 4, size: 400, retained: 400, unreachable: 0 });
    expect(row("builtins.module").retained).toBe(72 + 4 * 148);
    expect(t.objects).toBe(11);
    expect(t.size).toBe(72 + 6 * 48 + 400);
  });

  it("agrees with a naive ancestor walk on random graphs", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const g = randomGraph(seed, 10 + seed, 2);
      const a = analyseHeap(g);
      const expected = new Map<string, number>();
      for (let v = 0; v < g.nodeCount; v++) {
        let covered = false;
        for (let d = a.dominators.idom[v]!; d !== g.nodeCount; d = a.dominators.idom[d]!) if (g.nodeType[d] === g.nodeType[v]) covered = true;
        const type = g.strings[g.nodeType[v]!]!;
        if (!covered) expected.set(type, (expected.get(type) ?? 0) + a.retained[v]!);
      }
      const got = new Map(typeTable(a).rows.map((r) => [r.type, r.retained]));
      expect(got, `seed ${seed}`).toEqual(new Map([...expected].filter(([k]) => got.has(k))));
      expect(got.size).toBe(expected.size);
    }
  });

  it("diffs two tables: growth first, gone types negative", () => {
    const before = typeTable(analyseHeap(linked(2)));
    const after = typeTable(analyseHeap(linked(5)));
    const diff = diffTypeTables(before, after);
    expect(diff.map((r) => [r.type, r.count, r.size, r.retained])).toEqual([
      ["builtins.str", 3, 300, 300],
      ["app.Node", 3, 144, 3 * 148],
      ["builtins.module", 0, 0, 3 * 148], // the same module, holding more
    ]);
    expect(diff[1]).toMatchObject({ countBefore: 4, countAfter: 7, retained: 3 * 148 });
    const gone = diffTypeTables(after, typeTable(analyseHeap(buildHeapGraph({ nodes: [{ type: "builtins.module" }], roots: [[0, RootKind.MODULE]] }))));
    expect(gone.find((r) => r.type === "app.Node")).toMatchObject({ count: -7, countAfter: 0 });
  });
});
