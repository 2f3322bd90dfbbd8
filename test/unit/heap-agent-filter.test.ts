import { describe, expect, it } from "vitest";
import { withoutTheAgent } from "../../src/heap/agent-filter.js";
import { buildHeapGraph } from "../../src/heap/build.js";
import { EdgeKind, RootKind } from "../../src/heap/format.js";

describe("leaving out the agent's own objects", () => {
  const g = buildHeapGraph({
    nodes: [
      { id: "app", type: "builtins.module", name: "app" },
      { id: "cache", type: "builtins.dict" },
      { id: "agent", type: "builtins.module", name: "leaktrail.agent" },
      { id: "table", type: "builtins.dict" },
      { id: "shared", type: "builtins.str" },
      { id: "ownOnly", type: "builtins.tuple" },
      { id: "garbage", type: "app.Node" },
    ],
    edges: [
      ["app", "cache", EdgeKind.ATTR, "CACHE"],
      ["cache", "shared", EdgeKind.ITEM, "k"],
      ["agent", "table", EdgeKind.ATTR, "_tracebacks"],
      ["table", "shared", EdgeKind.ITEM, "k"],
      ["table", "ownOnly", EdgeKind.ITEM, "t"],
      ["garbage", "garbage", EdgeKind.ATTR, "self"],
    ],
    roots: [["app", RootKind.MODULE], ["agent", RootKind.AGENT]],
  });

  it("drops what only the agent reaches, keeps what the program also reaches, and keeps garbage", () => {
    const out = withoutTheAgent(g);
    const types = Array.from(out.nodeType, (t) => out.strings[t]);
    expect(out.nodeCount).toBe(4);
    expect(types).toEqual(["builtins.module", "builtins.dict", "builtins.str", "app.Node"]);
    expect(Array.from(out.rootKind)).toEqual([RootKind.MODULE]);
    // edges into dropped nodes go, the others are renumbered
    expect(out.edgeCount).toBe(3);
    expect(Array.from(out.edgeTarget)).toEqual([1, 2, 3]);
    expect(out.firstEdge[out.nodeCount]).toBe(3);
  });

  it("returns the graph itself when no AGENT root is there", () => {
    const plain = { ...g, rootNode: g.rootNode.slice(0, 1), rootKind: g.rootKind.slice(0, 1) };
    expect(withoutTheAgent(plain)).toBe(plain);
  });
});
