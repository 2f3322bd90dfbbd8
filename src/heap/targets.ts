import { NONE, type HeapGraph } from "./format.js";

export interface PickOptions {
  /** "file:line": instances allocated there are preferred (matched on the path's tail). */
  site?: string;
  /** At most this many, spread evenly over the candidates (default 200). */
  max?: number;
}

/**
 * Nodes of one type to explain for a suspect: `typeName` matches a "module.qualname" type
 * exactly, or its last part (`type(o).__name__`, as suspects name types). When some
 * instances were allocated at `site`, only those are taken. Sampled evenly (every k-th), so
 * the sample spans old and new instances alike.
 */
export function pickTargets(g: HeapGraph, typeName: string, opts: PickOptions = {}): number[] {
  const { all, atSite } = instancesOf(g, typeName, opts.site);
  return spread(atSite.length > 0 ? atSite : all, opts.max ?? 200);
}

/** Every instance of a type, and those of them allocated at `site` ("file:line"). */
export function instancesOf(g: HeapGraph, typeName: string, site?: string): { all: number[]; atSite: number[] } {
  const opts = { site };
  const typeIds = new Uint8Array(g.strings.length);
  const siteIds = new Uint8Array(g.strings.length);
  let anyType = false;
  g.strings.forEach((s, i) => {
    if (s === typeName || s.endsWith(`.${typeName}`)) {
      typeIds[i] = 1;
      anyType = true;
    }
    if (opts.site && sameSite(s, opts.site)) siteIds[i] = 1;
  });
  if (!anyType) return { all: [], atSite: [] };
  const all: number[] = [];
  const atSite: number[] = [];
  for (let v = 0; v < g.nodeCount; v++) {
    if (typeIds[g.nodeType[v]!] !== 1) continue;
    all.push(v);
    const site = g.nodeSite[v]!;
    if (site !== NONE && siteIds[site] === 1) atSite.push(v);
  }
  return { all, atSite };
}

function sameSite(a: string, b: string): boolean {
  return a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`);
}

/** At most `max` of `xs`, every k-th, so that a sample spans old and new alike. */
export function spread(xs: number[], max: number): number[] {
  if (xs.length <= max) return xs;
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(xs[Math.floor((i * xs.length) / max)]!);
  return out;
}
