import type { RetainerPath, RetainerStep } from "../report/schema.js";
import type { RetainerGraph, RetainerNode } from "./view-model.js";

/** A path longer than `maxSteps` keeps its first and last steps; the middle is one "…" step. */
function shorten(steps: RetainerStep[], maxSteps: number): { steps: RetainerStep[]; elided: number } {
  if (steps.length <= maxSteps) return { steps, elided: 0 };
  const head = Math.ceil((maxSteps - 1) / 2);
  const tail = maxSteps - 1 - head;
  const elided = steps.length - head - tail;
  const gap: RetainerStep = { edge: `… ${elided} steps …`, type: "…", size: 0, retained: 0 };
  return { steps: [...steps.slice(0, head), gap, ...steps.slice(steps.length - tail)], elided };
}

/**
 * The clustered retainer paths of one suspect as a tree: paths that share their first
 * steps (the same edge to the same type) share nodes, so a person sees where they part.
 * Bounded by the caller's caps on paths and steps; never the heap graph itself.
 */
export function retainerGraph(paths: RetainerPath[], maxPaths: number, maxSteps: number): RetainerGraph | null {
  const used = paths.filter((p) => p.steps.length > 0).slice(0, maxPaths);
  if (used.length === 0) return null;
  const nodes: RetainerNode[] = [];
  const edges: RetainerGraph["edges"] = [];
  const byKey = new Map<string, RetainerNode>();
  let elided = 0;
  for (const path of used) {
    const short = shorten(path.steps, maxSteps);
    elided += short.elided;
    let key = "";
    let parent: RetainerNode | null = null;
    short.steps.forEach((step, depth) => {
      key = `${key}\u0000${step.edge}\u0001${step.type}`;
      let node = byKey.get(key);
      if (!node) {
        node = { id: nodes.length, type: step.type, size: step.size, retained: step.retained, objects: 0, depth, root: depth === 0, leaf: false };
        nodes.push(node);
        byKey.set(key, node);
        // a root's own step says why it is a root ("module app.cache"): an edge from nowhere
        edges.push({ from: parent ? parent.id : -1, to: node.id, label: step.edge });
      }
      node.retained = Math.max(node.retained, step.retained);
      node.size = Math.max(node.size, step.size);
      node.objects += path.objects;
      if (depth === short.steps.length - 1) node.leaf = true;
      parent = node;
    });
  }
  return { nodes, edges, elided };
}
