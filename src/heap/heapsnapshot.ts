import { closeSync, openSync, writeSync } from "node:fs";
import { analyseHeap, type HeapAnalysis } from "./analyse-heap.js";
import { EdgeKind, NONE, RootKind, type HeapGraph } from "./format.js";

/**
 * Export to Chrome's `.heapsnapshot` JSON, so that Chrome DevTools (Memory tab → Load) and
 * memlab can open a Python heap. The layout is V8's (node_fields, edge_fields, flat `nodes`
 * and `edges` arrays, one `strings` table); see docs/heap-graph.md for the mapping.
 *
 * Shape: node 0 is the synthetic "(root)"; it points to four synthetic groups — "(modules)",
 * "(threads)", "(held from C)", "(unreachable)" — which point to the graph's roots (and the
 * engine's garbage pseudo-roots). Graph node i is snapshot node i + 5. Edges from garbage
 * into the live heap are written as "weak", which DevTools and memlab leave out of
 * dominators, so their retained sizes agree with the engine's.
 *
 * Written in ~1 MB pieces: a million-node heap never becomes one giant string.
 */

const NODE_TYPES = ["hidden", "array", "string", "object", "code", "closure", "regexp", "number", "native", "synthetic", "concatenated string", "sliced string", "symbol", "bigint", "object shape"];
const EDGE_TYPES = ["context", "element", "property", "internal", "hidden", "shortcut", "weak"];
const NT = { string: 2, object: 3, code: 4, closure: 5, number: 7, synthetic: 9 } as const;
const ET = { context: 0, element: 1, property: 2, internal: 3, hidden: 4, weak: 6 } as const;
const NODE_FIELDS = 7;
const FIRST = 5; // graph node i is snapshot node FIRST + i

const META = {
  node_fields: ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"],
  node_types: [NODE_TYPES, "string", "number", "number", "number", "number", "number"],
  edge_fields: ["type", "name_or_index", "to_node"],
  edge_types: [EDGE_TYPES, "string_or_number", "node"],
  trace_function_info_fields: ["function_id", "name", "script_name", "script_id", "line", "column"],
  trace_node_fields: ["id", "function_info_index", "count", "size", "children"],
  sample_fields: ["timestamp_us", "last_assigned_id"],
  location_fields: ["object_index", "script_id", "line", "column"],
};

const STRING_TYPES = new Set(["builtins.str", "builtins.bytes", "builtins.bytearray"]);
const NUMBER_TYPES = new Set(["builtins.int", "builtins.float", "builtins.complex", "builtins.bool"]);
const CLOSURE_TYPES = new Set(["builtins.function", "builtins.method", "builtins.builtin_function_or_method"]);

export interface SnapshotStats {
  nodes: number;
  edges: number;
  bytes: number;
}

/** V8's node id for graph node i (odd, as V8's object ids are; 1 is the root). */
export function snapshotNodeId(i: number): number {
  return 2 * (i + FIRST) + 1;
}

export function writeHeapSnapshot(g: HeapGraph, path: string, analysis: HeapAnalysis = analyseHeap(g)): SnapshotStats {
  const out = new ChunkWriter(path);
  try {
    const strings = new ExtraStrings(g.strings.length);
    const N = g.nodeCount;
    const groups = groupMembers(g, analysis);
    const nodeCount = N + FIRST;
    const edgeCount = g.edgeCount + groups.reduce((s, m) => s + m.length, 0) + groups.length;
    out.write(`{"snapshot":{"meta":${JSON.stringify(META)},"node_count":${nodeCount},"edge_count":${edgeCount},"trace_function_count":0},\n"nodes":[`);

    // nodes: (root), the four groups, then the graph's nodes
    const groupNames = ["(modules)", "(threads)", "(held from C)", "(unreachable)"];
    out.write(`${NT.synthetic},${strings.add("(root)")},1,0,${groups.length},0,0`);
    groups.forEach((members, k) => out.write(`,\n${NT.synthetic},${strings.add(groupNames[k]!)},${2 * (k + 1) + 1},0,${members.length},0,0`));
    const display = typeDisplay(g, strings);
    for (let i = 0; i < N; i++) {
      const type = g.strings[g.nodeType[i]!]!;
      const { nodeType, name } = nodeTypeAndName(g, i, type, display);
      out.write(`,\n${nodeType},${name},${snapshotNodeId(i)},${g.nodeSize[i]},${g.firstEdge[i + 1]! - g.firstEdge[i]!},0,0`);
    }

    out.write(`],\n"edges":[`);
    let sep = "";
    groups.forEach((_, k) => {
      out.write(`${sep}${ET.element},${k + 1},${(k + 1) * NODE_FIELDS}`);
      sep = ",\n";
    });
    const groupKinds = [RootKind.MODULE, RootKind.THREAD, RootKind.EXTERNAL, 0];
    groups.forEach((members, k) => {
      members.forEach((node, j) => {
        const to = (node + FIRST) * NODE_FIELDS;
        const named = (groupKinds[k] === RootKind.MODULE || groupKinds[k] === RootKind.THREAD) && g.nodeName[node] !== NONE;
        out.write(named ? `${sep}${ET.property},${g.nodeName[node]},${to}` : `${sep}${ET.element},${j + 1},${to}`);
        sep = ",\n";
      });
    });
    const reachable = analysis.dominators.reachable;
    const garbageName = strings.add("(from garbage)");
    for (let u = 0; u < N; u++) {
      const end = g.firstEdge[u + 1]!;
      let position = 0;
      for (let e = g.firstEdge[u]!; e < end; e++) {
        const t = g.edgeTarget[e]!;
        const to = (t + FIRST) * NODE_FIELDS;
        position++;
        if (reachable[u] === 0 && reachable[t] === 1) {
          out.write(`${sep}${ET.weak},${garbageName},${to}`);
        } else {
          const [type, nameOrIndex] = edgeTypeAndName(g, e, position, strings);
          out.write(`${sep}${type},${nameOrIndex},${to}`);
        }
        sep = ",\n";
      }
    }

    out.write(`],\n"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n"locations":[],\n"strings":[`);
    let first = true;
    for (const s of [g.strings, strings.added]) {
      for (const str of s) {
        out.write(`${first ? "" : ",\n"}${JSON.stringify(str)}`);
        first = false;
      }
    }
    out.write("]}\n");
    out.close();
    return { nodes: nodeCount, edges: edgeCount, bytes: out.bytes };
  } catch (err) {
    out.close();
    throw err;
  }
}

