/**
 * End to end: `leaktrail heap` (bin/leaktrail over dist/) on captures written here: a
 * header line and `heap-graph` records holding graphs made with the builder, as the agent
 * will write them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv } from "./helpers.js";
import { buildHeapGraph, type EdgeSpec, type NodeSpec } from "../../src/heap/build.js";
import { heapGraphRecord } from "../../src/heap/capture-graphs.js";
import { EdgeKind, RootKind, type HeapGraph } from "../../src/heap/format.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "leaktrail");
const dir = mkdtempSync(join(tmpdir(), "lt-heap-e2e-"));
const HEADER = { schema: "leaktrail.capture/1", created: 1.7e9, command: ["python3", "app.py"], cwd: dir, tool_version: "test" };

/** cache_unbounded's heap: module _RENDERED dict of `n` bytes, an EventBus with listeners, and a garbage cycle. */
function appHeap(n: number): HeapGraph {
  const nodes: NodeSpec[] = [
    { id: "mod", type: "builtins.module", name: "cache_unbounded", size: 72 },
    { id: "rendered", type: "builtins.dict", size: 1200 },
    { id: "busmod", type: "builtins.module", name: "events", size: 72 },
    { id: "bus", type: "events.EventBus", size: 48 },
    { id: "listeners", type: "builtins.list", size: 120 },
    { id: "g1", type: "app.Node", size: 56 },
    { id: "g2", type: "app.Node", size: 56 },
  ];
  const edges: EdgeSpec[] = [
    ["mod", "rendered", EdgeKind.ATTR, "_RENDERED"],
    ["busmod", "bus", EdgeKind.ATTR, "BUS"],
    ["bus", "listeners", EdgeKind.ATTR, "_listeners"],
    ["g1", "g2", EdgeKind.ATTR, "next"],
    ["g2", "g1", EdgeKind.ATTR, "prev"],
  ];
  for (let i = 0; i < n; i++) {
    nodes.push({ id: `b${i}`, type: "builtins.bytes", size: 1033, site: "cache_unbounded.py:14" });
    edges.push(["rendered", `b${i}`, EdgeKind.ITEM, `k${i}`]);
  }
  for (let i = 0; i < 3; i++) {
    nodes.push({ id: `f${i}`, type: "builtins.function", name: `on_event_${i}`, size: 136 });
    edges.push(["listeners", `f${i}`, EdgeKind.INDEX, i]);
  }
  return buildHeapGraph({ nodes, edges, roots: [["mod", RootKind.MODULE], ["busmod", RootKind.MODULE]] });
}

