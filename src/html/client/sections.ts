import type { View } from "../view-model.js";
import { el, fmtBytes, fmtCount, fmtSeconds, section, typeLabel } from "./dom.js";
import { suspectCard } from "./cards.js";
import { drawFlame } from "./flame-chart.js";
import { drawGc, sparkline } from "./gc-chart.js";
import { drawTimeline } from "./timeline.js";

/** The memory timeline and gc pauses of one process at a time, with a picker when there are several. */
export function renderProcesses(v: View, selected: number | null, onPick: (pid: number) => void): HTMLElement[] {
  if (v.processes.length === 0) return [section("timeline", "Memory over time", "No samples yet.")];
  const p = v.processes.find((x) => x.pid === selected) ?? v.processes.find((x) => x.lead) ?? v.processes[0]!;
  let picker: HTMLElement | null = null;
  if (v.processes.length > 1) {
    const select = el("select", { id: "process-pick", "aria-label": "process" }) as HTMLSelectElement;
    for (const q of v.processes) {
      const o = el("option", { value: q.pid }, `pid ${q.pid} ${q.label}${q.leak ? ` — leaks (${q.kind})` : ""}${q.lead ? " — the verdict's" : ""}`) as HTMLOptionElement;
      o.selected = q.pid === p.pid;
      select.appendChild(o);
    }
    select.addEventListener("change", () => onPick(Number(select.value)));
    picker = el("label", { class: "picker" }, "Process ", select, v.omitted.processes ? ` (${v.omitted.processes} more not shown)` : "");
  }
  const about = `pid ${p.pid} · ${p.label} · Python ${p.python} · ${fmtSeconds(p.duration)} measured${p.leak ? ` · leaks (${p.kind})` : ""}`;
  return [
    section("timeline", "Memory over time", about, picker, drawTimeline(p)),
    section("gc", "Garbage collection", `pid ${p.pid}`, drawGc(p.gc)),
  ];
}

export function renderSuspects(v: View): HTMLElement {
  if (v.suspects.length === 0) {
    return section("suspects", "Suspects", v.verdict.leak ? "The leak could not be tied to an allocation site." : "None: nothing leaks.");
  }
  const note = v.omitted.suspects ? `Most likely first; ${v.omitted.suspects} more in the JSON report.` : "Most likely first.";
  return section("suspects", "Suspects", note, ...v.suspects.map(suspectCard));
}

export function renderTypes(v: View): HTMLElement {
  if (v.types.length === 0) return section("types", "Type growth", "No census of objects by type yet.");
  const growing = v.typesMode === "growing";
  const table = el(
    "table",
    { class: "types" },
    el("tr", {}, el("th", {}, "type"), el("th", {}, growing ? "count after warm-up" : "at the first census"), el("th", {}, "at the end"), el("th", {}, "per second"), el("th", {}, growing ? "p" : ""), el("th", {}, "count over time")),
  );
  for (const t of v.types) {
    table.appendChild(
      el(
        "tr",
        {},
        el("td", {}, el("code", { title: t.qualname }, typeLabel(t.qualname))),
        el("td", { class: "num" }, fmtCount(t.countStart)),
        el("td", { class: "num" }, fmtCount(t.countEnd)),
        el("td", { class: "num" }, t.perS.toFixed(1)),
        el("td", { class: "num" }, t.p === null ? "" : t.p < 1e-4 ? "< 0.0001" : t.p.toFixed(4)),
        el("td", {}, sparkline(t.series)),
      ),
    );
  }
  const note = growing
    ? `Object types whose count grows after warm-up (trend test), in the process of the verdict${v.omitted.types ? `; ${v.omitted.types} more in the JSON report` : ""}.`
    : "No type grows steadily; these changed most between the first and the last census.";
  return section("types", "Type growth", note, table);
}

export function renderFlameSection(v: View): HTMLElement {
  if (!v.flame) return section("flame", "Allocations", "No tracemalloc snapshot in the capture (tracing was off, or the run was too short).");
  const cut = v.omitted.flameNodes ? ` Frames under 0.1% of the bytes are left out (${fmtCount(v.omitted.flameNodes)}).` : "";
  return section("flame", "Allocations", `Live bytes by allocation stack at the last snapshot: ${fmtBytes(v.flame.value)} in all. Your code in colour, libraries in grey.${cut}`, drawFlame(v.flame));
}

export function renderHeapSummary(v: View): HTMLElement | null {
  const h = v.heap;
  if (!h) return null;
  return section(
    "heap-graph",
    "Heap graph",
    null,
    el(
      "p",
      {},
      `pid ${h.pid}: ${fmtCount(h.objects)} objects, ${fmtCount(h.edges)} references; the program was paused ${fmtSeconds(h.pause_seconds)} for the dump, the walk took ${fmtSeconds(h.capture_seconds)} and the analysis ${fmtSeconds(h.analysis_seconds)}. ${fmtCount(h.unreachable_objects)} objects were unreachable.`,
    ),
  );
}

export function renderRunInfo(v: View): HTMLElement {
  const r = v.run;
  const end = r.stopped ?? (r.signal ? `ended by ${r.signal}` : r.exit_code !== null ? `exit status ${r.exit_code}` : "still running");
  return el(
    "footer",
    { id: "run-info" },
    el("div", {}, el("b", {}, "command "), el("code", {}, v.command.join(" "))),
    el("div", {}, el("b", {}, "directory "), el("code", {}, v.cwd), " · ", end, r.capture_truncated ? " · the capture ends in a torn line" : ""),
    v.capture ? el("div", {}, el("b", {}, "capture "), el("code", {}, v.capture)) : null,
    el("div", { class: "note" }, `Built ${new Date(v.generated * 1000).toLocaleString()} by leaktrail.`),
  );
}
