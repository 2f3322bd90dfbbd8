import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildHeapGraph, buildHeapPayload } from "../../src/heap/build.js";
import { decodeHeapGraph, HeapGraphError, inflateHeapGraph } from "../../src/heap/decode.js";
import { encodeHeapGraph } from "../../src/heap/encode.js";
import { EdgeKind, NONE, RootKind, type HeapGraph } from "../../src/heap/format.js";
import { randomGraph } from "./heap-graphs.js";

function plain(g: HeapGraph) {
  return Object.fromEntries(Object.entries(g).map(([k, v]) => [k, ArrayBuffer.isView(v) ? [...(v as Uint32Array)] : v]));
}

const spec = {
  nodes: [
    { id: "m", type: "builtins.module", name: "app.cache", size: 72 },
    { id: "d", type: "builtins.dict", size: 232, site: "app/cache.py:14" },
    { id: "s", type: "builtins.str", size: 55, name: "héllo ✓" },
    { id: "l", type: "builtins.list", size: 88 },
  ],
  edges: [
    ["m", "d", EdgeKind.ATTR, "_RENDERED"],
    ["d", "s", EdgeKind.ITEM, "k1"],
    ["d", "s", EdgeKind.KEY, "k1"],
    ["d", "l", EdgeKind.ITEM, "k2"],
    ["l", "s", EdgeKind.INDEX, 0],
    ["l", "d", EdgeKind.REF],
  ] as Array<[string, string, EdgeKind, (string | number)?]>,
  roots: [["m", RootKind.MODULE]] as Array<[string, RootKind]>,
  flags: 1,
};

describe("LTHG decode/encode", () => {
  it("round-trips a hand-made graph, labels and all", () => {
    const g = buildHeapGraph(spec);
    const back = decodeHeapGraph(encodeHeapGraph(g));
    expect(plain(back)).toEqual(plain(g));
    expect(back.strings[back.nodeName[2]!]).toBe("héllo ✓");
    expect(back.edgeLabel[4]).toBe(0); // INDEX: the number itself
    expect(back.edgeLabel[5]).toBe(NONE);
    expect(back.nodeSite[0]).toBe(NONE);
  });

  it("round-trips random graphs through zlib, whatever the padding", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const g = randomGraph(seed, 1 + seed * 3, 2);
      expect(plain(inflateHeapGraph(deflateSync(encodeHeapGraph(g)))), `seed ${seed}`).toEqual(plain(g));
    }
  });

  it("reads a payload that does not start on a 4-byte boundary", () => {
    const payload = buildHeapPayload(spec);
    const shifted = new Uint8Array(payload.byteLength + 1).subarray(1);
    shifted.set(payload);
    expect(plain(decodeHeapGraph(shifted))).toEqual(plain(buildHeapGraph(spec)));
  });

  it("says what is wrong with a bad payload, in one line", () => {
    const payload = buildHeapPayload(spec);
    const cases: Array<[Uint8Array, RegExp]> = [
      [payload.slice(0, 10), /too short for its header/],
      [Uint8Array.from([...Buffer.from("PK\x03\x04"), ...payload.slice(4)]), /bad magic 'PK\?\?'/],
      [withU32(payload, 4, 2), /version 2; this leaktrail reads version 1/],
      [payload.slice(0, payload.byteLength - 4), /truncated in rootKind/],
      [payload.slice(0, 60), /truncated in (the string table|nodeType)/],
      [withU32(payload, 8 + 4 * 1, 99), /truncated|inconsistent/], // claims 99 edges
      [withU32(payload, 16, 0xfffffff0), /truncated in the string table/], // claims 4 billion strings
    ];
    for (const [bytes, message] of cases) {
      const err = catchError(() => decodeHeapGraph(bytes));
      expect(err).toBeInstanceOf(HeapGraphError);
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain("\n");
    }
    expect(catchError(() => inflateHeapGraph(Uint8Array.of(1, 2, 3))).message).toMatch(/compressed data is damaged/);
  });

  it("rejects an edge that points past the last node", () => {
    const g = buildHeapGraph(spec);
    g.edgeTarget[0] = 4;
    expect(catchError(() => decodeHeapGraph(encodeHeapGraph(g))).message).toMatch(/edge 0 points to node 4 of 4/);
  });
});

function withU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, value, true);
  return copy;
}

function catchError(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error("no error thrown");
}
