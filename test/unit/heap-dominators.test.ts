import { describe, expect, it } from "vitest";
import { analyseHeap } from "../../src/heap/analyse-heap.js";
import { buildHeapGraph } from "../../src/heap/build.js";
import { EdgeKind, RootKind } from "../../src/heap/format.js";
import { naiveIdoms, randomGraph } from "./heap-graphs.js";

const REF = EdgeKind.REF;

/** The flowgraph of Lengauer and Tarjan's paper (1979, fig. 1), R the only root. */
function paperGraph() {
  const names = "R A B C D E F G H I J K L".split(" ");
  const succ: Record<string, string> = {
    R: "ABC", A: "D", B: "ADE", C: "FG", D: "L", E: "H", F: "I", G: "IJ", H: "EK", I: "K", J: "I", K: "IR", L: "H",
  };
  return buildHeapGraph({
    nodes: names.map((id) => ({ id, type: "t.N" })),
    edges: Object.entries(succ).flatMap(([u, vs]) => [...vs].map((v): [string, string, EdgeKind] => [u, v, REF])),
    roots: [["R", RootKind.MODULE]],
  });
}

describe("dominators (Lengauer–Tarjan over a super-root)", () => {
  it("gives the paper's dominator tree", () => {
    const g = paperGraph();
    const a = analyseHeap(g);
    const names = "R A B C D E F G H I J K L".split(" ");
    const idomOf = (x: string) => {
      const d = a.dominators.idom[names.indexOf(x)]!;
      return d === g.nodeCount ? "*" : names[d];
    };
    const expected: Record<string, string> = { R: "*", A: "R", B: "R", C: "R", D: "R", E: "R", F: "C", G: "C", H: "R", I: "R", J: "G", K: "R", L: "D" };
    for (const [v, d] of Object.entries(expected)) expect(idomOf(v), v).toBe(d);
    expect(a.unreachableCount).toBe(0);
  });

  it("puts an object two roots share under the super-root, and one root reaches through another", () => {
    const g = buildHeapGraph({
      nodes: [{ id: "m1", type: "builtins.module" }, { id: "m2", type: "builtins.module" }, { id: "x", type: "t.X" }, { id: "y", type: "t.Y" }],
      edges: [["m1", "x"], ["m2", "x"], ["x", "y"], ["m1", "m2"]],
      roots: [["m1", RootKind.MODULE], ["m2", RootKind.MODULE]],
    });
    const { idom, superRoot } = analyseHeap(g).dominators;
    expect([...idom]).toEqual([superRoot, superRoot, superRoot, 2]);
  });

  it("finds unreachable cycles and lets the cycle's owner retain it", () => {
    const g = buildHeapGraph({
      nodes: [
        { id: "m", type: "builtins.module", size: 100 },
        { id: "live", type: "t.Live", size: 10 },
        { id: "owner", type: "t.Owner", size: 7 },
        { id: "c1", type: "t.Node", size: 3 },
        { id: "c2", type: "t.Node", size: 5 },
        { id: "ring", type: "t.Ring", size: 11 },
      ],
      // owner → c1 ⇄ c2 is garbage; c2 points into the live heap, which must not change live dominators
      edges: [["m", "live"], ["owner", "c1"], ["c1", "c2"], ["c2", "c1"], ["c2", "live"], ["ring", "ring"]],
      roots: [["m", RootKind.MODULE]],
    });
    const a = analyseHeap(g);
    expect(a.unreachableCount).toBe(4);
    expect([...a.dominators.reachable]).toEqual([1, 1, 0, 0, 0, 0]);
    expect(a.dominators.idom[1]).toBe(0); // live: the module, not the super-root via garbage
    expect([...a.dominators.pseudoRoots]).toEqual([2, 5]); // the owner first; the self-cycle has no owner
    expect(a.retained[2]).toBe(7 + 3 + 5);
    expect(a.retained[0]).toBe(110);
    expect(a.retained[g.nodeCount]).toBe(136);
  });

  it("agrees with the naive fixed point on random graphs", () => {
    for (let seed = 1; seed <= 120; seed++) {
      const n = 5 + (seed % 40);
      const g = randomGraph(seed, n, seed % 3 === 0 ? 1 : 2);
      const { dominators } = analyseHeap(g);
      const starts = [...new Set([...g.rootNode, ...dominators.pseudoRoots])];
      const expected = naiveIdoms(g, starts, (v) => dominators.reachable[v] === 1);
      expect([...dominators.idom], `seed ${seed}`).toEqual(expected);
    }
  });

  it("walks a million-deep chain without overflowing the stack", () => {
    const n = 1_000_000;
    const firstEdge = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) firstEdge[i + 1] = i < n - 1 ? i + 1 : n - 1;
    const edgeTarget = Uint32Array.from({ length: n - 1 }, (_, i) => i + 1);
    const g = {
      nodeCount: n, edgeCount: n - 1, strings: ["t.Link"], flags: 0,
      nodeType: new Uint32Array(n), nodeSize: new Uint32Array(n).fill(2), nodeName: new Uint32Array(n).fill(0xffffffff), nodeSite: new Uint32Array(n).fill(0xffffffff),
      firstEdge, edgeTarget, edgeLabel: new Uint32Array(n - 1).fill(0xffffffff), edgeKind: new Uint8Array(n - 1),
      rootNode: Uint32Array.of(0), rootKind: Uint8Array.of(RootKind.MODULE),
    };
    const a = analyseHeap(g);
    expect(a.dominators.idom[n - 1]).toBe(n - 2);
    expect(a.retained[0]).toBe(2 * n);
  });
});
