import { describe, expect, it } from "vitest";
import { buildModel } from "../../src/analysis/model.js";
import type { CaptureRecord } from "../../src/capture/format.js";
import { HEADER } from "./synthetic.js";

const hello: CaptureRecord = {
  k: "hello", pid: 7, ppid: 1, t: 0, python: "3.11.7", argv: ["a.py"], cwd: "/", executable: "python3",
  trace_frames: 16, library_paths: [],
};

describe("model", () => {
  it("rebuilds whole census counts from delta records", () => {
    const m = buildModel(HEADER, [
      hello,
      { k: "census", pid: 7, t: 1, seconds: 0, objects: 30, types: { "builtins.dict": 10, "app.A": 20 } },
      { k: "census", pid: 7, t: 2, seconds: 0, objects: 35, types: { "app.A": 25 }, delta: true },
      { k: "census", pid: 7, t: 3, seconds: 0, objects: 25, types: { "builtins.dict": 0, "app.B": 0 }, delta: true },
    ]);
    const c = m.processes[0]!.census;
    expect(c.map((r) => r.types)).toEqual([
      { "builtins.dict": 10, "app.A": 20 },
      { "builtins.dict": 10, "app.A": 25 },
      { "app.A": 25 },
    ]);
    expect(c.every((r) => !r.delta)).toBe(true);
  });

  it("an auto process that switched to windows keeps only the windows opened after the switch", () => {
    const heap = (t: number, window?: [number, number]) =>
      ({ k: "heap", pid: 7, t, seconds: 0, size: 100, count: 1, sites: [[1, 100, 1]], rest: [0, 0], ...(window ? { window } : {}) }) as CaptureRecord;
    const objs = (t: number, window: [number, number]) =>
      ({ k: "objsites", pid: 7, t, type: "builtins.bytes", instances: 1, sites: [[1, 1]], untraced: 0, gc: false, window }) as CaptureRecord;
    const m = buildModel(HEADER, [
      { ...hello, trace_mode: "auto" } as CaptureRecord,
      heap(0.5), // a whole-heap snapshot while fully traced
      { k: "trace-switch", pid: 7, t: 2, to: "windows", cpu_share: 0.9 },
      heap(2.3, [0, 2.3]), // the window the switch closed: the whole heap built so far
      objs(2.4, [0, 2.4]),
      heap(3.1, [3, 3.1]),
      objs(3.2, [3, 3.2]),
    ]);
    const p = m.processes[0]!;
    expect(p.hello?.trace_mode).toBe("windows");
    expect(p.heaps.map((h) => h.t)).toEqual([3.1]);
    expect(p.objsites.map((o) => o.t)).toEqual([3.2]);
  });

  it("rebuilds whole heap site lists from delta records", () => {
    const m = buildModel(HEADER, [
      hello,
      { k: "heap", pid: 7, t: 1, seconds: 0, size: 300, count: 3, sites: [[1, 100, 1], [2, 200, 2]], rest: [0, 0] },
      { k: "heap", pid: 7, t: 2, seconds: 0, size: 500, count: 4, sites: [[2, 400, 3]], rest: [0, 0], delta: true },
      { k: "heap", pid: 7, t: 3, seconds: 0, size: 400, count: 3, sites: [[1, 0, 0]], rest: [0, 0], delta: true },
    ]);
    const h = m.processes[0]!.heaps;
    expect(h[1]!.sites).toEqual([[1, 100, 1], [2, 400, 3]]);
    expect(h[2]!.sites).toEqual([[2, 400, 3]]);
  });

  it("starts a new process when the same pid says hello again (exec)", () => {
    const m = buildModel(HEADER, [
      hello,
      { k: "sample", pid: 7, t: 1, rss: 1, heap: 1, trace_overhead: 0, gc_count: [0, 0, 0], gc_collections: [0, 0, 0], gc_collected: [0, 0, 0], gc_uncollectable: [0, 0, 0], gc_pause: [0, 0, 0], gc_enabled: true, gc_frozen: 0, gc_garbage: 0, threads: 1, agent_cpu: 0 },
      { ...hello, t: 2, argv: ["b.py"] },
    ]);
    expect(m.processes).toHaveLength(1);
    expect(m.processes[0]!.hello?.argv).toEqual(["b.py"]);
    expect(m.processes[0]!.samples).toHaveLength(0);
  });
});
