import { describe, expect, it } from "vitest";
import { analyseHeap, explainSuspect, explainTargets, heapSummary, pickTargets } from "../../src/heap/analyse-heap.js";
import { buildHeapGraph, type EdgeSpec, type NodeSpec } from "../../src/heap/build.js";
import { EdgeKind, RootKind } from "../../src/heap/format.js";

const { ATTR, ITEM, INDEX, LOCAL, REF, CELL, FIELD, KEY, MEMBER } = EdgeKind;

/** shop.catalog's INDEX → ViewIndex._by_category → {'cat-3': [tuples], 'cat-4': [tuples]}, a thread's local list, and something C holds. */
function shop() {
  const nodes: NodeSpec[] = [
    { id: "ext", type: "builtins.list", size: 40 },
    { id: "cobj", type: "builtins.bytes", size: 10 },
    { id: "mod", type: "builtins.module", name: "shop.catalog", size: 72 },
    { id: "idx", type: "shop.catalog.ViewIndex", size: 48 },
    { id: "bycat", type: "builtins.dict", size: 232 },
    { id: "l3", type: "builtins.list", size: 88 },
    { id: "l4", type: "builtins.list", size: 88 },
    { id: "frame", type: "builtins.frame", name: "MainThread", size: 400 },
    { id: "pending", type: "builtins.list", size: 88 },
  ];
  const edges: EdgeSpec[] = [
    ["ext", "cobj", REF],
    ["mod", "idx", ATTR, "INDEX"],
    ["idx", "bycat", ATTR, "_by_category"],
    ["bycat", "l3", ITEM, "cat-3"],
    ["bycat", "l4", ITEM, "cat-4"],
    ["frame", "pending", LOCAL, "pending"],
  ];
  for (let i = 0; i < 7; i++) {
    nodes.push({ id: `t${i}`, type: "builtins.tuple", size: 64, site: i < 5 ? "/srv/shop/catalog.py:42" : "/srv/shop/other.py:7" });
    nodes.push({ id: `s${i}`, type: "builtins.str", size: 100 });
    edges.push([i < 5 ? "l3" : "l4", `t${i}`, INDEX, i], [`t${i}`, `s${i}`, INDEX, 0]);
  }
  for (let i = 0; i < 2; i++) {
    nodes.push({ id: `p${i}`, type: "builtins.tuple", size: 64 });
    edges.push(["pending", `p${i}`, INDEX, i]);
  }
  // EXTERNAL listed first: root order must not decide, root kind does
  return buildHeapGraph({ nodes, edges, roots: [["ext", RootKind.EXTERNAL], ["mod", RootKind.MODULE], ["frame", RootKind.THREAD]] });
}

const id = (g: ReturnType<typeof shop>, type: string) => [...g.nodeType.keys()].filter((v) => g.strings[g.nodeType[v]!] === type);

