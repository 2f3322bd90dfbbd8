import { NONE, RootKind, type HeapGraph } from "./format.js";
import type { Dominators } from "./dominators.js";

/**
 * Shortest paths from the roots to every node at once: one forward BFS with parent
 * pointers, O(N + E), whatever the number of targets (a reverse BFS per target would cost
 * O(N + E) each). Roots are seeded modules first, then threads, then EXTERNAL: among
 * equally short paths, the first discovered wins, so an object a module global holds is
 * explained by that global rather than by C code that also holds it. Garbage (nodes no root
 * reaches) is walked last, from the dominator walk's pseudo-roots.
 */
export interface PathTree {
  /** The node each node was discovered from, NONE for a start. */
  parentNode: Uint32Array;
  /** The edge it was discovered by, NONE for a start. */
  parentEdge: Uint32Array;
  /** For starts: their RootKind (0 = a garbage pseudo-root). */
  startKind: Uint8Array;
  /** Edges from the start; NONE when not discovered. */
  distance: Uint32Array;
}

export function shortestPathTree(g: HeapGraph, dom: Dominators): PathTree {
  const N = g.nodeCount;
  const { firstEdge, edgeTarget } = g;
  const parentNode = new Uint32Array(N).fill(NONE);
  const parentEdge = new Uint32Array(N).fill(NONE);
  const distance = new Uint32Array(N).fill(NONE);
  const startKind = new Uint8Array(N);
  const queue = new Uint32Array(Math.max(N, 1));
  let head = 0, tail = 0;
  const seed = (node: number, kind: number) => {
    if (distance[node] !== NONE) return;
    distance[node] = 0;
    startKind[node] = kind;
    queue[tail++] = node;
  };
  const bfs = () => {
    while (head < tail) {
      const u = queue[head++]!;
      const d = distance[u]! + 1;
      const end = firstEdge[u + 1]!;
      for (let e = firstEdge[u]!; e < end; e++) {
        const t = edgeTarget[e]!;
        if (distance[t] !== NONE) continue;
        distance[t] = d;
        parentNode[t] = u;
        parentEdge[t] = e;
        queue[tail++] = t;
      }
    }
  };
  for (const kind of [RootKind.MODULE, RootKind.THREAD, RootKind.EXTERNAL]) {
    for (let r = 0; r < g.rootNode.length; r++) if (g.rootKind[r] === kind) seed(g.rootNode[r]!, kind);
  }
  bfs();
  for (const p of dom.pseudoRoots) seed(p, 0);
  bfs();
  return { parentNode, parentEdge, startKind, distance };
}

/** The path to `target` as [start, …, target] nodes and the edges between them (one fewer). */
export function pathTo(tree: PathTree, target: number): { nodes: number[]; edges: number[] } {
  const nodes: number[] = [];
  const edges: number[] = [];
  if (tree.distance[target] === NONE) return { nodes, edges };
  for (let v = target; ; v = tree.parentNode[v]!) {
    nodes.push(v);
    if (tree.parentNode[v] === NONE) break;
    edges.push(tree.parentEdge[v]!);
  }
  return { nodes: nodes.reverse(), edges: edges.reverse() };
}
