// The HTML report of a large capture: a process with a million-object heap (census), 20,000
// samples, 200 heap snapshots of 5,000 allocation sites each and 3,000 types, plus
// retainer paths on the top suspect as the heap-graph analysis writes them. Prints the
// page's size, the time to build it, and the time headless Chromium takes from navigation
// to the page's "rendered" marker — beside the same figures for a small capture measured
// in the same run (the baseline), and their ratio.
//
//   npm run build && node bench/html_report.mjs [--chromium /usr/bin/chromium] [--runs 3]
//
// Needs Debian's chromium package (apt-get install chromium); playwright-core drives it.

import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { chromium } from "playwright-core";
import { readCapture } from "../dist/capture/reader.js";
import { buildModel } from "../dist/analysis/model.js";
import { analyse } from "../dist/analysis/analyse.js";
import { buildView } from "../dist/html/build-view.js";
import { renderPage } from "../dist/html/page.js";

const { values } = parseArgs({ options: { chromium: { type: "string", default: "/usr/bin/chromium" }, runs: { type: "string", default: "3" } } });
const RUNS = Number(values.runs);

/** A capture as the agent writes it; `scale` 1 is the large one. */
function capture(path, { samples, looks, sites, types, objects }) {
  const pid = 4242;
  const t0 = 1_000_000;
  const lines = [JSON.stringify({ schema: "leaktrail.capture/1", created: t0, command: ["python3", "service.py"], cwd: "/srv/app", tool_version: "bench" })];
  const push = (r) => lines.push(JSON.stringify(r));
  push({ k: "hello", pid, ppid: 1, t: t0, python: "3.11.7", argv: ["service.py"], cwd: "/srv/app", executable: "python3", trace_frames: 16, trace_mode: "full", library_paths: ["/usr/lib/python3.11"] });
  for (let s = 0; s < sites; s++) {
    const frames = [[`/srv/app/mod${s % 97}.py`, 10 + (s % 500), `handler_${s % 311}`], [`/srv/app/views${s % 13}.py`, 40 + (s % 50), `view_${s % 41}`], ["/srv/app/service.py", 12, "main"], ["/srv/app/service.py", 99, "<module>"]];
    if (s % 3 === 0) frames.unshift(["/usr/lib/python3.11/json/decoder.py", 353, "raw_decode"]);
    push({ k: "tb", pid, id: s + 1, frames });
  }
  const typeNames = Array.from({ length: types }, (_, i) => (i === 0 ? "builtins.bytes" : i < 40 ? `builtins.t${i}` : `app.models.Model${i}`));
  const every = Math.max(1, Math.floor(samples / looks));
  for (let i = 0; i < samples; i++) {
    const t = i * 0.1;
    const leak = 2_000 * t; // 20 kB/s
    const heap = 40e6 + leak + (i % 50) * 1000;
    push({ k: "sample", pid, t: t0 + t, rss: 80e6 + leak * 1.3, heap, trace_overhead: 0, gc_count: [i % 700, 3, 1], gc_collections: [i * 2, Math.floor(i / 10), Math.floor(i / 100)], gc_collected: [i * 5, i, 0], gc_uncollectable: [0, 0, 0], gc_pause: [i * 2e-5, i * 1e-5, i * 5e-6], gc_enabled: true, gc_frozen: 0, gc_garbage: 0, threads: 4, agent_cpu: i * 1e-4 });
    if (i % every === 0) {
      const siteRows = [];
      for (let s = 0; s < sites; s++) siteRows.push([s + 1, s === 0 ? Math.round(leak) + 1000 : 2000 + (s * 37) % 9000, s === 0 ? Math.round(leak / 100) + 10 : 20 + (s % 90)]);
      push({ k: "heap", pid, t: t0 + t, seconds: 0.2, size: heap, count: objects, sites: siteRows, rest: [1_000_000, 5000] });
      const counts = {};
      let left = objects;
      for (let k = 0; k < types; k++) {
        const n = k === 0 ? 20_000 + Math.round(leak / 100) : Math.floor(left / (types - k) / 2) + 1;
        counts[typeNames[k]] = n;
        left -= n;
      }
      counts["builtins.dict"] = Math.max(1, left);
      push({ k: "census", pid, t: t0 + t, seconds: 0.5, objects, types: counts });
      push({ k: "objsites", pid, t: t0 + t, type: "builtins.bytes", instances: 500, sites: [[1, 480]], untraced: 20, gc: false });
    }
  }
  push({ k: "bye", pid, t: t0 + samples * 0.1 });
  push({ k: "child-exit", t: t0 + samples * 0.1, code: 0, signal: null });
  writeFileSync(path, lines.join("\n") + "\n");
}

