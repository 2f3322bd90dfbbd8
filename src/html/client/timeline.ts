import type { FitLine, Points, ProcessView } from "../view-model.js";
import { el, fmtBytes, fmtSeconds, niceTicks, svgEl } from "./dom.js";

const TL_W = 900;
const TL_PAD = { left: 72, right: 16, top: 22, bottom: 24 };

function pathOf(p: Points, sx: (x: number) => number, sy: (y: number) => number): string {
  let d = "";
  for (let i = 0; i < p.xs.length; i++) d += `${i === 0 ? "M" : "L"}${sx(p.xs[i]!).toFixed(1)},${sy(p.ys[i]!).toFixed(1)}`;
  return d;
}

function fitPath(f: FitLine, sx: (x: number) => number, sy: (y: number) => number): string {
  return `M${sx(f.x0).toFixed(1)},${sy(f.y0).toFixed(1)}L${sx(f.x1).toFixed(1)},${sy(f.y1).toFixed(1)}`;
}

interface SeriesChart {
  series: Points;
  cls: string;
  fit: FitLine | null;
  height: number;
  label: string;
}

/** One series over [0, xMax] seconds on its own byte axis, warm-up shaded, fit dashed. */
function drawSeriesChart(c: SeriesChart, xMax: number, warmupEnd: number): SVGElement {
  const h = c.height;
  const yMax = Math.max(1, ...c.series.ys, c.fit ? Math.max(c.fit.y0, c.fit.y1) : 0) * 1.05;
  const yMin = 0;
  const iw = TL_W - TL_PAD.left - TL_PAD.right;
  const ih = h - TL_PAD.top - TL_PAD.bottom;
  const sx = (x: number) => TL_PAD.left + (x / xMax) * iw;
  const sy = (y: number) => TL_PAD.top + ih - ((y - yMin) / (yMax - yMin)) * ih;
  const svg = svgEl("svg", { viewBox: `0 0 ${TL_W} ${h}`, class: `chart timeline ${c.cls}`, role: "img", "aria-label": c.label });
  for (const t of niceTicks(yMin, yMax, 4)) {
    svg.appendChild(svgEl("line", { x1: TL_PAD.left, x2: TL_W - TL_PAD.right, y1: sy(t), y2: sy(t), class: "grid" }));
    svg.appendChild(svgEl("text", { x: TL_PAD.left - 6, y: sy(t) + 4, class: "tick", "text-anchor": "end" }, fmtBytes(t)));
  }
  for (const t of niceTicks(0, xMax, 8)) {
    svg.appendChild(svgEl("line", { x1: sx(t), x2: sx(t), y1: TL_PAD.top + ih, y2: TL_PAD.top + ih + 4, class: "axis" }));
    svg.appendChild(svgEl("text", { x: sx(t), y: h - 8, class: "tick", "text-anchor": "middle" }, fmtSeconds(t)));
  }
  if (warmupEnd > 0) {
    svg.appendChild(svgEl("rect", { x: sx(0), y: TL_PAD.top, width: sx(warmupEnd) - sx(0), height: ih, class: "warmup" }, svgEl("title", {}, `warm-up: the first ${fmtSeconds(warmupEnd)}, left out of the trend test`)));
    svg.appendChild(svgEl("text", { x: sx(warmupEnd) + 4, y: TL_PAD.top + 12, class: "warmup-label" }, "← warm-up"));
  }
  svg.appendChild(svgEl("text", { x: TL_W - TL_PAD.right - 4, y: 14, class: `chart-title ${c.cls}`, "text-anchor": "end" }, c.label));
  svg.appendChild(svgEl("line", { x1: TL_PAD.left, x2: TL_W - TL_PAD.right, y1: sy(0), y2: sy(0), class: "axis" }));
  if (c.series.xs.length) svg.appendChild(svgEl("path", { d: pathOf(c.series, sx, sy), class: `line ${c.cls}` }));
  if (c.fit) svg.appendChild(svgEl("path", { d: fitPath(c.fit, sx, sy), class: "fit" }, svgEl("title", {}, `fitted trend (Theil–Sen): ${fmtBytes(c.fit.slope)}/s`)));
  return svg;
}

/**
 * The Python heap and RSS of one process over time, each on its own axis (the heap is
 * often a small part of RSS, and its slope is what the verdict tests), the warm-up shaded
 * and the fitted trend dashed over the tested part.
 */
export function drawTimeline(p: ProcessView): HTMLElement {
  const xMax = Math.max(p.duration, p.rss.xs[p.rss.xs.length - 1] ?? 0, p.heap.xs[p.heap.xs.length - 1] ?? 0, 1e-3);
  const box = el("div", { class: "chart-box", "data-pid": p.pid });
  box.appendChild(drawSeriesChart({ series: p.heap, cls: "heap", fit: p.heapFit, height: 250, label: p.heapLabel }, xMax, p.warmupEnd));
  box.appendChild(drawSeriesChart({ series: p.rss, cls: "rss", fit: p.rssFit, height: 170, label: "RSS (resident memory, less tracemalloc's own)" }, xMax, p.warmupEnd));
  box.appendChild(
    el(
      "div",
      { class: "legend" },
      el("span", { class: "key heap" }, "Python heap"),
      el("span", { class: "key rss" }, "RSS"),
      p.heapFit || p.rssFit ? el("span", { class: "key fit" }, `fitted trend${p.heapFit ? `: heap ${fmtBytes(p.heapFit.slope)}/s` : ""}${p.rssFit ? `, RSS ${fmtBytes(p.rssFit.slope)}/s` : ""}`) : null,
      p.warmupEnd > 0 ? el("span", { class: "key warmup" }, `warm-up ${fmtSeconds(p.warmupEnd)}`) : null,
      el("span", {}, "x: seconds since the process started"),
    ),
  );
  return box;
}
