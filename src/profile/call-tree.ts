import type { Profile } from "./model.js";

/** A node of the call tree merged by function: what a flame graph draws as one box. */
export interface CallNode {
  /** Index into Profile.functions; -1 for the root. */
  fn: number;
  /** Inclusive values, one per value type. */
  total: number[];
  /** Values of samples whose innermost frame is this node. */
  self: number[];
  children: CallNode[];
}

function node(fn: number, width: number): CallNode {
  return { fn, total: new Array<number>(width).fill(0), self: new Array<number>(width).fill(0), children: [] };
}

/** Merges the samples into a tree by function, root first. Children are sorted by name so that layouts are stable. */
export function callTree(profile: Profile): CallNode {
  const width = profile.valueTypes.length;
  const root = node(-1, width);
  const index = new Map<CallNode, Map<number, CallNode>>();
  for (const s of profile.samples) {
    let at = root;
    add(at.total, s.values);
    for (const frameId of s.stack) {
      const fn = profile.frames[frameId]!.fn;
      let kids = index.get(at);
      if (!kids) index.set(at, (kids = new Map()));
      let next = kids.get(fn);
      if (!next) {
        next = node(fn, width);
        kids.set(fn, next);
        at.children.push(next);
      }
      at = next;
      add(at.total, s.values);
    }
    add(at.self, s.values);
  }
  const label = (n: CallNode) => {
    const f = profile.functions[n.fn]!;
    return `${f.name}\0${f.file}`;
  };
  const sort = (n: CallNode) => {
    n.children.sort((a, b) => (label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0));
    for (const c of n.children) sort(c);
  };
  sort(root);
  return root;
}

function add(into: number[], values: number[]): void {
  for (let i = 0; i < values.length; i++) into[i]! += values[i] ?? 0;
}

export interface FunctionTotals {
  fn: number;
  /** Inclusive: samples with the function anywhere on the stack (counted once per sample). */
  total: number[];
  /** Samples whose innermost frame is the function. */
  self: number[];
}

/** Per-function inclusive and self values (what cProfile's cumtime/tottime are to calls). */
export function functionTotals(profile: Profile): FunctionTotals[] {
  const width = profile.valueTypes.length;
  const byFn = new Map<number, FunctionTotals>();
  const get = (fn: number) => {
    let t = byFn.get(fn);
    if (!t) byFn.set(fn, (t = { fn, total: new Array<number>(width).fill(0), self: new Array<number>(width).fill(0) }));
    return t;
  };
  for (const s of profile.samples) {
    const seen = new Set<number>(); // recursion: a function counts once per sample
    for (const frameId of s.stack) {
      const fn = profile.frames[frameId]!.fn;
      if (seen.has(fn)) continue;
      seen.add(fn);
      add(get(fn).total, s.values);
    }
    const leaf = s.stack[s.stack.length - 1];
    if (leaf !== undefined) add(get(profile.frames[leaf]!.fn).self, s.values);
  }
  return [...byFn.values()];
}
