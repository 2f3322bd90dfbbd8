import { RootKind, type HeapGraph } from "./format.js";

/** Marks what is reachable from the roots of the given kinds (breadth-first, typed arrays). */
function reachFrom(g: HeapGraph, kinds: ReadonlySet<number>): Uint8Array {
  const seen = new Uint8Array(g.nodeCount);
  const queue = new Uint32Array(g.nodeCount);
  let tail = 0;
  for (let r = 0; r < g.rootNode.length; r++) {
    const n = g.rootNode[r]!;
    if (kinds.has(g.rootKind[r]!) && !seen[n]) {
      seen[n] = 1;
      queue[tail++] = n;
    }
  }
  for (let head = 0; head < tail; head++) {
    const n = queue[head]!;
    for (let e = g.firstEdge[n]!; e < g.firstEdge[n + 1]!; e++) {
      const t = g.edgeTarget[e]!;
      if (!seen[t]) {
        seen[t] = 1;
        queue[tail++] = t;
      }
    }
  }
  return seen;
}

const PROGRAM_ROOTS: ReadonlySet<number> = new Set([RootKind.MODULE, RootKind.THREAD, RootKind.EXTERNAL]);
const AGENT_ROOTS: ReadonlySet<number> = new Set([RootKind.AGENT]);

/**
 * The graph without the measurer's own objects: those that only AGENT roots reach
 * (leaktrail's modules, its threads' stacks and what only they hold). What the program
 * also reaches stays, and so does garbage (reached from no root at all): it is the
 * program's. The AGENT roots go too. Returns the graph itself when there is nothing to drop.
 */
export function withoutTheAgent(g: HeapGraph): HeapGraph {
  let agentRoots = 0;
  for (let r = 0; r < g.rootKind.length; r++) if (g.rootKind[r] === RootKind.AGENT) agentRoots++;
  if (agentRoots === 0) return g;
  const program = reachFrom(g, PROGRAM_ROOTS);
  const agent = reachFrom(g, AGENT_ROOTS);
  const newId = new Uint32Array(g.nodeCount);
  let kept = 0;
  for (let n = 0; n < g.nodeCount; n++) newId[n] = agent[n] && !program[n] ? 0xffffffff : kept++;
  const keep = (n: number) => newId[n] !== 0xffffffff;
  let edges = 0;
  for (let n = 0; n < g.nodeCount; n++) {
    if (!keep(n)) continue;
    for (let e = g.firstEdge[n]!; e < g.firstEdge[n + 1]!; e++) if (keep(g.edgeTarget[e]!)) edges++;
  }
  const out: HeapGraph = {
    nodeCount: kept,
    edgeCount: edges,
    strings: g.strings,
    flags: g.flags,
    nodeType: new Uint32Array(kept),
    nodeSize: new Uint32Array(kept),
    nodeName: new Uint32Array(kept),
    nodeSite: new Uint32Array(kept),
    firstEdge: new Uint32Array(kept + 1),
    edgeTarget: new Uint32Array(edges),
    edgeLabel: new Uint32Array(edges),
    edgeKind: new Uint8Array(edges),
    rootNode: new Uint32Array(g.rootNode.length - agentRoots),
    rootKind: new Uint8Array(g.rootNode.length - agentRoots),
  };
  let e2 = 0;
  for (let n = 0; n < g.nodeCount; n++) {
    if (!keep(n)) continue;
    const m = newId[n]!;
    out.nodeType[m] = g.nodeType[n]!;
    out.nodeSize[m] = g.nodeSize[n]!;
    out.nodeName[m] = g.nodeName[n]!;
    out.nodeSite[m] = g.nodeSite[n]!;
    out.firstEdge[m] = e2;
    for (let e = g.firstEdge[n]!; e < g.firstEdge[n + 1]!; e++) {
      const t = g.edgeTarget[e]!;
      if (!keep(t)) continue;
      out.edgeTarget[e2] = newId[t]!;
      out.edgeLabel[e2] = g.edgeLabel[e]!;
      out.edgeKind[e2] = g.edgeKind[e]!;
      e2++;
    }
  }
  out.firstEdge[kept] = e2;
  let r2 = 0;
  for (let r = 0; r < g.rootNode.length; r++) {
    const n = g.rootNode[r]!;
    if (g.rootKind[r] === RootKind.AGENT || !keep(n)) continue;
    out.rootNode[r2] = newId[n]!;
    out.rootKind[r2++] = g.rootKind[r]!;
  }
  if (r2 < out.rootNode.length) {
    out.rootNode = out.rootNode.slice(0, r2);
    out.rootKind = out.rootKind.slice(0, r2);
  }
  return out;
}