describe("retainer paths", () => {
  it("explains leaked tuples by the module global, clustered, with what the cluster holds", () => {
    const g = shop();
    const a = analyseHeap(g);
    const tuples = pickTargets(g, "tuple");
    expect(tuples).toHaveLength(9);
    const ex = explainTargets(g, a, tuples);
    expect(ex.clusters.map((c) => c.path.objects)).toEqual([7, 2]);
    expect(ex.retainers).toEqual(["module shop.catalog", ".INDEX", "ViewIndex._by_category", "dict[…]", "list[…]", "tuple"]);
    expect(ex.retainers.join(" → ")).toContain("_by_category");
    const steps = ex.clusters[0]!.path.steps;
    expect(steps.map((s) => s.edge)).toEqual(["module shop.catalog", ".INDEX", "._by_category", "[…]", "[…]"]);
    expect(steps.map((s) => s.type)).toEqual(["builtins.module", "shop.catalog.ViewIndex", "builtins.dict", "builtins.list", "builtins.tuple"]);
    // the dict is the deepest object every one of the 7 tuples needs: it holds them, their strings and both lists
    expect(ex.clusters[0]!.holder).toBe(4);
    expect(ex.retainedBytes).toBe(232 + 88 * 2 + 7 * (64 + 100));
    expect(steps[2]!.retained).toBe(ex.retainedBytes);
    expect(ex.clusters[1]!.strings).toEqual(["thread MainThread", "local pending", "list[…]", "tuple"]);
  });

  it("explains by a module's path, even a longer one, before C's", () => {
    const g = buildHeapGraph({
      nodes: [{ id: "c", type: "builtins.dict" }, { id: "m", type: "builtins.module", name: "bus" }, { id: "x", type: "app.Listener" }],
      edges: [["c", "x", REF], ["m", "x", ATTR, "BUS"]],
      roots: [["c", RootKind.EXTERNAL], ["m", RootKind.MODULE]],
    });
    expect(explainTargets(g, analyseHeap(g), [2]).retainers).toEqual(["module bus", ".BUS", "Listener"]);
    const direct = buildHeapGraph({
      nodes: [{ id: "c", type: "builtins.dict" }, { id: "m", type: "builtins.module", name: "bus" }, { id: "y", type: "builtins.dict" }, { id: "x", type: "app.Listener" }],
      edges: [["c", "x", REF], ["m", "y", ATTR, "BUS"], ["y", "x", ITEM, "a"]],
      roots: [["m", RootKind.MODULE], ["c", RootKind.EXTERNAL]],
    });
    expect(explainTargets(direct, analyseHeap(direct), [3]).retainers).toEqual(["module bus", ".BUS", "dict['a']", "Listener"]);
    const onlyC = buildHeapGraph({
      nodes: [{ id: "c", type: "builtins.dict" }, { id: "m", type: "builtins.module", name: "bus" }, { id: "x", type: "app.Listener" }],
      edges: [["c", "x", REF]],
      roots: [["m", RootKind.MODULE], ["c", RootKind.EXTERNAL]],
    });
    expect(explainTargets(onlyC, analyseHeap(onlyC), [2]).retainers).toEqual(["held from C", "dict", "Listener"]);
  });

  it("keeps a key that every object shares, and generalises one that differs", () => {
    const g = shop();
    const a = analyseHeap(g);
    const ex = explainTargets(g, a, pickTargets(g, "tuple", { site: "shop/catalog.py:42" }));
    expect(ex.targets).toBe(5);
    expect(ex.retainers).toEqual(["module shop.catalog", ".INDEX", "ViewIndex._by_category", "dict['cat-3']", "list[…]", "tuple"]);
    // the list is the deepest common dominator now
    expect(ex.retainedBytes).toBe(88 + 5 * (64 + 100));
  });

  it("sums the objects' own retained sizes when only the super-root holds them all", () => {
    // two worker threads of one name: one path shape, no common dominator but the super-root
    const g = buildHeapGraph({
      nodes: [
        { id: "f1", type: "builtins.frame", name: "Worker", size: 400 },
        { id: "f2", type: "builtins.frame", name: "Worker", size: 400 },
        { id: "a", type: "builtins.bytes", size: 1000 },
        { id: "b", type: "builtins.bytes", size: 500 },
      ],
      edges: [["f1", "a", LOCAL, "job"], ["f2", "b", LOCAL, "job"]],
      roots: [["f1", RootKind.THREAD], ["f2", RootKind.THREAD]],
    });
    const ex = explainTargets(g, analyseHeap(g), [2, 3]);
    expect(ex.clusters).toHaveLength(1);
    expect(ex.retainers).toEqual(["thread Worker", "local job", "bytes"]);
    expect(ex.retainedBytes).toBe(1500);
    expect(ex.clusters[0]!.holder).toBe(-1);
  });

  it("explains garbage as unreachable, from the cycle it hangs off", () => {
    const g = buildHeapGraph({
      nodes: [{ id: "m", type: "builtins.module", name: "app" }, { id: "a", type: "app.Node", size: 50 }, { id: "b", type: "app.Node", size: 50 }, { id: "tb", type: "builtins.traceback", size: 70 }],
      edges: [["a", "b", ATTR, "next"], ["b", "a", ATTR, "prev"], ["b", "tb", FIELD, "__traceback__"]],
      roots: [["m", RootKind.MODULE]],
    });
    const a = analyseHeap(g);
    expect(a.unreachableCount).toBe(3);
    const ex = explainTargets(g, a, [3]);
    expect(ex.retainers).toEqual(["unreachable", ".next", "Node __traceback__", "traceback"]);
    expect(ex.retainedBytes).toBe(70);
  });

  it("reads every edge kind as Python spells it", () => {
    const g = buildHeapGraph({
      nodes: [
        { id: "m", type: "builtins.module", name: "app" },
        { id: "f", type: "builtins.function" },
        { id: "d", type: "builtins.dict" },
        { id: "k", type: "builtins.str" },
        { id: "s", type: "builtins.set" },
        { id: "x", type: "app.X" },
      ],
      edges: [["m", "f", ATTR, "handler"], ["f", "d", CELL, "seen"], ["d", "k", KEY, "key1"], ["k", "s", REF], ["s", "x", MEMBER]],
      roots: [["m", RootKind.MODULE]],
    });
    const ex = explainTargets(g, analyseHeap(g), [5]);
    expect(ex.retainers).toEqual(["module app", ".handler", "function closure seen", "dict key 'key1'", "str", "set{…}", "X"]);
  });

  it("picks instances by bare or full type name, evenly, preferring the suspect's site", () => {
    const g = shop();
    expect(pickTargets(g, "builtins.tuple")).toEqual(pickTargets(g, "tuple"));
    expect(pickTargets(g, "ViewIndex")).toEqual(id(g, "shop.catalog.ViewIndex"));
    expect(pickTargets(g, "uple")).toEqual([]);
    expect(pickTargets(g, "tuple", { site: "shop/other.py:7" })).toHaveLength(2);
    expect(pickTargets(g, "tuple", { site: "nowhere.py:1" })).toHaveLength(9);
    const spread = pickTargets(g, "str", { max: 3 });
    const all = pickTargets(g, "str");
    expect(spread).toEqual([all[0], all[2], all[4]]);
  });

  it("fills a suspect's report fields and the report's heap summary", () => {
    const g = shop();
    const a = analyseHeap(g);
    const fields = explainSuspect(g, a, { type: "tuple", site: { file: "shop/catalog.py", line: 42 } });
    expect(fields.retainers).toEqual(["module shop.catalog", ".INDEX", "ViewIndex._by_category", "dict['cat-3']", "list[…]", "tuple"]);
    expect(fields.retained_bytes).toBe(88 + 5 * (64 + 100));
    expect(fields.retainer_paths!.map((p) => p.objects)).toEqual([5]);
    expect(explainSuspect(g, a, { type: "Missing" })).toEqual({ retainers: [], retained_bytes: 0, retainer_paths: [] });
    expect(heapSummary({ pid: 7, pause_seconds: 0.01 }, a, 0.5)).toEqual({
      pid: 7, objects: g.nodeCount, edges: g.edgeCount, pause_seconds: 0.01, capture_seconds: 0, analysis_seconds: a.seconds + 0.5, unreachable_objects: 0,
    });
  });
});
