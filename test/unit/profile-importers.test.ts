/**
 * Importers into the profile model: the sampler's files (leaktrail.stacks/1) and a
 * capture's tracemalloc snapshots (alloc-stacks), with the differential of two captures.
 */
import { describe, expect, it } from "vitest";
import { buildModel } from "../../src/analysis/model.js";
import type { CaptureRecord, Header } from "../../src/capture/format.js";
import { captureAllocProfile, diffAllocProfile } from "../../src/profile/alloc-stacks.js";
import { functionTotals } from "../../src/profile/call-tree.js";
import { parseFolded, toFolded } from "../../src/profile/folded.js";
import { functionTable } from "../../src/profile/function-table.js";
import { total } from "../../src/profile/model.js";
import type { RawStacks } from "../../src/profile/raw.js";
import { stacksProfile } from "../../src/profile/stacks-profile.js";

function raw(pid: number, over: Partial<RawStacks> = {}): RawStacks {
  return {
    schema: "leaktrail.stacks/1",
    pid,
    ppid: 1,
    python: "3.11.7",
    argv: ["app.py"],
    executable: "/usr/bin/python3",
    cwd: "/srv",
    start: 100,
    end: 102,
    final: true,
    hz: 100,
    ticks: 200,
    cpu_clock: true,
    memory: false,
    trace_frames: 0,
    codes: [
      ["/srv/app.py", "<module>", 1],
      ["/srv/app.py", "hot", 5],
      ["/usr/lib/python3.11/json/encoder.py", "encode", 183],
    ],
    threads: [[11, 1001, "MainThread"]],
    // innermost first: [code, line, code, line]
    stacks: [
      [0, [1, 7, 0, 20], 150, 1_500_000_000, 0],
      [0, [2, 190, 0, 21], 50, 400_000_000, 0],
    ],
    retained: [],
    retained_total: [0, 0],
    sampler_cpu_ns: 10_000_000,
    process_cpu_ns: 1_900_000_000,
    errors: [],
    ...over,
  };
}

describe("the sampler's files → profile", () => {
  it("stacks root first, files relative to the working directory, CPU the default column", () => {
    const p = stacksProfile([raw(7)], { cwd: "/srv", name: "t" });
    expect(p.valueTypes.map((v) => v.type)).toEqual(["samples", "cpu"]);
    expect(p.defaultValue).toBe(1);
    expect(toFolded(p)).toBe("<module> (app.py);encode (/usr/lib/python3.11/json/encoder.py) 400000000\n<module> (app.py);hot (app.py) 1500000000\n");
    const hot = p.samples[0]!.stack.map((id) => p.frames[id]!);
    expect(hot.map((f) => [p.functions[f.fn]!.name, f.line])).toEqual([
      ["<module>", 20],
      ["hot", 7],
    ]);
    const table = functionTable(p);
    expect(table[0]).toMatchObject({ name: "<module>", cpuTotal: 1 });
    expect(table.find((r) => r.name === "hot")?.cpuSelf).toBeCloseTo(1.5 / 1.9, 5);
  });

  it("several processes: each stack starts with its process; without CPU clocks, wall samples are the default", () => {
    const p = stacksProfile([raw(7, { cpu_clock: false }), raw(8, { start: 101, argv: ["worker.py"], cpu_clock: false })], { cwd: "/srv", name: "t" });
    expect(p.defaultValue).toBe(0);
    const lines = [...parseFolded(toFolded(p)).keys()];
    expect(lines.filter((l) => l.startsWith("process 7: app.py;"))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("process 8: worker.py;"))).toHaveLength(2);
    expect(functionTable(p).some((r) => r.name.startsWith("process "))).toBe(false);
  });

  it("--memory: allocated and retained columns, retained stacks named from the source", () => {
    const p = stacksProfile(
      [
        raw(7, {
          memory: true,
          stacks: [[0, [1, 7, 0, 20], 10, 100, 4096]],
          retained: [[[["/nonexistent/x.py", 3], ["/nonexistent/x.py", 9]], 5000, 5]],
          retained_total: [5000, 5],
        }),
      ],
      { cwd: "/srv", name: "t" },
    );
    expect(p.valueTypes.map((v) => v.type)).toEqual(["samples", "cpu", "alloc_space", "inuse_space", "inuse_objects"]);
    expect(total(p, 2)).toBe(4096);
    expect(total(p, 3)).toBe(5000);
    const rows = functionTable(p);
    expect(rows.find((r) => r.name === "hot")?.allocated).toBe(4096);
    expect(rows.find((r) => r.file === "/nonexistent/x.py")?.retained).toBe(5000);
  });
});