function capture(name: string, graphs: Array<[HeapGraph, number, number]>, extra: string[] = []): string {
  const path = join(dir, name);
  const lines = [JSON.stringify(HEADER), ...extra];
  for (const [g, pid, t] of graphs) lines.push(JSON.stringify(heapGraphRecord(g, { pid, t, reason: "exit", pause_seconds: 0.004, capture_seconds: 0.05 })));
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "heap", ...args], { cwd: dir, env: cliEnv(), encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(join(ROOT, "dist", "cli", "main.js"))) {
    const r = spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, `build failed:\n${r.stdout}${r.stderr}`).toBe(0);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("leaktrail heap", () => {
  const two = () => capture("two.ltcap", [[appHeap(5), 101, 1.7e9 + 1], [appHeap(40), 101, 1.7e9 + 9]], [JSON.stringify({ k: "hello", pid: 101, ppid: 1, t: 1.7e9 })]);

  it("prints the table by type of the last graph", () => {
    const r = cli(two());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/heap graph of pid 101 .*\(exit\): 50 objects, 48 references, .* 2 unreachable/);
    const lines = r.stdout.split("\n");
    const bytes = lines.find((l) => l.endsWith("  builtins.bytes"))!;
    expect(bytes.trim().split(/\s+/).slice(0, 3)).toEqual(["40", "80.0%", "41.3"]);
    expect(lines.findIndex((l) => l.endsWith("builtins.bytes"))).toBeLessThan(lines.findIndex((l) => l.endsWith("builtins.dict")));
  });

  it("gives JSON with retained sizes", () => {
    const r = cli(two(), "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ schema: "leaktrail.heap/1", pid: 101, objects: 50, edges: 48, unreachable_objects: 2, capture_seconds: 0.05 });
    expect(j.types.find((t: { type: string }) => t.type === "builtins.dict")).toMatchObject({ count: 1, size: 1200, retained: 1200 + 40 * 1033 });
  });

  it("diffs the first and the last graph, and two captures", () => {
    const first = cli(two(), "--diff-first", "--json");
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).types[0]).toMatchObject({ type: "builtins.bytes", count: 35, size: 35 * 1033 });
    const before = capture("before.ltcap", [[appHeap(10), 7, 1.7e9]]);
    const text = cli(two(), "--diff", before);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/changes by type since the graph of pid 7/);
    expect(text.stdout).toMatch(/\+30 +\+31\.0 kB +\+31\.0 kB +40 +builtins\.bytes/);
  });

  it("explains why objects are alive, naming the global that holds them", () => {
    const r = cli(two(), "--why", "bytes", "--site", "cache_unbounded.py:14");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("module cache_unbounded → ._RENDERED → dict[…] → bytes");
    expect(r.stdout).toMatch(/40 of 40 objects — this path keeps 42\.5 kB alive/);
    const j = JSON.parse(cli(two(), "--why", "function", "--json").stdout);
    expect(j.retainers).toEqual(["module events", ".BUS", "EventBus._listeners", "list[…]", "function"]);
    expect(j.retained_bytes).toBe(120 + 3 * 136);
  });

  it("draws who refers to a type as DOT, and as SVG through Graphviz", () => {
    const out = join(dir, "bus.dot");
    const r = cli(two(), "--graph", "function", "-o", out);
    expect(r.code).toBe(0);
    const dot = readFileSync(out, "utf8");
    expect(dot).toMatch(/^digraph backrefs \{/);
    expect(dot).toContain('label="._listeners"');
    expect(dot).toContain('label="module events');
    const svg = cli(two(), "--graph", "@1", "--refs", "-o", join(dir, "rendered.svg"));
    const haveDot = spawnSync("dot", ["-V"]).error === undefined;
    if (!haveDot && !process.env.CI) {
      expect(svg.stderr).toMatch(/^leaktrail: heap: Graphviz's 'dot' is not installed/);
      return;
    }
    expect(svg.stderr).toBe("");
    expect(readFileSync(join(dir, "rendered.svg"), "utf8")).toMatch(/<svg[\s\S]*\[(&#39;|')k3(&#39;|')\]/);
  });

  it("exports a .heapsnapshot", () => {
    const out = join(dir, "app.heapsnapshot");
    const r = cli(two(), "--heapsnapshot", out);
    expect(r.code).toBe(0);
    const snap = JSON.parse(readFileSync(out, "utf8"));
    expect(snap.snapshot.node_count).toBe(50 + 5);
    expect(snap.strings).toContain("_RENDERED");
  });

  it("says in one line what is wrong, and how to get a graph", () => {
    const none = capture("none.ltcap", []);
    const cases: Array<[string[], RegExp]> = [
      [[none], /^leaktrail: heap: .*none\.ltcap holds no heap graph: take one with/],
      [[two(), "--pid", "5"], /holds no heap graph of pid 5 \(it has graphs of pid 101\)/],
      [[join(dir, "missing.ltcap")], /no such capture file/],
      [[two(), "--graph", "bytes"], /--graph needs -o FILE/],
      [[two(), "--graph", "@999", "-o", join(dir, "x.dot")], /no such node \(ids run from 0 to 49\)/],
      [[two(), "--why", "bytes", "--diff-first"], /one of --diff/],
      [[capture("one.ltcap", [[appHeap(1), 3, 1.7e9]]), "--diff-first"], /holds one heap graph of pid 3; --diff-first needs two/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    const damaged = join(dir, "damaged.ltcap");
    const rec = heapGraphRecord(appHeap(2), { pid: 9, t: 1.7e9 });
    writeFileSync(damaged, [JSON.stringify(HEADER), JSON.stringify({ ...rec, data: rec.data.slice(0, 40) })].join("\n") + "\n");
    const r = cli(damaged);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^leaktrail: heap: heap graph: the compressed data is damaged/);
  });
});
