import { describe, expect, it } from "vitest";
import { buildModel } from "../../src/analysis/model.js";
import { censusTypeSeries, heapSeries, levelWindows, runningSamples, tracingWindows } from "../../src/analysis/series.js";
import { HEADER, synthesize } from "./synthetic.js";
import { theilSen } from "../../src/analysis/stats.js";

const xs = Array.from({ length: 80 }, (_, i) => i * 0.1);

describe("levelWindows: a tracing window's own step is taken out of the block series", () => {
  it("removes a step left by closing a window and keeps the program's slope", () => {
    const windows: Array<[number, number]> = [[2, 2.3], [5, 5.4]];
    const ys = xs.map((x) => 1000 + 100 * x + (x > 2.3 ? 5000 : 0) + (x > 5.4 ? 7000 : 0) + (x * 37 % 1) * 20);
    const raw = theilSen(xs, ys).slope;
    const leveled = levelWindows({ xs, ys }, windows);
    expect(raw).toBeGreaterThan(1000); // the steps pass for steep growth before levelling
    expect(theilSen(leveled.xs, leveled.ys).slope).toBeCloseTo(100, -1);
    // no point from inside a window is left
    expect(leveled.xs.some((x) => (x >= 2 && x <= 2.35) || (x >= 5 && x <= 5.45))).toBe(false);
    const last = leveled.ys[leveled.ys.length - 1] as number;
    expect(Math.abs(last - (1000 + 100 * 7.9))).toBeLessThan(200);
  });

  it("leaves a steady leak without steps as it was", () => {
    const ys = xs.map((x) => 1000 + 300 * x);
    const leveled = levelWindows({ xs, ys }, [[3, 3.2]]);
    leveled.xs.forEach((x, i) => expect(leveled.ys[i]).toBeCloseTo(1000 + 300 * x, 6));
  });

  it("does nothing where a window has too few points around it", () => {
    const ys = xs.map((x) => 1000 + (x > 0.2 ? 5000 : 0));
    expect(levelWindows({ xs, ys }, [[0.1, 0.2]])).toEqual({ xs, ys });
  });
});

describe("runningSamples: a run's teardown is no part of its series", () => {
  const proc = (threads: number[]) =>
    buildModel(HEADER, [
      ...synthesize({ seconds: (threads.length - 1) * 0.1, heap: (t) => 1e6 + 1e5 * t }).map((r) => {
        if (r.k !== "sample") return r;
        const i = Math.round((r.t - 1000) * 10);
        return { ...r, threads: threads[i] ?? 1, heap: threads[i]! < 6 && i > 5 ? 1e6 : r.heap };
      }),
    ]).processes[0]!;

  it("drops the samples at the end taken once the thread count began to fall (a pool shutting down)", () => {
    const p = proc([...Array(40).fill(6), 3, 2, 2]); // a heap snapshot at the 42nd sample
    const kept = runningSamples(p);
    expect(kept).toHaveLength(40);
    expect(p.heaps.some((h) => h.t - 1000 > 4)).toBe(true);
    expect(kept.every((s) => s.threads === 6)).toBe(true);
    // heap snapshots taken in the teardown are left out too
    const lastKept = (kept[kept.length - 1]!.t - 1000);
    expect(Math.max(...heapSeries(p).xs)).toBeLessThanOrEqual(lastKept + 1e-9);
  });

  it("keeps a fall in threads that the program lived through for longer than a teardown", () => {
    const p = proc([...Array(20).fill(6), ...Array(20).fill(3)]);
    expect(runningSamples(p)).toHaveLength(40);
  });

  it("keeps every sample of a run whose threads do not fall at its end", () => {
    const p = proc([...Array(20).fill(2), ...Array(20).fill(6)]);
    expect(runningSamples(p)).toHaveLength(40);
  });

  // the exit's own sample (final) counts fewer threads than the run did: its threads ended
  // between them, and what they held went just before they left the count
  const endingAtExit = (threadsAtExit: number, freed = 2e5) =>
    buildModel(HEADER, synthesize({ seconds: 4, heap: (t) => 1e6 + 1e5 * t, noise: 0 }).map((r, _, all) => {
      if (r.k !== "sample") return r;
      const last = Math.max(...all.filter((x) => x.k === "sample").map((x) => x.t));
      const freedAlready = r.t > last - 0.25 ? freed : 0; // a worker's thread-local lists
      return r.t === last ? { ...r, final: true, threads: threadsAtExit, heap: 5e5 } : { ...r, threads: 6, heap: r.heap - freedAlready };
    })).processes[0]!;

  it("drops the fall just before the exit when threads ended between the run's last sample and the exit's", () => {
    const p = endingAtExit(1);
    const running = p.samples.filter((r) => !r.final);
    const exit = p.samples.find((r) => r.final)!.t;
    const beforeTheFall = running.filter((r) => r.t <= exit - 0.25);
    expect(beforeTheFall.length).toBeLessThan(running.length);
    expect(runningSamples(p)).toEqual(beforeTheFall);
  });

  it("keeps the end of a run whose threads ended at the exit but whose heap did not fall", () => {
    const p = endingAtExit(1, 0);
    expect(runningSamples(p)).toHaveLength(p.samples.filter((r) => !r.final).length);
  });

  it("keeps the run's end when only the agent's own thread was gone at the exit", () => {
    const p = endingAtExit(5);
    expect(runningSamples(p)).toHaveLength(p.samples.filter((r) => !r.final).length);
  });
});