function capture(sites: Array<[number, number, number]>, rest: [number, number] = [0, 0], window?: [number, number]): ReturnType<typeof buildModel> {
  const header: Header = { schema: "leaktrail.capture/1", created: 1000, command: ["python3", "app.py"], cwd: "/srv", tool_version: "0.1.0" };
  const records: CaptureRecord[] = [
    { k: "hello", pid: 5, ppid: 1, t: 1000, python: "3.11.7", argv: ["app.py"], cwd: "/srv", executable: "python3", trace_frames: 16, library_paths: ["/usr/lib/python3.11"] },
    { k: "tb", pid: 5, id: 1, frames: [["/srv/app.py", 14, "render"], ["/srv/app.py", 30, "main"]] },
    { k: "tb", pid: 5, id: 2, frames: [["/usr/lib/python3.11/json/decoder.py", 353, "raw_decode"], ["/srv/app.py", 31, "main"]] },
    { k: "heap", pid: 5, t: 1001, seconds: 0.01, size: 1, count: 1, sites: [[1, 1, 1]], rest: [0, 0] },
    { k: "heap", pid: 5, t: 1002, seconds: 0.01, size: 0, count: 0, sites, rest, final: true, ...(window ? { window } : {}) },
  ];
  return buildModel(header, records);
}

describe("a capture's heap snapshots → memory by allocation stack", () => {
  it("the last snapshot, root first, with the rest as one frame", () => {
    const p = captureAllocProfile(capture([[1, 3000, 30], [2, 1000, 4]], [500, 7]));
    expect(p.valueTypes.map((v) => v.type)).toEqual(["inuse_space", "inuse_objects"]);
    expect(toFolded(p)).toBe(
      ["(other sites) 500", "main (app.py);raw_decode (/usr/lib/python3.11/json/decoder.py) 1000", "main (app.py);render (app.py) 3000", ""].join("\n"),
    );
    expect(total(p, 1)).toBe(41);
  });

  it("windows mode sums every window's survivors", () => {
    const header: Header = { schema: "leaktrail.capture/1", created: 1000, command: ["x"], cwd: "/srv", tool_version: "0.1.0" };
    const model = buildModel(header, [
      { k: "hello", pid: 5, ppid: 1, t: 1000, python: "3.11.7", argv: [], cwd: "/srv", executable: "p", trace_frames: 16, trace_mode: "windows", library_paths: [] },
      { k: "tb", pid: 5, id: 1, frames: [["/srv/app.py", 14, "render"]] },
      { k: "heap", pid: 5, t: 1001, seconds: 0, size: 0, count: 0, sites: [[1, 100, 1]], rest: [0, 0], window: [1000.5, 1001] },
      { k: "heap", pid: 5, t: 1031, seconds: 0, size: 0, count: 0, sites: [[1, 250, 2]], rest: [0, 0], window: [1030.5, 1031] },
    ]);
    expect(total(captureAllocProfile(model), 0)).toBe(350);
  });

  it("the difference of two captures: growth per stack, never negative; before and after kept", () => {
    const base = capture([[1, 1000, 10], [2, 5000, 5]]);
    const later = capture([[1, 9000, 90], [2, 2000, 2]]);
    const d = diffAllocProfile(base, later);
    expect(d.valueTypes.map((v) => v.type)).toEqual(["inuse_space_base", "inuse_space", "growth_space"]);
    const byFn = new Map(functionTotals(d).map((t) => [d.functions[t.fn]!.name, t.total]));
    expect(byFn.get("render")).toEqual([1000, 9000, 8000]);
    expect(byFn.get("raw_decode")).toEqual([5000, 2000, 0]);
    expect(d.defaultValue).toBe(2);
  });
});
