import type { View } from "../view-model.js";
import { el } from "./dom.js";
import { renderVerdict } from "./cards.js";
import { renderFlameSection, renderHeapSummary, renderProcesses, renderRunInfo, renderSuspects, renderTypes } from "./sections.js";

/** Mutable page state: the view shown and the process picked. */
const PAGE = { view: null as View | null, pid: null as number | null, renders: 0 };

function liveStatus(v: View): HTMLElement | null {
  if (!v.live) return null;
  const at = new Date(v.live.updated * 1000).toLocaleTimeString();
  const text = v.live.state === "ended" ? `run ended — final view (${at})` : v.live.state === "waiting" ? "live — waiting for the program" : `live — updated ${at}`;
  return el("div", { id: "live-status", class: `live ${v.live.state}` }, text);
}

function render(): void {
  const v = PAGE.view;
  const app = document.getElementById("app");
  if (!v || !app) return;
  const keepOpen = new Set([...app.querySelectorAll("details[open]")].map((d) => d.closest("[data-rank]")?.getAttribute("data-rank") ?? ""));
  const parts: Array<HTMLElement | null> = [
    liveStatus(v),
    renderVerdict(v),
    renderSuspects(v),
    ...renderProcesses(v, PAGE.pid, (pid) => {
      PAGE.pid = pid;
      render();
    }),
    renderTypes(v),
    renderFlameSection(v),
    renderHeapSummary(v),
    renderRunInfo(v),
  ];
  app.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  for (const d of app.querySelectorAll("article[data-rank] details")) {
    if (keepOpen.has(d.closest("[data-rank]")?.getAttribute("data-rank") ?? "-")) d.setAttribute("open", "");
  }
  document.title = `leaktrail — ${v.verdict.pending ? "waiting" : v.verdict.leak ? `LEAK (${v.verdict.kind})` : "no leak"} — ${v.command.join(" ")}`;
  PAGE.renders++;
  // what tests and the benchmark wait for
  document.documentElement.setAttribute("data-rendered", String(PAGE.renders));
  document.documentElement.setAttribute("data-live-state", v.live?.state ?? "static");
}

/** Live pages follow the server's Server-Sent Events; the token rides along in the query. */
function follow(): void {
  const source = new EventSource(`events${location.search}`);
  source.addEventListener("view", (e) => {
    PAGE.view = JSON.parse((e as MessageEvent<string>).data) as View;
    render();
    if (PAGE.view.live?.state === "ended") source.close();
  });
  source.addEventListener("error", () => {
    // the server is gone (the run ended, Ctrl-C): keep the last view, say so
    if (source.readyState === EventSource.CLOSED && PAGE.view?.live && PAGE.view.live.state !== "ended") {
      document.getElementById("live-status")?.replaceChildren("disconnected — showing the last view received");
    }
  });
}

export function leaktrailMain(): void {
  const data = document.getElementById("leaktrail-data");
  PAGE.view = JSON.parse(data?.textContent ?? "null") as View;
  render();
  if (PAGE.view?.live && PAGE.view.live.state !== "ended") follow();
}
