/**
 * A flame graph as one self-contained SVG, in the manner of flamegraph.pl and inferno (what
 * `py-spy record -o profile.svg` writes): the root at the bottom, a box per function per
 * call path, its width the function's inclusive share; a `<title>` on every box (the
 * browser's tooltip) with name, file and value; click a box to zoom into it, click the
 * background to zoom out (a few lines of inline script, no external file).
 *
 * A differential graph (two captures) is drawn with widths from the later profile and the
 * colour from the change: red grew, blue shrank, in proportion to the largest change.
 */
import { callTree, type CallNode } from "./call-tree.js";
import { formatValue, percent } from "./format-value.js";
import { functionLabel, type Profile } from "./model.js";

export interface SvgOptions {
  /** Column that gives the widths. */
  value: number;
  /** Columns of a differential graph: colour by `after - before`. */
  diff?: { before: number; after: number };
  title?: string;
  width?: number;
}

const ROW = 16;
const PAD_TOP = 40;
const PAD_SIDE = 10;
const MIN_WIDTH = 0.1; // px: thinner boxes are not drawn (inferno's default)
const FONT = 12;
const CHAR = 7; // px per character at FONT, monospace

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

/** flamegraph.pl's "hot" palette, from a hash of the name so that a function keeps its colour. */
function hotColour(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  const r1 = ((h >>> 0) % 1000) / 1000;
  const r2 = ((h >>> 10) % 1000) / 1000;
  const r3 = ((h >>> 20) % 1000) / 1000;
  return `rgb(${205 + Math.round(50 * r3)},${Math.round(230 * r1)},${Math.round(55 * r2)})`;
}

function diffColour(delta: number, maxAbs: number): string {
  if (!maxAbs || delta === 0) return "rgb(250,250,250)";
  const t = Math.min(1, Math.abs(delta) / maxAbs);
  const fade = Math.round(250 - 200 * t);
  return delta > 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`;
}

function depth(n: CallNode): number {
  let d = 0;
  for (const c of n.children) d = Math.max(d, depth(c));
  return d + 1;
}

const SCRIPT = `
(function(){
  var svg=document.documentElement, W=+svg.getAttribute('data-width'), P=${PAD_SIDE};
  var boxes=[].slice.call(document.querySelectorAll('g.f'));
  function show(x0,w0){
    var k=(W-2*P)/w0;
    boxes.forEach(function(g){
      var x=+g.getAttribute('data-x'), w=+g.getAttribute('data-w'), r=g.querySelector('rect'), t=g.querySelector('text');
      var nx=P+(x-x0)*k, nw=w*k, vis=(x+w>x0+1e-9&&x<x0+w0-1e-9);
      g.style.display=vis?'':'none';
      r.setAttribute('x',nx); r.setAttribute('width',Math.max(0,nw));
      t.setAttribute('x',nx+3);
      var label=g.getAttribute('data-label'), n=Math.floor((nw-6)/${CHAR});
      t.textContent = n<3 ? '' : (label.length<=n ? label : label.slice(0,n-2)+'..');
    });
  }
  boxes.forEach(function(g){ g.addEventListener('click',function(e){ e.stopPropagation(); show(+g.getAttribute('data-x'),+g.getAttribute('data-w')); }); });
  svg.addEventListener('click',function(){ show(P,W-2*P); });
})();
`;

export function toSvg(profile: Profile, opts: SvgOptions): string {
  const width = opts.width ?? 1200;
  const inner = width - 2 * PAD_SIDE;
  const tree = callTree(profile);
  const vt = profile.valueTypes[opts.value]!;
  const whole = tree.total[opts.value] ?? 0;
  const rows = Math.max(1, depth(tree));
  const height = PAD_TOP + rows * ROW + 30;
  let maxAbs = 0;
  const deltaOf = (n: CallNode) => (opts.diff ? (n.total[opts.diff.after] ?? 0) - (n.total[opts.diff.before] ?? 0) : 0);
  if (opts.diff) {
    const walk = (n: CallNode) => {
      maxAbs = Math.max(maxAbs, Math.abs(deltaOf(n)));
      n.children.forEach(walk);
    };
    walk(tree);
  }
  const boxes: string[] = [];
  const draw = (n: CallNode, x: number, level: number, label: string) => {
    const v = n.total[opts.value] ?? 0;
    const w = whole > 0 ? (v / whole) * inner : 0;
    if (w < MIN_WIDTH || v <= 0) return;
    const y = height - 30 - (level + 1) * ROW;
    const fn = n.fn >= 0 ? profile.functions[n.fn]! : null;
    let tip = `${label} — ${formatValue(v, vt.unit)}, ${percent(v, whole)}`;
    if (opts.diff) {
      const d = deltaOf(n);
      tip += `; change ${d >= 0 ? "+" : ""}${formatValue(d, vt.unit)} (before ${formatValue(n.total[opts.diff.before] ?? 0, vt.unit)})`;
    }
    const fill = opts.diff ? diffColour(deltaOf(n), maxAbs) : fn ? hotColour(fn.name) : "rgb(240,240,240)";
    const chars = Math.floor((w - 6) / CHAR);
    const text = chars < 3 ? "" : label.length <= chars ? label : `${label.slice(0, chars - 2)}..`;
    boxes.push(
      `<g class="f" data-x="${(PAD_SIDE + x).toFixed(3)}" data-w="${w.toFixed(3)}" data-label="${escapeXml(label)}"><title>${escapeXml(tip)}</title>` +
        `<rect x="${(PAD_SIDE + x).toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${ROW - 1}" rx="2" fill="${fill}"/>` +
        `<text x="${(PAD_SIDE + x + 3).toFixed(2)}" y="${y + ROW - 4}">${escapeXml(text)}</text></g>`,
    );
    let cx = x;
    for (const c of n.children) {
      draw(c, cx, level + 1, functionLabel(profile.functions[c.fn]!));
      cx += whole > 0 ? ((c.total[opts.value] ?? 0) / whole) * inner : 0;
    }
  };
  draw(tree, 0, 0, "all");
  const title = opts.title ?? profile.name;
  const subtitle = `${vt.label}: ${formatValue(whole, vt.unit)} in all${opts.diff ? " — red grew, blue shrank" : ""} — click a box to zoom, the background to zoom out`;
  return [
    `<?xml version="1.0" standalone="no"?>`,
    `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-width="${width}">`,
    `<style>text{font-family:monospace;font-size:${FONT}px;fill:#000;pointer-events:none}g.f:hover rect{stroke:#000;stroke-width:0.5}.h{font-size:16px;text-anchor:middle}.s{font-size:11px;fill:#555;text-anchor:middle}</style>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fdfdf6"/>`,
    `<text class="h" x="${width / 2}" y="20">${escapeXml(title)}</text>`,
    `<text class="s" x="${width / 2}" y="34">${escapeXml(subtitle)}</text>`,
    ...boxes,
    `<script type="text/ecmascript"><![CDATA[${SCRIPT}]]></script>`,
    `</svg>`,
    "",
  ].join("\n");
}