describe("censusTypeSeries: a census is not read while a tracing window is open or closing", () => {
  it("leaves out the census taken inside a window", () => {
    const census = (t: number, n: number) => ({ k: "census" as const, pid: 42, t, seconds: 0.01, objects: n, types: { "builtins.str": n } });
    const proc = buildModel(HEADER, [
      { k: "hello", pid: 42, ppid: 1, t: 1000, python: "3.11.7", argv: ["app.py"], cwd: "/srv/app", executable: "python3", trace_frames: 16, library_paths: [], trace_mode: "windows" },
      ...Array.from({ length: 20 }, (_, i) => census(1000 + i * 0.5, 1000 + 10 * i)),
      census(1005.1, 1900), // the window's own references
      { k: "heap", pid: 42, t: 1005.25, seconds: 0.01, size: 6400, count: 100, sites: [], rest: [6400, 100], window: [1005.05, 1005.2] },
    ]).processes[0]!;
    const series = censusTypeSeries(proc, "builtins.str");
    expect(series.xs).toHaveLength(20);
    expect(series.ys).not.toContain(1900);
    expect(series.ys.every((y, i) => i === 0 || y > series.ys[i - 1]!)).toBe(true);
  });
});

describe("tracingWindows: from a window's opening to the end of its work in the process", () => {
  const hello = { k: "hello" as const, pid: 42, ppid: 1, t: 1000, python: "3.11.7", argv: ["app.py"], cwd: "/srv/app", executable: "python3", trace_frames: 16, library_paths: [], trace_mode: "windows" as const };
  const heap = (t: number, window: [number, number], copy?: boolean) =>
    ({ k: "heap" as const, pid: 42, t, seconds: 0.01, size: 6400, count: 100, sites: [], rest: [6400, 100] as [number, number], window, ...(copy ? { copy } : {}) });

  it("runs until the record left when the window was surveyed in the process", () => {
    const proc = buildModel(HEADER, [hello, heap(1003.4, [1003, 1003.2])]).processes[0]!;
    expect(tracingWindows(proc)).toEqual([[1003, 1003.4]]);
  });

  it("ends with the window when a copy surveyed it, however late the copy answered", () => {
    // a copy left to idle CPU on a busy machine answers at exit: the run in between is no window
    const proc = buildModel(HEADER, [hello, heap(1030, [1003, 1003.2], true), heap(1031, [1010, 1010.3])]).processes[0]!;
    expect(tracingWindows(proc)).toEqual([[1003, 1003.2], [1010, 1031]]);
  });
});
