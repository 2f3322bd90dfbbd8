import type { RetainerGraph, RetainerNode } from "../view-model.js";
import { fmtBytes, fmtCount, svgEl, typeLabel } from "./dom.js";

const RG_BOX_W = 190;
const RG_BOX_H = 40;
const RG_GAP_X = 26;
const RG_ROW = 78;

/**
 * The retainer paths of one suspect as a tree, roots on top and the leaked objects at the
 * bottom: each box an object (its type, retained size), each edge labelled the way the
 * reference reads (attribute, key, index).
 */
export function drawRetainerGraph(g: RetainerGraph): SVGElement {
  const kids = new Map<number, number[]>();
  const incoming = new Map<number, string>();
  for (const e of g.edges) {
    incoming.set(e.to, e.label);
    if (e.from >= 0) kids.set(e.from, [...(kids.get(e.from) ?? []), e.to]);
  }
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  // leaves get consecutive columns; a parent sits over the middle of its children
  const col = new Map<number, number>();
  let next = 0;
  const place = (id: number): number => {
    const ks = kids.get(id) ?? [];
    const c = ks.length === 0 ? next++ : ks.map(place).reduce((a, b) => a + b, 0) / ks.length;
    col.set(id, c);
    return c;
  };
  for (const n of g.nodes) if (n.root) place(n.id);
  const depth = Math.max(0, ...g.nodes.map((n) => n.depth)) + 1;
  const width = Math.max(1, next) * (RG_BOX_W + RG_GAP_X);
  const height = depth * RG_ROW + 10;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart retainer-graph", style: `max-width:${width}px`, role: "img", "aria-label": "retainer graph" });
  const cx = (n: RetainerNode) => (col.get(n.id) ?? 0) * (RG_BOX_W + RG_GAP_X) + RG_GAP_X / 2 + RG_BOX_W / 2;
  const top = (n: RetainerNode) => n.depth * RG_ROW + 22;
  for (const e of g.edges) {
    const to = byId.get(e.to);
    if (!to) continue;
    const from = e.from >= 0 ? byId.get(e.from) : undefined;
    const x2 = cx(to);
    const y2 = top(to);
    if (from) {
      const x1 = cx(from);
      const y1 = top(from) + RG_BOX_H;
      svg.appendChild(svgEl("path", { d: `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}`, class: "rg-edge" }));
    }
    const label = e.label.length > 30 ? `${e.label.slice(0, 29)}…` : e.label;
    svg.appendChild(svgEl("g", {}, svgEl("text", { x: x2, y: y2 - 5, class: "rg-edge-label", "text-anchor": "middle" }, label), svgEl("title", {}, e.label)));
  }
  for (const n of g.nodes) {
    const x = cx(n) - RG_BOX_W / 2;
    const y = top(n);
    const cls = `rg-node${n.root ? " root" : ""}${n.leaf ? " leaf" : ""}`;
    const name = typeLabel(n.type);
    const sizeText = n.retained > 0 ? `retains ${fmtBytes(n.retained)}` : n.size > 0 ? `${fmtBytes(n.size)}` : "";
    const objects = n.objects > 0 ? ` · ${fmtCount(n.objects)} obj` : "";
    svg.appendChild(
      svgEl(
        "g",
        { class: cls },
        svgEl("rect", { x, y, width: RG_BOX_W, height: RG_BOX_H, rx: 5 }),
        svgEl("text", { x: x + 8, y: y + 16, class: "rg-type" }, name.length > 28 ? `${name.slice(0, 27)}…` : name),
        svgEl("text", { x: x + 8, y: y + 32, class: "rg-size" }, `${sizeText}${objects}`),
        svgEl("title", {}, `${n.type}\nshallow ${fmtBytes(n.size)}, retained ${fmtBytes(n.retained)}${incoming.has(n.id) ? `\nreached by ${incoming.get(n.id)}` : ""}`),
      ),
    );
  }
  return svg;
}
