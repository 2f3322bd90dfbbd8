import { EdgeKind, NONE, RootKind, type HeapGraph } from "./format.js";

/**
 * How people read the graph: a type's short name, an edge's text, a root's text. The forms
 * follow Python's own spelling (`.attr`, `['key']`, `[3]`), so that a path reads like the
 * expression that reaches the object.
 */

/** "builtins.dict" → "dict", "shop.catalog.ViewIndex" → "ViewIndex". */
export function shortTypeName(type: string): string {
  const dot = type.lastIndexOf(".");
  return dot < 0 ? type : type.slice(dot + 1);
}

/** The text of edge `e`: `.name`, `['key']`, `key 'k'`, `[i]`, `closure x`, `local y`, `__traceback__`, `{…}`, or "" (REF). */
export function edgeText(g: HeapGraph, e: number, generalise = false): string {
  const kind = g.edgeKind[e]! as EdgeKind;
  const label = g.edgeLabel[e]!;
  const text = label === NONE || kind === EdgeKind.INDEX ? "?" : (g.strings[label] ?? "?");
  switch (kind) {
    case EdgeKind.ATTR:
      return `.${text}`;
    case EdgeKind.ITEM:
      return generalise ? "[…]" : `['${text}']`;
    case EdgeKind.KEY:
      return generalise ? "key …" : `key '${text}'`;
    case EdgeKind.INDEX:
      return generalise ? "[…]" : `[${label}]`;
    case EdgeKind.CELL:
      return `closure ${text}`;
    case EdgeKind.LOCAL:
      return `local ${text}`;
    case EdgeKind.FIELD:
      return text;
    case EdgeKind.MEMBER:
      return "{…}";
    default:
      return "";
  }
}

/** Edge kinds whose labels vary between otherwise-alike paths (list positions, dict keys). */
export function isGeneralisedKind(kind: number): boolean {
  return kind === EdgeKind.INDEX || kind === EdgeKind.ITEM || kind === EdgeKind.KEY;
}

/** What starts a path: `module app.cache`, `thread MainThread`, `held from C`, or `unreachable` (garbage). */
export function rootText(g: HeapGraph, node: number, kind: RootKind | 0): string {
  const name = g.nodeName[node]!;
  const named = name === NONE ? undefined : g.strings[name];
  switch (kind) {
    case RootKind.MODULE:
      return `module ${named ?? "?"}`;
    case RootKind.THREAD:
      return `thread ${named ?? "?"}`;
    case RootKind.EXTERNAL:
      return "held from C";
    default:
      return "unreachable";
  }
}

/** One step of a flat path: the object's short type, then the edge leaving it ("dict['k']", "frame f_back", "list"). */
export function joinStep(type: string, edge: string): string {
  if (edge === "") return type;
  return edge.startsWith(".") || edge.startsWith("[") || edge.startsWith("{") ? `${type}${edge}` : `${type} ${edge}`;
}
