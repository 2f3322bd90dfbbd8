/**
 * Page script: DOM and number helpers. The files of src/html/client/ run in the browser,
 * joined into one inline script by ../client-bundle.ts: top-level functions and constants
 * only, names unique across the files, imports only from each other. Data from the
 * capture (file names, source lines, type names) is only ever set as text, never as HTML.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | number | null | undefined | false;

function applyAttrs(node: Element, attrs: Attrs | undefined): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? "" : String(v));
  }
}

function appendAll(node: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** An HTML element with attributes and children (strings become text nodes). */
export function el(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement {
  const node = document.createElement(tag);
  applyAttrs(node, attrs);
  appendAll(node, children);
  return node;
}

/** An SVG element, same rules. */
export function svgEl(tag: string, attrs?: Attrs, ...children: Child[]): SVGElement {
  const node = document.createElementNS(SVG_NS, tag) as SVGElement;
  applyAttrs(node, attrs);
  appendAll(node, children);
  return node;
}

/** Decimal units, as the terminal report prints them. */
export function fmtBytes(n: number): string {
  const sign = n < 0 ? "-" : "";
  let v = Math.abs(n);
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${sign}${i === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function fmtRate(bytesPerS: number): string {
  return `${fmtBytes(bytesPerS)}/s`;
}

export function fmtCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function fmtSeconds(s: number): string {
  if (s === 0) return "0 s";
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(s < 0.01 ? 2 : 0)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function fmtPercent(share: number): string {
  return `${(share * 100).toFixed(share >= 0.1 ? 0 : 1)}%`;
}

/** "module.qualname" → "qualname" for builtins, else unchanged. */
export function typeLabel(qualname: string): string {
  return qualname.startsWith("builtins.") ? qualname.slice("builtins.".length) : qualname;
}

/** Round tick values: 1, 2 or 5 times a power of ten, about `count` of them from lo to hi. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const pow = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** A section with a heading; `note` is a short line under it. */
export function section(id: string, title: string, note: string | null, ...body: Child[]): HTMLElement {
  return el("section", { id, class: "panel" }, el("h2", {}, title), note ? el("p", { class: "note" }, note) : null, ...body);
}
