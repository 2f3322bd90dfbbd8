import type { SuspectView, View } from "../view-model.js";
import { el, fmtBytes, fmtCount, fmtPercent, fmtRate, typeLabel } from "./dom.js";
import { drawRetainerGraph } from "./retainer-chart.js";

const KIND_TEXT: Record<string, string> = {
  "python-reachable": "Python objects kept alive by references",
  "python-unreachable": "cyclic garbage the collector never frees",
  native: "memory outside Python's allocator",
  none: "no leak",
};

/** The verdict banner: leak or not, its kind, confidence, rate and the explanation. */
export function renderVerdict(v: View): HTMLElement {
  const d = v.verdict;
  const cls = d.pending ? "pending" : d.leak ? "leak" : "ok";
  const head = d.pending ? "Waiting for measurements" : d.leak ? `LEAK (${d.kind})` : "No leak";
  return el(
    "section",
    { id: "verdict", class: `verdict ${cls}`, "data-leak": String(d.leak), "data-kind": d.kind },
    el("div", { class: "verdict-head" }, el("span", { class: "verdict-word" }, head), d.pending ? null : el("span", { class: "verdict-kind" }, KIND_TEXT[d.kind] ?? d.kind)),
    d.pending
      ? null
      : el(
          "div",
          { class: "verdict-figures" },
          d.leak ? el("span", {}, el("b", {}, fmtRate(d.growth_bytes_per_s)), " growth") : null,
          el("span", {}, el("b", {}, fmtPercent(d.confidence)), " confidence"),
        ),
    el("p", { class: "explanation" }, d.explanation),
  );
}

function siteText(s: SuspectView): string {
  return `${s.site.file}:${s.site.line}`;
}

function sourceBlock(s: SuspectView): HTMLElement | null {
  const src = s.source;
  if (!src) return null;
  const pre = el("pre", { class: "source" });
  src.lines.forEach((line, i) => {
    const n = src.first + i;
    pre.appendChild(el("span", { class: n === src.mark ? "src-line mark" : "src-line" }, el("span", { class: "ln" }, String(n).padStart(5)), ` ${line}\n`));
  });
  return pre;
}

/** The readable retainer path, root first, one chip per step. */
function retainerChain(steps: string[]): HTMLElement {
  const chain = el("ol", { class: "retainers" });
  for (const s of steps) chain.appendChild(el("li", {}, s));
  return chain;
}

/** One suspect: where it was allocated (with source), what type, how much it grew, and what keeps it alive. */
export function suspectCard(s: SuspectView): HTMLElement {
  const facts = el(
    "dl",
    { class: "facts" },
    el("dt", {}, "type"),
    el("dd", { class: "suspect-type" }, s.type ? typeLabel(s.type_qualname || s.type) : "unknown"),
    el("dt", {}, "growth"),
    el("dd", {}, `+${fmtCount(s.count_growth)} objects, +${fmtBytes(s.size_growth_bytes)} (${fmtRate(s.growth_bytes_per_s)})`),
    el("dt", {}, "share"),
    el("dd", {}, `${fmtPercent(s.share)} of the heap's growth`),
    s.retained_bytes !== null ? el("dt", {}, "retained") : null,
    s.retained_bytes !== null ? el("dd", { class: "retained" }, fmtBytes(s.retained_bytes)) : null,
    el("dt", {}, "evidence"),
    el("dd", {}, s.type_evidence),
    el("dt", {}, s.pids.length > 1 ? "processes" : "process"),
    el("dd", {}, s.pids.slice(0, 12).join(", ") + (s.pids.length > 12 ? ", …" : "")),
  );
  const tb = el("details", { class: "traceback" }, el("summary", {}, `allocation traceback (${s.traceback.length} frames)`));
  const list = el("ol", {});
  for (const f of s.traceback) list.appendChild(el("li", {}, `${f.file}:${f.line} in ${f.function}()`));
  tb.appendChild(list);
  const retain = el("div", { class: "retain" }, el("h4", {}, "Why it stays alive"));
  if (s.retainers.length > 0) retain.appendChild(retainerChain(s.retainers));
  if (s.retainerGraph) {
    const wrap = el("div", { class: "rg-wrap" });
    wrap.appendChild(drawRetainerGraph(s.retainerGraph));
    retain.appendChild(wrap);
    const more = s.retainer_paths.length > 1 ? `${s.retainer_paths.length} distinct paths to the sampled objects, most objects first.` : "";
    if (more || s.retainerGraph.elided) retain.appendChild(el("p", { class: "note" }, `${more}${s.retainerGraph.elided ? ` ${s.retainerGraph.elided} middle steps elided.` : ""}`));
  }
  if (s.retainers.length === 0 && !s.retainerGraph) retain.appendChild(el("p", { class: "note" }, "No retainer path: the capture holds no heap graph for this suspect."));
  return el(
    "article",
    { class: "card suspect", "data-rank": s.rank },
    el("header", {}, el("span", { class: "rank" }, `#${s.rank}`), el("code", { class: "site" }, siteText(s)), el("span", { class: "func" }, ` in ${s.site.function}()`)),
    sourceBlock(s),
    facts,
    retain,
    tb,
  );
}
