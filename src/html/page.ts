import { writeFileSync } from "node:fs";
import { clientScript } from "./client-bundle.js";
import { PAGE_CSS } from "./styles.js";
import type { View } from "./view-model.js";

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

/**
 * JSON that is safe inside a <script> element: no "</script>", no "<!--", and no line
 * separators that older parsers choke on. The data is a capture's strings (file names,
 * source lines, dict keys): any of them could hold such text.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * No network at all: everything is inline, and the policy forbids loading anything else
 * (a report attached to a ticket must not call home, nor break when offline). A live page
 * may talk back to the server that sent it, and nowhere else.
 */
function policy(live: boolean): string {
  return `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:${live ? "; connect-src 'self'" : ""}`;
}

function verdictText(view: View): string {
  const v = view.verdict;
  if (v.pending) return "Waiting for measurements";
  return v.leak ? `LEAK (${v.kind})` : "No leak";
}

/** The whole page: one self-contained HTML file. */
export function renderPage(view: View): string {
  const title = `leaktrail — ${verdictText(view)} — ${view.command.join(" ")}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${policy(view.live !== null)}">
<meta name="generator" content="leaktrail">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<div class="top"><h1>leaktrail report</h1><span class="brand">${escapeHtml(view.command.join(" "))}</span></div>
<main id="app">
<section id="verdict" class="verdict"><div class="verdict-head"><span class="verdict-word">${escapeHtml(verdictText(view))}</span></div>
<p class="explanation">${escapeHtml(view.verdict.explanation)}</p></section>
<noscript><p>The charts of this report need JavaScript; the verdict above and the data below are all there is without it.</p></noscript>
</main>
<script id="leaktrail-data" type="application/json">${scriptJson(view)}</script>
<script>${clientScript()}</script>
</body>
</html>
`;
}

/** Writes a report page; a clear error when the file cannot be written. */
export function writeHtmlReport(path: string, view: View): void {
  writeFileSync(path, renderPage(view));
}
