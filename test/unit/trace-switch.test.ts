import { describe, expect, it } from "vitest";
import { analyse } from "../../src/analysis/analyse.js";
import type { CaptureRecord } from "../../src/capture/format.js";
import { buildModel } from "../../src/analysis/model.js";
import { heapSeries } from "../../src/analysis/series.js";
import { MIN_SAMPLES_TO_JUDGE, partsToJudge, windowsPartStart } from "../../src/analysis/trace-switch.js";
import { HEADER, synthesize } from "./synthetic.js";

const T0 = 1000;

/**
 * An "auto" process that leaks 100 blocks (10 kB) a second throughout and switches to
 * tracing windows at `switchAt` s. While it was traced, the block count also rose with the
 * agent's bookkeeping (800 blocks a second in all, as seen on the corpus's
 * thread_local_state.py); the switch's window closes in 1.2 s, without samples meanwhile.
 * Tracing windows after the switch see 100-byte blocks survive, one str each.
 */
function switched(switchAt: number, seconds: number): CaptureRecord[] {
  const leak = (t: number) => 10_000 * t;
  const records = synthesize({ seconds, heap: (t) => 2e6 + leak(t), count: (t) => 100 * t, typeKey: "builtins.str", noise: 400 });
  const closed = switchAt + 1.2;
  const out: CaptureRecord[] = [];
  for (const r of records) {
    const t = r.t - T0;
    if (r.k === "hello") out.push({ ...r, trace_mode: "auto" });
    else if (r.k === "sample") {
      if (t > switchAt && t < closed) continue;
      const blocks = 50_000 + 100 * t + 700 * Math.min(t, switchAt) + ((Math.round(t * 10) % 3) - 1) * 5;
      out.push({ ...r, blocks: Math.round(blocks), heap: t <= switchAt ? r.heap : -1 });
    } else if (r.k === "heap" || r.k === "objsites") {
      if (t < switchAt - 0.01) out.push(r); // whole-heap looks while traced
    } else out.push(r);
    if (r.k === "sample" && Math.abs(t - switchAt) < 0.05) {
      out.push({ k: "trace-switch", pid: 42, t: T0 + switchAt + 0.01, to: "windows", cpu_share: 0.6 });
      // the window the switch closed: everything traced so far
      out.push({ k: "heap", pid: 42, t: T0 + closed, window: [T0, T0 + switchAt], seconds: 0.5, size: 9e6, count: 60_000, sites: [[1, 9e6, 60_000]], rest: [0, 0] });
    }
    const windowAt = closed + 1.0;
    if (r.k === "sample" && Math.abs(t - windowAt) < 0.05) {
      const window: [number, number] = [T0 + windowAt - 0.3, T0 + windowAt];
      out.push({ k: "heap", pid: 42, t: T0 + windowAt, window, seconds: 0.01, size: 3000, count: 30, sites: [[1, 3000, 30]], rest: [0, 0] });
      out.push({ k: "objsites", pid: 42, t: T0 + windowAt, window, type: "builtins.str", instances: 30, sites: [[1, 30]], untraced: 0, gc: false });
    }
  }
  return out;
}

