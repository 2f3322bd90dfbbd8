import type { HeapAnalysis } from "./analyse-heap.js";

/** One row of the table by type, as guppy3's `hp.heap()` gives it, plus retained size. */
export interface TypeRow {
  /** "module.qualname". */
  type: string;
  count: number;
  /** Shallow bytes, summed. */
  size: number;
  /**
   * Bytes the type's instances keep alive: the sum of retained sizes over the instances
   * that no other instance of the type dominates (so a linked list's nodes are not counted
   * once per node above them).
   */
  retained: number;
  /** Instances reachable from no root. */
  unreachable: number;
}

export interface TypeTable {
  rows: TypeRow[];
  objects: number;
  size: number;
}

/** The heap by type, largest shallow size first. O(N): one walk of the dominator tree. */
export function typeTable(a: HeapAnalysis): TypeTable {
  const g = a.graph;
  const N = g.nodeCount;
  const T = g.strings.length;
  const count = new Float64Array(T), size = new Float64Array(T), retained = new Float64Array(T), unreachable = new Float64Array(T);
  let total = 0;
  for (let v = 0; v < N; v++) {
    const t = g.nodeType[v]!;
    count[t]!++;
    size[t]! += g.nodeSize[v]!;
    total += g.nodeSize[v]!;
    if (a.dominators.reachable[v] === 0) unreachable[t]!++;
  }
  const topmost = topmostOfType(a);
  for (let v = 0; v < N; v++) if (topmost[v] === 1) retained[g.nodeType[v]!]! += a.retained[v]!;
  const rows: TypeRow[] = [];
  for (let t = 0; t < T; t++) {
    if (count[t] === 0) continue;
    rows.push({ type: g.strings[t]!, count: count[t]!, size: size[t]!, retained: retained[t]!, unreachable: unreachable[t]! });
  }
  rows.sort((x, y) => y.size - x.size || y.count - x.count || (x.type < y.type ? -1 : 1));
  return { rows, objects: N, size: total };
}

/**
 * 1 for nodes with no strict dominator of their own type. A walk of the dominator tree
 * (children laid out CSR from idom) keeping, per type, how many ancestors of that type are
 * open: a node is topmost when its type's count is 0 as the walk enters it.
 */
function topmostOfType(a: HeapAnalysis): Uint8Array {
  const g = a.graph;
  const N = g.nodeCount;
  const { idom } = a.dominators;
  const first = new Uint32Array(N + 2);
  for (let v = 0; v < N; v++) first[idom[v]! + 1]!++;
  for (let p = 0; p <= N; p++) first[p + 1]! += first[p]!;
  const fill = first.slice(0, N + 1);
  const children = new Uint32Array(N);
  for (let v = 0; v < N; v++) children[fill[idom[v]!]!++] = v;

  const open = new Uint32Array(g.strings.length);
  const topmost = new Uint8Array(N);
  // frames: [node, next child position]; the super-root (N) is entered without a type
  const stack = new Uint32Array(2 * (N + 1));
  let sp = 0;
  stack[sp++] = N;
  stack[sp++] = first[N]!;
  while (sp > 0) {
    const v = stack[sp - 2]!;
    const c = stack[sp - 1]!;
    if (c < first[v + 1]!) {
      stack[sp - 1] = c + 1;
      const child = children[c]!;
      const t = g.nodeType[child]!;
      if (open[t] === 0) topmost[child] = 1;
      open[t]!++;
      stack[sp++] = child;
      stack[sp++] = first[child]!;
    } else {
      sp -= 2;
      if (v !== N) open[g.nodeType[v]!]!--;
    }
  }
  return topmost;
}

/** A type's change between two heap graphs (after − before). */
export interface TypeDiffRow {
  type: string;
  count: number;
  size: number;
  retained: number;
  /** The counts before and after. */
  countBefore: number;
  countAfter: number;
  sizeAfter: number;
}

/** The difference of two tables by type, largest growth in shallow size first; unchanged types are left out. */
export function diffTypeTables(before: TypeTable, after: TypeTable): TypeDiffRow[] {
  const old = new Map(before.rows.map((r) => [r.type, r]));
  const rows: TypeDiffRow[] = [];
  const seen = new Set<string>();
  for (const r of after.rows) {
    seen.add(r.type);
    const b = old.get(r.type);
    rows.push({ type: r.type, count: r.count - (b?.count ?? 0), size: r.size - (b?.size ?? 0), retained: r.retained - (b?.retained ?? 0), countBefore: b?.count ?? 0, countAfter: r.count, sizeAfter: r.size });
  }
  for (const b of before.rows) {
    if (seen.has(b.type)) continue;
    rows.push({ type: b.type, count: -b.count, size: -b.size, retained: -b.retained, countBefore: b.count, countAfter: 0, sizeAfter: 0 });
  }
  return rows.filter((r) => r.count !== 0 || r.size !== 0 || r.retained !== 0).sort((x, y) => y.size - x.size || y.count - x.count || (x.type < y.type ? -1 : 1));
}