function retainerPaths() {
  const paths = [];
  for (let p = 0; p < 8; p++) {
    const steps = [{ edge: "module app.cache", type: "builtins.module", size: 72, retained: 9e6 }];
    for (let d = 0; d < 24; d++) steps.push({ edge: d % 2 ? `['key-${p}-${d}']` : `.attr${d}`, type: d % 2 ? "builtins.dict" : `app.models.Node${d}`, size: 200 + d, retained: 9e6 - d * 1e5 });
    steps.push({ edge: `[${p}]`, type: "builtins.bytes", size: 4033, retained: 4033 });
    paths.push({ steps, objects: 1000 - p * 100 });
  }
  return paths;
}

function page(path, out) {
  const t = performance.now();
  const parsed = readCapture(path);
  const model = buildModel(parsed.header, parsed.records, parsed.truncated);
  const tRead = performance.now();
  const { report, processes } = analyse(model);
  const tAnalyse = performance.now();
  if (report.suspects[0]) {
    report.suspects[0].retainer_paths = retainerPaths();
    report.suspects[0].retainers = ["module app.cache", ".attr0", "…"];
    report.suspects[0].retained_bytes = 9e6;
  }
  writeFileSync(out, renderPage(buildView({ model, report, processes, capturePath: path })));
  const tPage = performance.now();
  return { captureMB: statSync(path).size / 1e6, pageMB: statSync(out).size / 1e6, readS: (tRead - t) / 1000, analyseS: (tAnalyse - tRead) / 1000, pageS: (tPage - tAnalyse) / 1000, leak: report.verdict.leak };
}

async function renderSeconds(browser, file) {
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const p = await ctx.newPage();
    const errors = [];
    p.on("pageerror", (e) => errors.push(e.message));
    p.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    const t = performance.now();
    await p.goto(`file://${file}`, { waitUntil: "commit" });
    await p.waitForSelector("html[data-rendered]", { timeout: 60_000 });
    times.push((performance.now() - t) / 1000);
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    await ctx.close();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const dir = mkdtempSync(join(tmpdir(), "lt-bench-html-"));
try {
  const small = join(dir, "small.ltcap");
  const large = join(dir, "large.ltcap");
  capture(small, { samples: 100, looks: 10, sites: 20, types: 30, objects: 50_000 });
  capture(large, { samples: 20_000, looks: 200, sites: 5_000, types: 3_000, objects: 1_000_000 });
  const s = page(small, join(dir, "small.html"));
  const l = page(large, join(dir, "large.html"));
  const browser = await chromium.launch({ executablePath: values.chromium, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  const sR = await renderSeconds(browser, join(dir, "small.html"));
  const lR = await renderSeconds(browser, join(dir, "large.html"));
  await browser.close();
  const row = (name, x, r) =>
    `${name.padEnd(32)} capture ${x.captureMB.toFixed(1).padStart(6)} MB  page ${x.pageMB.toFixed(3).padStart(7)} MB  read ${x.readS.toFixed(2)} s  analyse ${x.analyseS.toFixed(2)} s  page ${x.pageS.toFixed(2)} s  Chromium load→rendered ${r.toFixed(3)} s (median of ${RUNS})  leak=${x.leak}`;
  console.log(row("small (baseline, 50k objects)", s, sR));
  console.log(row("large (1M objects, 5k sites)", l, lR));
  console.log(`ratio large/small: page size ${(l.pageMB / s.pageMB).toFixed(1)}x, render ${(lR / sR).toFixed(2)}x`);
  console.log(`limits: page < 10 MB: ${l.pageMB < 10 ? "yes" : "NO"}; render < 2 s: ${lR < 2 ? "yes" : "NO"}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
