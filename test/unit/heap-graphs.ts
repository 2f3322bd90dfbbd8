/** Graphs the heap-engine tests share: random ones (seeded) and a naive dominator computation to check against. */
import { buildHeapGraph, type EdgeSpec, type GraphSpec } from "../../src/heap/build.js";
import { EdgeKind, RootKind, type HeapGraph } from "../../src/heap/format.js";

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random graph of n nodes, about `degree` edges each, 1–3 roots, some nodes unreachable. */
export function randomGraph(seed: number, n: number, degree: number): HeapGraph {
  const r = rng(seed);
  const nodes: GraphSpec["nodes"] = [];
  for (let i = 0; i < n; i++) nodes.push({ type: `t.T${i % 4}`, size: 1 + Math.floor(r() * 100) });
  const edges: EdgeSpec[] = [];
  for (let u = 0; u < n; u++) {
    const k = Math.floor(r() * (2 * degree + 1));
    for (let j = 0; j < k; j++) edges.push([u, Math.floor(r() * n), EdgeKind.REF]);
  }
  const roots: Array<[number, RootKind]> = [];
  const rootCount = 1 + Math.floor(r() * 3);
  for (let i = 0; i < rootCount; i++) roots.push([Math.floor(r() * n), 1 + Math.floor(r() * 3)]);
  return buildHeapGraph({ nodes, edges, roots });
}

/**
 * Dominators by the textbook fixed point (Dom(v) = {v} ∪ ⋂ Dom(preds)), O(n²) per sweep,
 * over the same graph the engine sees: a super-root (id n) pointing to `starts`, and no
 * edges from `garbage` into live nodes. Returns idom per node (n = the super-root).
 */
export function naiveIdoms(g: HeapGraph, starts: readonly number[], live: (v: number) => boolean): number[] {
  const n = g.nodeCount;
  const SUPER = n;
  const preds: number[][] = Array.from({ length: n + 1 }, () => []);
  for (let u = 0; u < n; u++) {
    for (let e = g.firstEdge[u]!; e < g.firstEdge[u + 1]!; e++) {
      const v = g.edgeTarget[e]!;
      if (live(v) && !live(u)) continue;
      preds[v]!.push(u);
    }
  }
  for (const s of starts) preds[s]!.push(SUPER);
  const all = () => new Set(Array.from({ length: n + 1 }, (_, i) => i));
  const dom: Set<number>[] = Array.from({ length: n + 1 }, (_, v) => (v === SUPER ? new Set([SUPER]) : all()));
  let changed = true;
  while (changed) {
    changed = false;
    for (let v = 0; v < n; v++) {
      let acc: Set<number> | undefined;
      for (const p of preds[v]!) {
        acc = acc === undefined ? new Set(dom[p]) : new Set([...acc].filter((x) => dom[p]!.has(x)));
      }
      const next = new Set(acc ?? []);
      next.add(v);
      if (next.size !== dom[v]!.size || [...next].some((x) => !dom[v]!.has(x))) {
        dom[v] = next;
        changed = true;
      }
    }
  }
  // idom: the strict dominator that every other strict dominator dominates (the deepest)
  return Array.from({ length: n }, (_, v) => {
    const strict = [...dom[v]!].filter((x) => x !== v);
    return strict.reduce((best, x) => (dom[x]!.size > dom[best]!.size ? x : best), strict[0]!);
  });
}
