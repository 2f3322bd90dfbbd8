import { spawnSync } from "node:child_process";
import { referrersOf, type HeapAnalysis } from "./analyse-heap.js";
import { HeapGraphError } from "./errors.js";
import { NONE, RootKind } from "./format.js";
import { edgeText, shortTypeName } from "./render.js";
import { formatBytes } from "../report/units.js";

/**
 * Graphviz DOT around some objects, as objgraph's `show_backrefs` (who refers to them, up to
 * `depth` edges back, stopping at roots) and `show_refs` (what they refer to). A BFS, bounded
 * by `maxNodes` so that a hub's million referrers do not make an unreadable picture: what
 * is cut is said in a note.
 */
export interface DotOptions {
  direction: "backrefs" | "refs";
  /** Edges away from the centres (default 5 back, 3 forward). */
  depth?: number;
  /** Nodes drawn at most (default 60). */
  maxNodes?: number;
}

export function heapDot(a: HeapAnalysis, centres: readonly number[], opts: DotOptions): string {
  const g = a.graph;
  const back = opts.direction === "backrefs";
  const depthLimit = opts.depth ?? (back ? 5 : 3);
  const maxNodes = opts.maxNodes ?? 60;
  const rev = back ? referrersOf(a) : undefined;
  const isRoot = new Map<number, RootKind>();
  for (let r = 0; r < g.rootNode.length; r++) if (!isRoot.has(g.rootNode[r]!)) isRoot.set(g.rootNode[r]!, g.rootKind[r] as RootKind);

  const depth = new Map<number, number>();
  const queue: number[] = [];
  for (const c of centres) {
    if (depth.has(c) || depth.size >= maxNodes) continue;
    depth.set(c, 0);
    queue.push(c);
  }
  const edges: Array<[from: number, to: number, edge: number]> = [];
  let cut = 0;
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    const d = depth.get(v)!;
    if (d >= depthLimit || (back && isRoot.has(v) && d > 0)) continue;
    const [start, end] = back ? [rev!.first[v]!, rev!.first[v + 1]!] : [g.firstEdge[v]!, g.firstEdge[v + 1]!];
    for (let i = start; i < end; i++) {
      const other = back ? rev!.from[i]! : g.edgeTarget[i]!;
      const e = back ? rev!.edge[i]! : i;
      if (!depth.has(other)) {
        if (depth.size >= maxNodes) {
          cut++;
          continue;
        }
        depth.set(other, d + 1);
        queue.push(other);
      }
      edges.push(back ? [other, v, e] : [v, other, e]);
    }
  }

  const lines = [`digraph ${back ? "backrefs" : "refs"} {`, '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];'];
  for (const [v, d] of depth) {
    const type = g.strings[g.nodeType[v]!]!;
    const name = g.nodeName[v]! === NONE ? "" : clip(g.strings[g.nodeName[v]!]!);
    const root = isRoot.get(v);
    const head = root === RootKind.MODULE ? `module ${name}` : root === RootKind.THREAD ? `thread ${name}` : shortTypeName(type);
    const label = [head, root ? "" : name, `${formatBytes(g.nodeSize[v]!)}, retains ${formatBytes(a.retained[v]!)}`, a.dominators.reachable[v] ? "" : "unreachable"].filter((s) => s !== "").join("\\n");
    const fill = d === 0 ? "#ffd966" : root ? "#9fc5e8" : a.dominators.reachable[v] ? "#f5f5f5" : "#ea9999";
    lines.push(`  n${v} [label="${esc(label)}", fillcolor="${fill}", tooltip="${esc(type)} @${v}"];`);
  }
  for (const [from, to, e] of edges) lines.push(`  n${from} -> n${to} [label="${esc(edgeText(g, e))}"];`);
  if (cut > 0) lines.push(`  more [shape=note, fillcolor="#ffffff", label="${cut} more references ${back ? "from" : "to"} objects not drawn (--max-nodes)"];`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** SVG from DOT through Graphviz's `dot`. */
export function dotToSvg(dot: string): string {
  const res = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (res.error) {
    if ((res.error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new HeapGraphError("Graphviz's 'dot' is not installed, so no SVG: install graphviz (e.g. apt-get install graphviz), or write a .dot file instead");
    }
    throw new HeapGraphError(`Graphviz's 'dot' failed: ${res.error.message}`);
  }
  if (res.status !== 0) throw new HeapGraphError(`Graphviz's 'dot' failed: ${(res.stderr || "").split("\n")[0]}`);
  return res.stdout;
}

function esc(s: string): string {
  return s.replace(/\\(?!n)/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function clip(s: string): string {
  const one = s.replace(/\s+/g, " ");
  return one.length > 40 ? `${one.slice(0, 39)}…` : one;
}