/** The members of each synthetic group: modules, threads, C-held roots, garbage pseudo-roots. */
function groupMembers(g: HeapGraph, a: HeapAnalysis): number[][] {
  const groups: number[][] = [[], [], [], []];
  const seen = new Set<number>();
  for (let r = 0; r < g.rootNode.length; r++) {
    const node = g.rootNode[r]!;
    const k = g.rootKind[r] === RootKind.MODULE ? 0 : g.rootKind[r] === RootKind.THREAD ? 1 : 2;
    const key = node * 4 + k;
    if (seen.has(key)) continue;
    seen.add(key);
    groups[k]!.push(node);
  }
  groups[3]!.push(...a.dominators.pseudoRoots);
  return groups;
}

/** Per type string: the class name DevTools lists ("dict" for builtins, "app.models.Order" for others). */
function typeDisplay(g: HeapGraph, strings: ExtraStrings): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i < g.nodeCount; i++) {
    const t = g.nodeType[i]!;
    if (out.has(t)) continue;
    const type = g.strings[t]!;
    out.set(t, type.startsWith("builtins.") ? strings.add(type.slice("builtins.".length)) : t);
  }
  return out;
}

function nodeTypeAndName(g: HeapGraph, i: number, type: string, display: Map<number, number>): { nodeType: number; name: number } {
  const named = g.nodeName[i]!;
  const typeName = display.get(g.nodeType[i]!)!;
  if (STRING_TYPES.has(type)) return { nodeType: NT.string, name: named !== NONE && (g.flags & 1) === 1 ? named : typeName };
  if (NUMBER_TYPES.has(type)) return { nodeType: NT.number, name: typeName };
  if (CLOSURE_TYPES.has(type)) return { nodeType: NT.closure, name: named !== NONE ? named : typeName };
  if (type === "builtins.code") return { nodeType: NT.code, name: named !== NONE ? named : typeName };
  return { nodeType: NT.object, name: typeName };
}

function edgeTypeAndName(g: HeapGraph, e: number, position: number, strings: ExtraStrings): [number, number] {
  const label = g.edgeLabel[e]!;
  const named = (type: number): [number, number] => [type, label === NONE ? strings.add("?") : label];
  switch (g.edgeKind[e] as EdgeKind) {
    case EdgeKind.ATTR:
    case EdgeKind.ITEM:
      return named(ET.property);
    case EdgeKind.KEY:
    case EdgeKind.FIELD:
      return named(ET.internal);
    case EdgeKind.CELL:
    case EdgeKind.LOCAL:
      return named(ET.context);
    case EdgeKind.INDEX:
      return [ET.element, label];
    case EdgeKind.MEMBER:
      return [ET.element, position];
    default:
      return [ET.hidden, position];
  }
}

/** Strings the snapshot needs beyond the graph's own table (appended after it). */
class ExtraStrings {
  readonly added: string[] = [];
  private readonly index = new Map<string, number>();
  constructor(private readonly base: number) {}
  add(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.base + this.added.length;
      this.added.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

/** Appends text to a file in ~1 MB writes. */
class ChunkWriter {
  private readonly fd: number;
  private parts: string[] = [];
  private pending = 0;
  bytes = 0;
  constructor(path: string) {
    this.fd = openSync(path, "w");
  }
  write(s: string): void {
    this.parts.push(s);
    this.pending += s.length;
    if (this.pending >= 1 << 20) this.flush();
  }
  private flush(): void {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join(""), "utf8");
    writeSync(this.fd, buf);
    this.bytes += buf.byteLength;
    this.parts = [];
    this.pending = 0;
  }
  private closed = false;
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
    }
  }
}