describe("a process that switched from whole-run tracing to windows", () => {
  it("is judged on its windows part: a steady leak read across the switch is no rise that levels off", () => {
    const model = buildModel(HEADER, switched(7, 11));
    const proc = model.processes[0]!;
    const start = windowsPartStart(proc)!;
    expect(start - T0).toBeGreaterThan(5);
    const series = heapSeries(proc);
    expect(Math.min(...series.xs)).toBeGreaterThanOrEqual(start - T0 - 1e-9);
    const r = analyse(model).report;
    expect(r.verdict.kind, r.verdict.explanation).toBe("python-reachable");
    expect(r.suspects[0]?.type).toBe("str");
    expect(r.suspects[0]?.site.line).toBe(13);
  });

  it("reads as a plateau when the series runs across the switch (what the windows part avoids)", () => {
    const model = buildModel(HEADER, switched(7, 11));
    const proc = model.processes[0]!;
    // the same process, its series taken from the start: the traced part's steeper rise
    const whole = { ...proc, traceSwitch: undefined, beforeSwitch: undefined };
    const r = analyse({ ...model, processes: [whole] }).report;
    expect(r.verdict.leak).toBe(false);
    expect(r.verdict.explanation).toMatch(/levelled off/);
  });

  it("is judged on its traced part, as if traced throughout, when it switched too late for a trend after", () => {
    const model = buildModel(HEADER, switched(9.5, 11));
    const proc = model.processes[0]!;
    const after = proc.samples.filter((s) => s.t >= windowsPartStart(proc)!).length;
    expect(after).toBeLessThan(MIN_SAMPLES_TO_JUDGE);
    const parts = partsToJudge(proc);
    expect(parts).toHaveLength(1);
    const part = parts[0]!;
    expect(part.hello?.trace_mode).toBe("full");
    expect(part.heaps.length).toBeGreaterThan(0);
    expect(part.heaps.every((h) => !h.window && h.t <= proc.traceSwitch!.t)).toBe(true);
    expect(part.samples.every((s) => s.t <= proc.traceSwitch!.t)).toBe(true);
    const r = analyse(model).report;
    expect(r.verdict.kind, r.verdict.explanation).toBe("python-reachable");
    expect(r.verdict.explanation).not.toMatch(/allocator's block count/);
    expect(r.suspects[0]?.site.line).toBe(13);
  });

  it("leaks when either part does: a traced part too noisy to tell, a windows part that grows", () => {
    // the traced part's bytes swing by 300 kB (the agent's own traced bytes, as its last
    // heap snapshot found them): no trend there; the windows part after it grows
    const swing = (t: number) => 2e6 + (Math.round((t - T0) * 10) % 7 < 3 ? 3e5 : 0);
    const records = switched(5, 11).map((r) =>
      r.k === "sample" && r.heap >= 0
        ? { ...r, heap: swing(r.t) }
        : r.k === "heap" && !r.window
          ? { ...r, size: swing(r.t), sites: r.sites.map(([tb, , n]) => [tb, 1000, n] as [number, number, number]) }
          : r,
    );
    const model = buildModel(HEADER, records);
    const parts = partsToJudge(model.processes[0]!);
    expect(parts.map((p) => p.hello?.trace_mode)).toEqual(["windows", "full"]);
    const tracedAlone = analyse({ ...model, processes: [parts[1]!] }).report;
    expect(tracedAlone.verdict.leak, tracedAlone.verdict.explanation).toBe(false);
    const r = analyse(model).report;
    expect(r.verdict.kind, r.verdict.explanation).toBe("python-reachable");
    expect(r.verdict.explanation).toMatch(/heap grows steadily/);
  });

  it("leaves a process that never switched as it is", () => {
    const proc = buildModel(HEADER, synthesize({ seconds: 5, heap: (t) => 1e6 + t })).processes[0]!;
    expect(windowsPartStart(proc)).toBeNull();
    expect(partsToJudge(proc)).toEqual([proc]);
  });
});

/**
 * The corpus's slow_leak_in_churn.py, switched at 2 s: each even request appends a tuple
 * (with the loop's int and a float) at app.py:12. The switch's window saw the tuples made
 * there, and the strings an import made at app.py:4; the later window, 0.2 s long, saw the
 * loop's ints (app.py:17) and some floats survive, but no tuple: they came from the
 * interpreter's free list.
 */
function freeListed(): CaptureRecord[] {
  const pid = 42;
  const tb = (id: number, frames: Array<[string, number, string]>): CaptureRecord => ({ k: "tb", pid, id, frames });
  const out: CaptureRecord[] = [
    { k: "hello", pid, ppid: 1, t: T0, python: "3.11.7", argv: ["app.py"], cwd: "/srv/app", executable: "python3", trace_frames: 16, library_paths: ["/usr/lib/python3.11"], trace_mode: "auto" },
    tb(1, [["/srv/app/app.py", 12, "handle"], ["/srv/app/app.py", 18, "main"]]),
    tb(3, [["/srv/app/app.py", 17, "main"]]),
    tb(4, [["<frozen importlib._bootstrap>", 241, "_call_with_frames_removed"], ["/srv/app/app.py", 4, "<module>"]]),
  ];
  const window = (a: number, b: number): [number, number] => [T0 + a, T0 + b];
  for (let i = 0; i <= 100; i++) {
    const t = i * 0.1;
    if (t > 2 && t < 2.8) continue; // closing the switch's window
    const sample = synthesize({ seconds: 0.1, heap: () => 0 }).find((r) => r.k === "sample")!;
    out.push({ ...sample, pid, t: T0 + t, heap: t <= 2 ? 1e6 + 5_000 * t : -1, blocks: Math.round(60_000 + 100 * t + ((i % 3) - 1) * 4) } as CaptureRecord);
    if (i % 5 === 0) {
      const n = Math.round(40 * t);
      out.push({ k: "census", pid, t: T0 + t, seconds: 0.01, objects: 20_000 + 4 * n, types: { "builtins.tuple": 3000 + n, "builtins.int": 6000 + n, "builtins.float": 400 + n, "builtins.str": 20_000 + n } });
    }
    if (i === 20) {
      out.push({ k: "trace-switch", pid, t: T0 + 2.01, to: "windows", cpu_share: 0.6 });
      out.push({ k: "heap", pid, t: T0 + 2.7, window: window(0, 2), seconds: 0.5, size: 160_000, count: 1300, sites: [[1, 27_552, 535], [3, 5_808, 181], [4, 48_650, 92]], rest: [0, 0] });
      for (const [type, sites] of [["builtins.tuple", [[1, 300]]], ["builtins.float", [[1, 238]]], ["builtins.int", [[3, 182]]], ["builtins.str", [[4, 500]]]] as const) {
        out.push({ k: "objsites", pid, t: T0 + 2.7, window: window(0, 2), type, instances: 1000, sites: sites.map(([a, b]) => [a, b] as [number, number]), untraced: 0, gc: false });
      }
    }
    if (i === 60) {
      out.push({ k: "heap", pid, t: T0 + 6, window: window(5.8, 6), seconds: 0.01, size: 744, count: 26, sites: [[3, 480, 15], [1, 264, 11]], rest: [0, 0] });
      out.push({ k: "objsites", pid, t: T0 + 6, window: window(5.8, 6), type: "builtins.int", instances: 15, sites: [[3, 15]], untraced: 0, gc: false });
      out.push({ k: "objsites", pid, t: T0 + 6, window: window(5.8, 6), type: "builtins.float", instances: 11, sites: [[1, 11]], untraced: 0, gc: false });
    }
  }
  out.push({ k: "bye", pid, t: T0 + 10 });
  return out;
}

describe("where a switched process's objects were made", () => {
  it("joins the switch's window to the later ones: the tuples at the leaking line name the suspect", () => {
    const r = analyse(buildModel(HEADER, freeListed())).report;
    expect(r.verdict.kind, r.verdict.explanation).toBe("python-reachable");
    expect(r.suspects[0]?.site.line, JSON.stringify(r.suspects.map((s) => [s.site.line, s.type]))).toBe(12);
    expect(["tuple", "float"]).toContain(r.suspects[0]?.type);
  });

  it("takes no site from the switch's window that the later windows never saw keep anything (start-up)", () => {
    const r = analyse(buildModel(HEADER, freeListed())).report;
    expect(r.suspects.map((s) => s.site.line)).not.toContain(4);
  });
});

/**
 * The corpus's thread_local_state.py, switched early (2.1 s) and judged on its traced part:
 * its two whole-heap snapshots were taken at 0.15 s, before the program's imports, and at
 * 1 s; the switch's window then held everything traced since the start. The import line
 * (app.py:4) made 169 kB by 1 s and nothing after; the leaking line (app.py:15) 20 kB by
 * 1 s and 101 kB by the switch.
 */
function switchedEarly(census = false): CaptureRecord[] {
  const pid = 42;
  const tb = (id: number, frames: Array<[string, number, string]>): CaptureRecord => ({ k: "tb", pid, id, frames });
  const out: CaptureRecord[] = [
    { k: "hello", pid, ppid: 1, t: T0, python: "3.11.7", argv: ["app.py"], cwd: "/srv/app", executable: "python3", trace_frames: 16, library_paths: ["/usr/lib/python3.11"], trace_mode: "auto" },
    tb(1, [["/srv/app/app.py", 15, "work"]]),
    tb(2, [["<frozen importlib._bootstrap_external>", 729, "exec_module"], ["/srv/app/app.py", 4, "<module>"]]),
  ];
  const heap = (t: number, imports: number, leak: number): CaptureRecord =>
    ({ k: "heap", pid, t: T0 + t, seconds: 0.01, size: 60_000 + imports + leak, count: 1000, sites: [[2, imports, 300], [1, leak, Math.round(leak / 700)]], rest: [0, 0] });
  for (let i = 0; i <= 26; i++) {
    const t = i * 0.1;
    if (t > 2.13 && t < 2.3) continue; // closing the switch's window
    const sample = synthesize({ seconds: 0.1, heap: () => 0 }).find((r) => r.k === "sample")!;
    const traced = 60_000 + 169_000 * Math.min(1, t / 0.3) + 100_000 * t + ((i % 3) - 1) * 500;
    out.push({ ...sample, pid, t: T0 + t, heap: t <= 2.13 ? traced : -1, blocks: Math.round(50_000 + 700 * Math.min(t, 2.13) + 100 * t) } as CaptureRecord);
    if (census && i % 3 === 0 && i > 0 && t <= 2.13) {
      // the census sees the strings grow (its one look at their sites is the switch's)
      out.push({ k: "census", pid, t: T0 + t, seconds: 0.01, objects: 20_000 + 70 * i, types: { "builtins.str": 20_000 + 70 * i, "builtins.dict": 3000 + (i % 2) } });
    }
    if (i === 1) out.push(heap(0.15, 5_000, 0));
    if (i === 10) out.push(heap(1.0, 169_000, 20_000));
    if (i === 21) {
      out.push({ k: "trace-switch", pid, t: T0 + 2.13, to: "windows", cpu_share: 0.6 });
      out.push({ ...heap(2.13, 169_000, 101_000), t: T0 + 2.3, window: [T0, T0 + 2.13] } as CaptureRecord);
      out.push({ k: "objsites", pid, t: T0 + 2.3, window: [T0, T0 + 2.13], type: "builtins.str", instances: 1072, sites: [[2, 226], [1, 150]], untraced: 0, gc: false });
    }
  }
  out.push({ k: "bye", pid, t: T0 + 2.7 });
  return out;
}

describe("a process judged on a traced part with few snapshots", () => {
  it("reads the switch's window as its last snapshot, and measures growth from after its warm-up", () => {
    const model = buildModel(HEADER, switchedEarly());
    const parts = partsToJudge(model.processes[0]!);
    const traced = parts.find((p) => p.hello?.trace_mode === "full")!;
    expect(traced.heaps.map((h) => Math.round((h.t - T0) * 100) / 100)).toEqual([0.15, 1, 2.13]);
    expect(traced.heaps.every((h) => !h.window)).toBe(true);
    const r = analyse(model).report;
    expect(r.verdict.kind, r.verdict.explanation).toBe("python-reachable");
    // not the import line, whose strings outnumber the leak's and whose growth came before 1 s
    expect(r.suspects[0]?.site.line, JSON.stringify(r.suspects.map((s) => [s.site.line, s.type, s.size_growth_bytes]))).toBe(15);
    expect(r.suspects[0]?.type).toBe("str");
    expect(r.suspects.map((s) => s.site.line)).not.toContain(4);
  });

  it("names the leak's line for a growing type whose only look is the switch's: a site whose bytes grew before one that holds most", () => {
    const r = analyse(buildModel(HEADER, switchedEarly(true))).report;
    expect(r.verdict.kind, r.verdict.explanation).toBe("python-reachable");
    expect(r.suspects[0]?.type_evidence).toBe("object-traceback");
    expect(r.suspects[0]?.pooled_group).toBeUndefined(); // the process's own suspect, from its census
    expect(r.suspects[0]?.site.line, JSON.stringify(r.suspects.map((s) => [s.site.line, s.type, s.size_growth_bytes]))).toBe(15);
    expect(r.suspects[0]?.type).toBe("str");
  });

  it("keeps the switch's window out of the heap series: it is evidence of where, not a point", () => {
    const traced = partsToJudge(buildModel(HEADER, switchedEarly()).processes[0]!).find((p) => p.hello?.trace_mode === "full")!;
    const eight = { ...traced, heaps: Array.from({ length: 8 }, (_, i) => ({ ...traced.heaps[1]!, t: T0 + 0.2 * i + 0.05 })) };
    const withSnapshot = { ...eight, heaps: [...eight.heaps, traced.heaps[2]!] };
    expect(heapSeries(withSnapshot)).toEqual(heapSeries(eight));
    expect(heapSeries(withSnapshot).xs).toHaveLength(8); // eight snapshots: read from them, not the samples
  });
});
