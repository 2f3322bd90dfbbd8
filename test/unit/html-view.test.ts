import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyse } from "../../src/analysis/analyse.js";
import { buildModel } from "../../src/analysis/model.js";
import { allocationStacks } from "../../src/html/alloc-stacks.js";
import { buildView } from "../../src/html/build-view.js";
import { downsample } from "../../src/html/downsample.js";
import { buildFlame } from "../../src/html/flame.js";
import { renderPage } from "../../src/html/page.js";
import { retainerGraph } from "../../src/html/retainer-graph.js";
import { VIEW_LIMITS } from "../../src/html/view-model.js";
import { HEADER, synthesize } from "./synthetic.js";

function leakyView(cwd = "/srv/app", seconds = 20) {
  const records = synthesize({ seconds, heap: (t) => 5e6 + 200_000 * t, siteFile: join(cwd, "app.py"), siteLine: 3 });
  const model = buildModel({ ...HEADER, cwd }, records);
  const { report, processes } = analyse(model);
  return { model, report, processes, view: buildView({ model, report, processes }) };
}

describe("downsample", () => {
  it("keeps at most two points a bucket, and a lone spike", () => {
    const xs = Array.from({ length: 100_000 }, (_, i) => i / 100);
    const ys = xs.map((x, i) => (i === 54_321 ? 1e9 : x));
    const p = downsample(xs, ys, 300);
    expect(p.xs.length).toBeLessThanOrEqual(600);
    expect(p.ys).toContain(1e9);
    expect(p.xs[0]).toBe(0);
    expect(p.xs[p.xs.length - 1]).toBe(999.99);
    expect([...p.xs].sort((a, b) => a - b)).toEqual(p.xs);
  });
});

describe("buildView", () => {
  it("fits the trend the verdict tested, from warm-up end to the last point", () => {
    const { view, report } = leakyView();
    expect(view.verdict.leak).toBe(true);
    const p = view.processes[0]!;
    expect(p.lead).toBe(true);
    expect(p.heapFit).not.toBeNull();
    expect(p.heapFit!.slope).toBeCloseTo(report.processes[0]!.heap_bytes_per_s, 0);
    expect(p.heapFit!.x0).toBeCloseTo(report.processes[0]!.warmup_end_s, 6);
    // the line passes through the data: 5 MB + 200 kB/s
    expect(p.heapFit!.y1).toBeGreaterThan(5e6 + 200_000 * p.heapFit!.x1 - 50_000);
    expect(p.heapFit!.y1).toBeLessThan(5e6 + 200_000 * p.heapFit!.x1 + 50_000);
  });

  it("shows the site's source when the file is there, and none when it is not", () => {
    const dir = mkdtempSync(join(tmpdir(), "lt-html-"));
    writeFileSync(join(dir, "app.py"), "import time\n_CACHE = {}\ndef render(i): _CACHE[i] = b'x' * 100  # the leak\n\nrender(1)\n");
    const found = leakyView(dir).view.suspects[0]!;
    expect(found.site.line).toBe(3);
    expect(found.source).not.toBeNull();
    expect(found.source!.mark).toBe(3);
    expect(found.source!.lines[found.source!.mark - found.source!.first]).toContain("# the leak");
    expect(leakyView("/nonexistent-dir").view.suspects[0]!.source).toBeNull();
  });

  it("stays bounded for a long run", () => {
    const { view } = leakyView("/srv/app", 600);
    const p = view.processes[0]!;
    expect(p.heap.xs.length).toBeLessThanOrEqual(2 * VIEW_LIMITS.timelineBuckets);
    expect(p.rss.xs.length).toBeLessThanOrEqual(2 * VIEW_LIMITS.timelineBuckets);
    expect(p.gc.xs.length).toBeLessThanOrEqual(VIEW_LIMITS.gcBuckets);
    expect(JSON.stringify(view).length).toBeLessThan(200_000);
  });
});

describe("allocation flame graph", () => {
  it("weighs stacks by the last snapshot's live bytes, root first", () => {
    const { model } = leakyView();
    const stacks = allocationStacks(model);
    const proc = model.processes[0]!;
    const last = [...proc.heaps].reverse().find((h) => !h.final)!;
    expect(stacks.reduce((a, s) => a + s.weight, 0)).toBeCloseTo(last.sites.reduce((a, s) => a + s[1], 0), 3);
    const leak = stacks.find((s) => s.frames[s.frames.length - 1]![2] === "render")!;
    expect(leak.frames.map((f) => f[2])).toEqual(["main", "render"]);
  });

  it("prunes to the largest nodes and counts what it cut", () => {
    const stacks = Array.from({ length: 500 }, (_, i) => ({ pid: 1, frames: [["a.py", 1, "main"], ["a.py", 100 + i, `f${i}`]] as [string, number, string][], weight: i + 1 }));
    const { root, omitted } = buildFlame(stacks, { maxNodes: 50, minShare: 0, isLibrary: () => false, display: (f) => f, processLabel: (p) => `pid ${p}` });
    const count = (n: { children: unknown[] }): number => 1 + (n.children as { children: unknown[] }[]).reduce((a, c) => a + count(c), 0);
    expect(count(root!)).toBeLessThanOrEqual(50);
    expect(omitted).toBe(502 - count(root!));
    expect(root!.children[0]!.children[0]!.name).toBe("f499 (a.py:599)");
  });
});

describe("retainer graph", () => {
  it("merges shared prefixes and elides the middle of long paths", () => {
    const s = (edge: string, type: string) => ({ edge, type, size: 10, retained: 100 });
    const g = retainerGraph(
      [
        { steps: [s("module m", "builtins.module"), s(".CACHE", "builtins.dict"), s("['a']", "builtins.bytes")], objects: 5 },
        { steps: [s("module m", "builtins.module"), s(".CACHE", "builtins.dict"), s("['b']", "builtins.list")], objects: 2 },
        { steps: Array.from({ length: 40 }, (_, i) => s(`[${i}]`, "builtins.list")), objects: 1 },
      ],
      8,
      10,
    )!;
    expect(g.nodes.filter((n) => n.root)).toHaveLength(2);
    expect(g.nodes.find((n) => n.type === "builtins.dict")!.objects).toBe(7);
    expect(g.nodes.filter((n) => n.leaf)).toHaveLength(3);
    expect(g.elided).toBe(31);
    expect(Math.max(...g.nodes.map((n) => n.depth))).toBe(9);
  });
});

describe("page", () => {
  it("embeds capture strings so that none can close the script or inject markup", () => {
    const { model, report, processes } = leakyView();
    report.suspects[0]!.retainers = ["module app", ".x['</script><script>alert(1)</script>']"];
    report.run.command = ["python3", "<b>app</b>.py"];
    const html = renderPage(buildView({ model, report, processes }));
    expect(html).not.toContain("<script>alert(1)");
    expect(html).not.toContain("<b>app</b>");
    expect(html).toContain("&lt;b&gt;app&lt;/b&gt;.py");
    const data = /<script id="leaktrail-data" type="application\/json">([^<]*)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(data).suspects[0].retainers[1]).toBe(".x['</script><script>alert(1)</script>']");
    // one script of code, no external resource of any kind
    expect(html).not.toMatch(/\s(src|href)="(?!data:)/);
    expect(html).toContain("default-src 'none'");
  });
});
