// Replays a capture as if the run had stopped after T seconds, for T = step, 2·step, …:
// builds the model from the header, every `tb` record and the records with
// t <= start + T, calls analyse(), and says whether the verdict named the expected leak.
//
//   node bench/replay.mjs CAPTURE --file bench/workload_service.py --line 42 \
//        [--type bytes] [--kind python-reachable] [--step 5] [--start EPOCH]
//
// start is the earliest agent `hello` (the moment the Python program started) unless
// --start is given. Prints one JSON object on stdout (bench/run.py formats it).
// Reads the compiled JS in ../dist: run `npx tsc -p tsconfig.json` first.

import { basename } from "node:path";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { readCapture } from "../dist/capture/reader.js";
import { buildModel } from "../dist/analysis/model.js";
import { analyse } from "../dist/analysis/analyse.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    file: { type: "string" },
    line: { type: "string" },
    type: { type: "string", default: "bytes" },
    kind: { type: "string", default: "python-reachable" },
    step: { type: "string", default: "5" },
    start: { type: "string" },
  },
});
if (positionals.length !== 1 || !values.file || !values.line) {
  process.stderr.write("usage: node bench/replay.mjs CAPTURE --file FILE --line N [--type T] [--kind K] [--step S] [--start EPOCH]\n");
  process.exit(2);
}
const expectLine = Number(values.line);
const expectBase = basename(values.file);
const step = Number(values.step);

const { header, records, truncated } = readCapture(positionals[0]);
const hellos = records.filter((r) => r.k === "hello").map((r) => r.t);
if (hellos.length === 0) {
  process.stdout.write(JSON.stringify({ error: "no hello record in the capture" }) + "\n");
  process.exit(1);
}
const start = values.start !== undefined ? Number(values.start) : Math.min(...hellos);
const lastT = Math.max(...records.filter((r) => typeof r.t === "number").map((r) => r.t));

function judge(report) {
  const v = report.verdict;
  const top = report.suspects[0];
  const site = top ? { file: top.site.file, line: top.site.line, function: top.site.function, type: top.type } : null;
  const siteOk = !!top && basename(top.site.file) === expectBase && top.site.line === expectLine && top.type === values.type;
  return {
    leak: v.leak,
    kind: v.kind,
    confidence: v.confidence,
    growth_bytes_per_s: v.growth_bytes_per_s,
    top: site,
    ok: v.leak && v.kind === values.kind && siteOk,
  };
}

const rows = [];
const horizon = lastT - start;
for (let T = step; T < horizon + step; T += step) {
  const cut = start + T;
  const kept = records.filter((r) => r.k === "tb" || typeof r.t !== "number" || r.t <= cut);
  const began = performance.now();
  const { report } = analyse(buildModel(header, kept, false));
  rows.push({ T, partial: T < horizon, records: kept.length, analyse_ms: Math.round(performance.now() - began), ...judge(report) });
}
// the whole capture, as `leaktrail report` sees it (final records and child-exit included)
{
  const began = performance.now();
  const { report } = analyse(buildModel(header, records, truncated));
  rows.push({ T: null, partial: false, records: records.length, analyse_ms: Math.round(performance.now() - began), ...judge(report) });
}

const samples = records.filter((r) => r.k === "sample" && !r.final);
const rssMax = Math.max(0, ...samples.map((r) => r.rss));
const timed = rows.filter((r) => r.T !== null);
const firstIdx = timed.findIndex((r) => r.ok);
const first = firstIdx >= 0 ? timed[firstIdx].T : null;
const staysTrue = firstIdx >= 0 && timed.slice(firstIdx).every((r) => r.ok) && rows[rows.length - 1].ok;
process.stdout.write(
  JSON.stringify({ start, duration_s: horizon, step, expect: { file: values.file, line: expectLine, type: values.type, kind: values.kind }, first_confirmed_s: first, stays_true: staysTrue, samples: samples.length, rss_max: rssMax, rows }) + "\n",
);
