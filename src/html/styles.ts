/** The page's style sheet, inline (no network, no fonts to fetch). */
export const PAGE_CSS = `
:root { --fg:#1d2330; --muted:#5c6577; --bg:#f6f7f9; --panel:#fff; --line:#dde1e8; --leak:#c62828; --ok:#2e7d32; --rss:#3867d6; --heap:#e8710a; --fit:#1d2330; --code:#f1f3f6; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; color:var(--fg); background:var(--bg); }
#app { max-width:1100px; margin:0 auto; padding:16px 20px 40px; }
h1 { font-size:18px; margin:0; }
h2 { font-size:16px; margin:0 0 6px; }
h4 { font-size:13px; margin:10px 0 4px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
code, pre { font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace; font-size:12.5px; }
.top { display:flex; justify-content:space-between; align-items:baseline; max-width:1100px; margin:0 auto; padding:14px 20px 0; }
.top .brand { color:var(--muted); }
.panel, .verdict { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:14px 16px; margin:12px 0; }
.note { color:var(--muted); margin:2px 0 8px; }
.verdict { border-left:6px solid var(--muted); }
.verdict.leak { border-left-color:var(--leak); }
.verdict.ok { border-left-color:var(--ok); }
.verdict-head { display:flex; gap:12px; align-items:baseline; flex-wrap:wrap; }
.verdict-word { font-size:22px; font-weight:700; }
.verdict.leak .verdict-word { color:var(--leak); }
.verdict.ok .verdict-word { color:var(--ok); }
.verdict-kind { color:var(--muted); }
.verdict-figures { display:flex; gap:18px; margin-top:4px; }
.explanation { margin:8px 0 0; max-width:80ch; }
.live { display:inline-block; padding:2px 10px; border-radius:12px; background:#e3f2fd; color:#0d47a1; font-size:12px; }
.live.ended { background:#eceff1; color:var(--muted); }
.card { border:1px solid var(--line); border-radius:6px; padding:10px 12px; margin:10px 0; }
.card header { font-size:15px; }
.card .rank { color:var(--muted); margin-right:8px; }
.card .site { font-weight:700; font-size:14px; }
.source { background:var(--code); border-radius:4px; padding:6px 0; margin:8px 0; overflow-x:auto; }
.src-line { display:block; padding:0 10px; white-space:pre; }
.src-line.mark { background:#ffe0b2; }
.ln { color:var(--muted); user-select:none; }
.facts { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:6px 0; }
.facts dt { color:var(--muted); }
.facts dd { margin:0; }
.retainers { list-style:none; padding:0; margin:4px 0; display:flex; flex-wrap:wrap; gap:4px; }
.retainers li { background:var(--code); border:1px solid var(--line); border-radius:4px; padding:1px 6px; font-family:ui-monospace,"DejaVu Sans Mono",monospace; font-size:12px; }
.retainers li + li::before { content:"→ "; color:var(--muted); }
.rg-wrap { overflow-x:auto; }
.retainer-graph { width:100%; height:auto; }
.rg-node rect { fill:#fff; stroke:#90a4ae; }
.rg-node.root rect { fill:#e8eaf6; stroke:#5c6bc0; }
.rg-node.leaf rect { fill:#ffebee; stroke:var(--leak); }
.rg-type { font:600 12px ui-monospace,"DejaVu Sans Mono",monospace; fill:var(--fg); }
.rg-size { font-size:11px; fill:var(--muted); }
.rg-edge { fill:none; stroke:#90a4ae; stroke-width:1.4; }
.rg-edge-label { font:11px ui-monospace,"DejaVu Sans Mono",monospace; fill:#37474f; }
.traceback summary { cursor:pointer; color:var(--muted); }
.traceback ol { margin:4px 0; font-family:ui-monospace,"DejaVu Sans Mono",monospace; font-size:12px; }
.chart { width:100%; height:auto; display:block; }
.grid { stroke:#eceff3; }
.axis { stroke:#9aa3b2; }
.tick, .axis-label { font-size:11px; fill:var(--muted); }
.line { fill:none; stroke-width:1.6; }
.line.rss { stroke:var(--rss); }
.line.heap { stroke:var(--heap); }
.fit { fill:none; stroke:var(--fit); stroke-width:2; stroke-dasharray:6 4; }
.warmup { fill:#eceff1; }
.warmup-label { font-size:11px; fill:var(--muted); }
.chart-title { font-size:12px; font-weight:600; }
.chart-title.heap { fill:var(--heap); } .chart-title.rss { fill:var(--rss); }
.legend { display:flex; flex-wrap:wrap; gap:14px; font-size:12px; color:var(--muted); margin-top:4px; }
.key::before { content:""; display:inline-block; width:14px; height:3px; margin-right:5px; vertical-align:middle; background:currentColor; }
.key.rss { color:var(--rss); } .key.heap { color:var(--heap); } .key.fit { color:var(--fit); } .key.warmup { color:#b0bec5; }
.key.gen0 { color:#80cbc4; } .key.gen1 { color:#26a69a; } .key.gen2 { color:#00695c; }
.gc-bar.gen0 { fill:#80cbc4; } .gc-bar.gen1 { fill:#26a69a; } .gc-bar.gen2 { fill:#00695c; }
.gc-totals { border-collapse:collapse; margin:8px 0; font-size:12.5px; }
.gc-totals th, .gc-totals td { padding:2px 12px 2px 0; text-align:right; }
.gc-totals th:first-child { text-align:left; color:var(--muted); font-weight:400; }
table.types { border-collapse:collapse; width:100%; }
table.types th { text-align:left; color:var(--muted); font-weight:400; border-bottom:1px solid var(--line); padding:4px 8px 4px 0; }
table.types td { padding:3px 8px 3px 0; border-bottom:1px solid #f0f2f5; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.spark-line { fill:none; stroke:var(--heap); stroke-width:1.5; }
.flame-chart { cursor:pointer; }
.flame-chart .frame:hover rect { stroke:#1d2330; stroke-width:1; }
.flame-label { font:11px ui-monospace,"DejaVu Sans Mono",monospace; fill:#1d2330; pointer-events:none; }
.picker { display:block; margin:4px 0 8px; }
#run-info { color:var(--muted); margin-top:16px; font-size:12.5px; }
#run-info code { color:var(--fg); }
`;
