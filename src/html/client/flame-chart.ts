import type { FlameNode } from "../view-model.js";
import { el, fmtBytes, fmtPercent, svgEl } from "./dom.js";

const FL_W = 1000;
const FL_ROW = 18;

/** Warm colours for the program's own frames, greys for library code; stable per name. */
function flameColor(n: FlameNode): string {
  let h = 0;
  for (let i = 0; i < n.name.length; i++) h = (h * 31 + n.name.charCodeAt(i)) >>> 0;
  if (n.lib) return `hsl(220, 8%, ${70 + (h % 15)}%)`;
  return `hsl(${10 + (h % 40)}, ${65 + (h % 20)}%, ${58 + (h % 12)}%)`;
}

function flameDepth(n: FlameNode): number {
  let d = 0;
  for (const c of n.children) d = Math.max(d, flameDepth(c));
  return d + 1;
}

/**
 * An icicle chart of live bytes by allocation stack: the root (all bytes) on top, callees
 * below, widths in proportion to bytes. A click on a frame zooms to it; a click on the
 * root (or on a frame above the zoomed one) zooms back out.
 */
export function drawFlame(root: FlameNode): HTMLElement {
  const box = el("div", { class: "flame" });
  const info = el("p", { class: "flame-info note" }, "Click a frame to zoom in; click the top bar to zoom out.");
  const render = (focus: FlameNode, ancestors: FlameNode[]) => {
    const depth = ancestors.length + flameDepth(focus);
    const svg = svgEl("svg", { viewBox: `0 0 ${FL_W} ${depth * FL_ROW}`, class: "chart flame-chart", role: "img", "aria-label": "allocation flame graph" });
    const bar = (n: FlameNode, x: number, w: number, d: number, onClick: () => void) => {
      if (w < 0.3) return;
      const g = svgEl("g", { class: "frame" });
      g.appendChild(svgEl("rect", { x, y: d * FL_ROW, width: Math.max(w - 0.5, 0.3), height: FL_ROW - 1, fill: flameColor(n), rx: 2 }));
      g.appendChild(svgEl("title", {}, `${n.name}\n${fmtBytes(n.value)} (${fmtPercent(n.value / Math.max(1, root.value))} of all)`));
      if (w > 40) {
        const chars = Math.floor((w - 6) / 6.2);
        const label = n.name.length > chars ? `${n.name.slice(0, Math.max(1, chars - 1))}…` : n.name;
        g.appendChild(svgEl("text", { x: x + 3, y: d * FL_ROW + 13, class: "flame-label" }, label));
      }
      g.addEventListener("click", onClick);
      svg.appendChild(g);
    };
    ancestors.forEach((a, i) => bar(a, 0, FL_W, i, () => render(a, ancestors.slice(0, i))));
    const place = (n: FlameNode, x: number, w: number, d: number, path: FlameNode[]) => {
      bar(n, x, w, d, () => render(n, path));
      let cx = x;
      for (const c of n.children) {
        const cw = (c.value / Math.max(1, n.value)) * w;
        place(c, cx, cw, d + 1, [...path, n]);
        cx += cw;
      }
    };
    place(focus, 0, FL_W, ancestors.length, ancestors);
    box.replaceChildren(svg, info);
  };
  render(root, []);
  return box;
}
