import type { Frame } from "../capture/format.js";
import type { AllocStack } from "./alloc-stacks.js";
import type { FlameNode } from "./view-model.js";

interface Options {
  maxNodes: number;
  /** Nodes below this share of the root are folded into their parent. */
  minShare: number;
  /** Library code (not the program's own): drawn in grey. */
  isLibrary: (file: string) => boolean;
  /** How a file is shown (relative to the run's directory when under it). */
  display: (file: string) => string;
  /** A label per process; with more than one, each gets a node under the root. */
  processLabel: (pid: number) => string;
}

interface Building {
  node: FlameNode;
  byKey: Map<string, Building>;
}

function frameName(f: Frame, display: (file: string) => string): string {
  return `${f[2] || "?"} (${display(f[0])}:${f[1]})`;
}

/**
 * Merges stacks into a flame tree (root: all bytes), then keeps it small: nodes below
 * `minShare` of the root go, and if more than `maxNodes` remain, the smallest go until
 * they fit (a parent always outweighs its children, so cutting by size keeps a tree).
 * Returns the tree and how many nodes were cut.
 */
export function buildFlame(stacks: AllocStack[], opts: Options): { root: FlameNode | null; omitted: number } {
  if (stacks.length === 0) return { root: null, omitted: 0 };
  const pids = new Set(stacks.map((s) => s.pid));
  const root: Building = { node: { name: "all", value: 0, lib: false, children: [] }, byKey: new Map() };
  const child = (parent: Building, key: string, name: string, lib: boolean): Building => {
    let c = parent.byKey.get(key);
    if (!c) {
      c = { node: { name, value: 0, lib, children: [] }, byKey: new Map() };
      parent.byKey.set(key, c);
      parent.node.children.push(c.node);
    }
    return c;
  };
  for (const s of stacks) {
    let at = root;
    at.node.value += s.weight;
    if (pids.size > 1) {
      at = child(at, `pid ${s.pid}`, opts.processLabel(s.pid), false);
      at.node.value += s.weight;
    }
    for (const f of s.frames) {
      at = child(at, `${f[0]}:${f[1]}:${f[2]}`, frameName(f, opts.display), opts.isLibrary(f[0]));
      at.node.value += s.weight;
    }
  }
  const all = countNodes(root.node);
  const minValue = root.node.value * opts.minShare;
  const cut = sizeCut(root.node, opts.maxNodes);
  const pruned = prune(root.node, (v) => v >= minValue && v > cut);
  return { root: pruned, omitted: all - countNodes(pruned) };
}

function countNodes(n: FlameNode): number {
  let c = 1;
  for (const k of n.children) c += countNodes(k);
  return c;
}

/** A node must weigh more than this for at most `max` nodes to remain (ties at the cut all go). */
function sizeCut(root: FlameNode, max: number): number {
  const values: number[] = [];
  const walk = (n: FlameNode) => {
    values.push(n.value);
    for (const k of n.children) walk(k);
  };
  walk(root);
  if (values.length <= max) return -Infinity;
  values.sort((a, b) => b - a);
  return values[max] as number;
}

function prune(n: FlameNode, keep: (value: number) => boolean): FlameNode {
  return {
    ...n,
    children: n.children
      .filter((k) => keep(k.value))
      .sort((a, b) => b.value - a.value)
      .map((k) => prune(k, keep)),
  };
}
