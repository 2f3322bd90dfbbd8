import type { GcView, Points } from "../view-model.js";
import { el, fmtCount, fmtSeconds, niceTicks, svgEl } from "./dom.js";

const GC_W = 900;
const GC_H = 170;
const GC_PAD = { left: 72, right: 16, top: 10, bottom: 30 };

/** Time spent in collections, per time bucket, stacked by generation, with the totals. */
export function drawGc(gc: GcView): HTMLElement {
  const n = gc.xs.length;
  const sums = gc.xs.map((_, i) => (gc.pause[0][i] ?? 0) + (gc.pause[1][i] ?? 0) + (gc.pause[2][i] ?? 0));
  const yMax = Math.max(1e-6, ...sums) * 1.1;
  const iw = GC_W - GC_PAD.left - GC_PAD.right;
  const ih = GC_H - GC_PAD.top - GC_PAD.bottom;
  const xMax = Math.max(1e-3, n * gc.width);
  const sx = (x: number) => GC_PAD.left + (x / xMax) * iw;
  const sy = (y: number) => GC_PAD.top + ih - (y / yMax) * ih;
  const svg = svgEl("svg", { viewBox: `0 0 ${GC_W} ${GC_H}`, class: "chart gc-chart", role: "img", "aria-label": "garbage collection pauses" });
  for (const t of niceTicks(0, yMax, 3)) {
    svg.appendChild(svgEl("line", { x1: GC_PAD.left, x2: GC_W - GC_PAD.right, y1: sy(t), y2: sy(t), class: "grid" }));
    svg.appendChild(svgEl("text", { x: GC_PAD.left - 6, y: sy(t) + 4, class: "tick", "text-anchor": "end" }, fmtSeconds(t)));
  }
  for (const t of niceTicks(0, xMax, 8)) {
    svg.appendChild(svgEl("text", { x: sx(t), y: GC_H - 10, class: "tick", "text-anchor": "middle" }, fmtSeconds(t)));
  }
  const bw = Math.max(1, iw / Math.max(1, n) - 1);
  for (let i = 0; i < n; i++) {
    let base = 0;
    for (let g = 0; g < 3; g++) {
      const v = gc.pause[g as 0 | 1 | 2][i] ?? 0;
      if (v <= 0) continue;
      const y0 = sy(base);
      const y1 = sy(base + v);
      const colls = gc.collections[g as 0 | 1 | 2][i] ?? 0;
      svg.appendChild(
        svgEl("rect", { x: sx(gc.xs[i] ?? 0), y: y1, width: bw, height: Math.max(0.5, y0 - y1), class: `gc-bar gen${g}` }, svgEl("title", {}, `generation ${g}: ${fmtSeconds(v)} in ${fmtCount(colls)} collections`)),
      );
      base += v;
    }
  }
  svg.appendChild(svgEl("line", { x1: GC_PAD.left, x2: GC_W - GC_PAD.right, y1: sy(0), y2: sy(0), class: "axis" }));
  const totals = el(
    "table",
    { class: "gc-totals" },
    el("tr", {}, el("th", {}, ""), el("th", {}, "generation 0"), el("th", {}, "generation 1"), el("th", {}, "generation 2")),
    el("tr", {}, el("th", {}, "collections"), ...gc.totalCollections.map((v) => el("td", {}, fmtCount(v)))),
    el("tr", {}, el("th", {}, "paused"), ...gc.totalPause.map((v) => el("td", {}, fmtSeconds(v)))),
    el("tr", {}, el("th", {}, "objects freed"), ...gc.totalCollected.map((v) => el("td", {}, fmtCount(v)))),
  );
  const notes = el(
    "p",
    { class: "note" },
    `Uncollectable objects: ${fmtCount(gc.uncollectable)}.`,
    gc.disabledSeen ? " The program turned automatic collection off during the run." : "",
  );
  return el(
    "div",
    { class: "gc" },
    el("div", { class: "legend" }, el("span", { class: "key gen0" }, "gen 0"), el("span", { class: "key gen1" }, "gen 1"), el("span", { class: "key gen2" }, "gen 2"), el("span", {}, "time paused per interval")),
    svg,
    totals,
    notes,
  );
}

/** A small line of a type's count over time. */
export function sparkline(p: Points): SVGElement {
  const w = 160;
  const h = 28;
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, class: "spark", width: w, height: h });
  if (p.xs.length < 2) return svg;
  const x0 = p.xs[0]!;
  const x1 = p.xs[p.xs.length - 1]!;
  const lo = Math.min(...p.ys);
  const hi = Math.max(...p.ys);
  const sx = (x: number) => 2 + ((x - x0) / (x1 - x0 || 1)) * (w - 4);
  const sy = (y: number) => h - 3 - ((y - lo) / (hi - lo || 1)) * (h - 6);
  let d = "";
  p.xs.forEach((x, i) => (d += `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(p.ys[i]!).toFixed(1)}`));
  svg.appendChild(svgEl("path", { d, class: "spark-line" }));
  return svg;
}
