import { encodeHeapGraph } from "./encode.js";
import { HeapGraphError } from "./errors.js";
import { EdgeKind, NONE, RootKind, type HeapGraph } from "./format.js";

/**
 * A small heap graph written by hand, for tests and examples. Nodes are named by their
 * `id` (or their position); edges and roots refer to either.
 *
 *   buildHeapGraph({
 *     nodes: [{ id: "m", type: "builtins.module", name: "app" }, { id: "d", type: "builtins.dict", size: 232 }],
 *     edges: [["m", "d", EdgeKind.ATTR, "_CACHE"]],
 *     roots: [["m", RootKind.MODULE]],
 *   })
 */
export interface GraphSpec {
  nodes: NodeSpec[];
  /** [from, to, kind (default REF), label: a string for named kinds, a number for INDEX]. */
  edges?: EdgeSpec[];
  roots?: Array<[node: NodeRef, kind: RootKind]>;
  /** Bit 0: str/bytes values were included. */
  flags?: number;
}

export interface NodeSpec {
  id?: string;
  /** "module.qualname", e.g. "builtins.dict". */
  type: string;
  /** Shallow size; default 16. */
  size?: number;
  name?: string;
  /** "file:line". */
  site?: string;
}

export type NodeRef = string | number;
export type EdgeSpec = [from: NodeRef, to: NodeRef, kind?: EdgeKind, label?: string | number];

export function buildHeapGraph(spec: GraphSpec): HeapGraph {
  const N = spec.nodes.length;
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const intern = (s: string) => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIndex.set(s, i);
    }
    return i;
  };
  const ids = new Map<string, number>();
  spec.nodes.forEach((n, i) => {
    if (n.id !== undefined) {
      if (ids.has(n.id)) throw new HeapGraphError(`graph spec: node id '${n.id}' used twice`);
      ids.set(n.id, i);
    }
  });
  const ref = (r: NodeRef): number => {
    const i = typeof r === "number" ? r : ids.get(r);
    if (i === undefined || i < 0 || i >= N) throw new HeapGraphError(`graph spec: no node '${r}'`);
    return i;
  };

  const nodeType = new Uint32Array(N), nodeSize = new Uint32Array(N), nodeName = new Uint32Array(N), nodeSite = new Uint32Array(N);
  spec.nodes.forEach((n, i) => {
    nodeType[i] = intern(n.type);
    nodeSize[i] = n.size ?? 16;
    nodeName[i] = n.name === undefined ? NONE : intern(n.name);
    nodeSite[i] = n.site === undefined ? NONE : intern(n.site);
  });

  // CSR: group edges by source, keeping each source's edges in the order given
  const edges = (spec.edges ?? []).map(([from, to, kind = EdgeKind.REF, label]) => ({ from: ref(from), to: ref(to), kind, label }));
  const firstEdge = new Uint32Array(N + 1);
  for (const e of edges) firstEdge[e.from + 1]!++;
  for (let i = 0; i < N; i++) firstEdge[i + 1]! += firstEdge[i]!;
  const E = edges.length;
  const edgeTarget = new Uint32Array(E), edgeLabel = new Uint32Array(E), edgeKind = new Uint8Array(E);
  const cursor = firstEdge.slice(0, N);
  for (const e of edges) {
    const at = cursor[e.from]!++;
    edgeTarget[at] = e.to;
    edgeKind[at] = e.kind;
    edgeLabel[at] = labelFor(e.kind, e.label, intern);
  }

  const roots = spec.roots ?? [];
  const rootNode = Uint32Array.from(roots, ([n]) => ref(n));
  const rootKind = Uint8Array.from(roots, ([, k]) => k);
  return { nodeCount: N, edgeCount: E, strings, flags: spec.flags ?? 0, nodeType, nodeSize, nodeName, nodeSite, firstEdge, edgeTarget, edgeLabel, edgeKind, rootNode, rootKind };
}

function labelFor(kind: EdgeKind, label: string | number | undefined, intern: (s: string) => number): number {
  if (kind === EdgeKind.INDEX) {
    if (typeof label !== "number") throw new HeapGraphError(`graph spec: an INDEX edge needs a number label, not ${JSON.stringify(label)}`);
    return label;
  }
  if (kind === EdgeKind.REF || kind === EdgeKind.MEMBER || label === undefined) return NONE;
  return intern(String(label));
}

/** The uncompressed payload of a hand-written graph. */
export function buildHeapPayload(spec: GraphSpec): Uint8Array {
  return encodeHeapGraph(buildHeapGraph(spec));
}
