import type { HeapGraph } from "./format.js";
import type { ReverseEdges } from "./reverse-edges.js";

/**
 * The dominator tree of a heap graph, rooted at a virtual super-root that points to every
 * root. Node ids are the graph's; the super-root is `nodeCount`.
 *
 * Unreachable nodes (alive but not reachable from any root: cycles awaiting collection)
 * still get a dominator: after the walk from the real roots, the walk goes on from
 * "pseudo-roots" among them, as Chrome DevTools and memlab do, so that a garbage cycle's
 * head retains the cycle. Edges from unreachable nodes into reachable ones are ignored, so
 * garbage never changes what the live heap's dominators are.
 */
export interface Dominators {
  /** The super-root's id: the graph's nodeCount. */
  superRoot: number;
  /** Immediate dominator of each node: a node id, or `superRoot`. */
  idom: Uint32Array;
  /** Every node in DFS preorder from the super-root: a node comes after its dominator. */
  order: Uint32Array;
  /** order[0 .. reachableCount) are the nodes reachable from a real root. */
  reachableCount: number;
  /** 1 for nodes reachable from a real root. */
  reachable: Uint8Array;
  /** Where the walk of the unreachable part started (each points to garbage the others do not). */
  pseudoRoots: Uint32Array;
}

/**
 * Lengauer–Tarjan ("A fast algorithm for finding dominators in a flowgraph", 1979), the
 * simple variant (path compression, no balancing: O(E log N)), which is the faster one in
 * practice. Everything is indexed by DFS number in typed arrays; the DFS and the path
 * compression are iterative, so a million-deep list cannot overflow the stack.
 */
export function computeDominators(g: HeapGraph, rev: ReverseEdges): Dominators {
  const N = g.nodeCount;
  const { firstEdge, edgeTarget } = g;
  const SUPER = N;
  // vertex numbers: 1 = the super-root, 2.. = nodes in DFS preorder; 0 = none
  const size = N + 2;
  const dfnum = new Uint32Array(N);
  const vertex = new Uint32Array(size);
  const parent = new Uint32Array(size);
  const isStart = new Uint8Array(N); // roots and pseudo-roots: the super-root is their predecessor
  const stack = new Uint32Array(Math.max(N, 1));
  const cursor = new Uint32Array(Math.max(N, 1));
  let next = 1;
  vertex[1] = SUPER;

  const walkFrom = (r: number) => {
    dfnum[r] = ++next;
    vertex[next] = r;
    parent[next] = 1;
    let sp = 0;
    stack[sp++] = r;
    cursor[r] = firstEdge[r]!;
    while (sp > 0) {
      const u = stack[sp - 1]!;
      let c = cursor[u]!;
      const end = firstEdge[u + 1]!;
      while (c < end && dfnum[edgeTarget[c]!] !== 0) c++;
      if (c < end) {
        const t = edgeTarget[c]!;
        cursor[u] = c + 1;
        dfnum[t] = ++next;
        vertex[next] = t;
        parent[next] = dfnum[u]!;
        cursor[t] = firstEdge[t]!;
        stack[sp++] = t;
      } else {
        sp--;
      }
    }
  };

  for (let r = 0; r < g.rootNode.length; r++) {
    const node = g.rootNode[r]!;
    isStart[node] = 1;
    if (dfnum[node] === 0) walkFrom(node);
  }
  const reachLast = next; // vertices 2..reachLast are reachable from a real root
  const pseudo: number[] = [];
  if (reachLast - 1 < N) {
    // start the garbage walk at nodes no other garbage points to (a cycle's owner), then
    // at whatever is left (pure cycles), in id order
    const pointedTo = new Uint8Array(N);
    for (let u = 0; u < N; u++) {
      if (dfnum[u] !== 0) continue;
      const end = firstEdge[u + 1]!;
      for (let e = firstEdge[u]!; e < end; e++) pointedTo[edgeTarget[e]!] = 1;
    }
    for (const pass of [0, 1]) {
      for (let u = 0; u < N; u++) {
        if (dfnum[u] !== 0 || (pass === 0 && pointedTo[u] === 1)) continue;
        isStart[u] = 1;
        pseudo.push(u);
        walkFrom(u);
      }
    }
  }
  const n = next; // vertices 1..n

  const semi = new Uint32Array(size);
  const label = new Uint32Array(size);
  const ancestor = new Uint32Array(size);
  const idomV = new Uint32Array(size);
  const bucketHead = new Uint32Array(size);
  const bucketNext = new Uint32Array(size);
  for (let v = 1; v <= n; v++) {
    semi[v] = v;
    label[v] = v;
  }
  const path = stack; // reused: the DFS is over

  // eval with iterative path compression: the label of least semi on v's forest path
  const evalV = (v: number): number => {
    if (ancestor[v] === 0) return v;
    let sp = 0;
    let x = v;
    while (ancestor[ancestor[x]!] !== 0) {
      path[sp++] = x;
      x = ancestor[x]!;
    }
    while (sp > 0) {
      x = path[--sp]!;
      const a = ancestor[x]!;
      if (semi[label[a]!]! < semi[label[x]!]!) label[x] = label[a]!;
      ancestor[x] = ancestor[a]!;
    }
    return label[v]!;
  };

  const { first: revFirst, from: revFrom } = rev;
  for (let w = n; w >= 2; w--) {
    const node = vertex[w]!;
    if (isStart[node] === 1) {
      semi[w] = 1; // the super-root points to it: no semi-dominator can be smaller
    } else {
      const live = w <= reachLast;
      let s = semi[w]!;
      const end = revFirst[node + 1]!;
      for (let i = revFirst[node]!; i < end; i++) {
        const v = dfnum[revFrom[i]!]!;
        if (v === 0 || (live && v > reachLast)) continue; // garbage never retains the live heap
        const u = evalV(v);
        if (semi[u]! < s) s = semi[u]!;
      }
      semi[w] = s;
    }
    const s = semi[w]!;
    bucketNext[w] = bucketHead[s]!;
    bucketHead[s] = w;
    const p = parent[w]!;
    ancestor[w] = p;
    for (let v = bucketHead[p]!; v !== 0; v = bucketNext[v]!) {
      const u = evalV(v);
      idomV[v] = semi[u]! < semi[v]! ? u : p;
    }
    bucketHead[p] = 0;
  }
  for (let w = 2; w <= n; w++) if (idomV[w] !== semi[w]) idomV[w] = idomV[idomV[w]!]!;

  const idom = new Uint32Array(N);
  const order = new Uint32Array(N);
  const reachable = new Uint8Array(N);
  for (let w = 2; w <= n; w++) {
    const node = vertex[w]!;
    idom[node] = vertex[idomV[w]!]!;
    order[w - 2] = node;
    if (w <= reachLast) reachable[node] = 1;
  }
  return { superRoot: SUPER, idom, order, reachableCount: reachLast - 1, reachable, pseudoRoots: Uint32Array.from(pseudo) };
}
