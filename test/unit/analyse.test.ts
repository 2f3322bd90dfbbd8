import { describe, expect, it } from "vitest";
import { analyse } from "../../src/analysis/analyse.js";
import { buildModel } from "../../src/analysis/model.js";
import { trendTest } from "../../src/analysis/stats.js";
import { HEADER, synthesize, type Curves } from "./synthetic.js";

function verdictOf(c: Curves) {
  return analyse(buildModel(HEADER, synthesize(c))).report;
}

describe("analyse", () => {
  it("calls a steady heap growth a python-reachable leak and names the user site and type", () => {
    const r = verdictOf({ seconds: 8, heap: (t) => 1e6 + 200_000 * t });
    expect(r.verdict.leak).toBe(true);
    expect(r.verdict.kind).toBe("python-reachable");
    expect(r.verdict.growth_bytes_per_s).toBeGreaterThan(150_000);
    expect(r.verdict.growth_bytes_per_s).toBeLessThan(250_000);
    expect(r.suspects[0]?.site).toEqual({ file: "app.py", line: 13, function: "render" });
    expect(r.suspects[0]?.type).toBe("bytes");
    expect(r.suspects[0]?.type_evidence).toBe("object-traceback");
  });

  it("times a type's growth from the process's warm-up, not from a start-up peak in a sparse census", () => {
    // str counts seen in a run of the corpus's thread_local_state.py: start-up peaks at
    // 0.6 s, then ~100 a second leak, counted with jitter (strings in flight)
    const seen = [300, 2355, 1833, 1898, 1973, 2221, 2118, 2183, 2258, 2323];
    const count = (t: number) => seen[Math.min(seen.length - 1, Math.round(t / 0.6))] ?? 0;
    const r = verdictOf({
      seconds: 5.9,
      heap: (t) => (t < 1.2 ? 4e6 * Math.min(1, t / 0.6) : 1e6 + 100_000 * t),
      count,
      noise: 2000,
      looksAt: (i) => i % 6 === 0, // a census every 0.6 s: ten points
      windowed: true, // the heap from samples every 0.1 s: its warm-up is plain there
    });
    expect(r.verdict.kind, r.verdict.explanation).toBe("python-reachable");
    expect(r.suspects[0]?.type).toBe("bytes");
  });

  it("with tracing windows, does not call a small block-count rise that no type's census count confirms a leak", () => {
    // (synthetic windows see 1000-byte blocks, samples count 64-byte ones: 300 B/s reads as ~4.7 kB/s)
    const small = { seconds: 7, heap: (t: number) => 1e6 + 300 * t, noise: 20, windowed: true };
    const flat = verdictOf({ ...small, count: () => 0 });
    expect(flat.verdict.kind).toBe("none");
    expect(flat.verdict.explanation).toMatch(/no type of object grows in number/);
    // the same rise with a type growing alongside is a leak
    const confirmed = verdictOf({ ...small, count: (t) => 40 * t });
    expect(confirmed.verdict.kind).toBe("python-reachable");
    // and a rise too big for free lists needs no confirmation
    const big = verdictOf({ seconds: 7, heap: (t) => 1e6 + 100_000 * t, noise: 200, windowed: true, count: () => 0 });
    expect(big.verdict.kind).toBe("python-reachable");
  });

  it("does not call a warm-up that levels off a leak", () => {
    const r = verdictOf({ seconds: 8, heap: (t) => 1e6 + 3e6 * Math.min(1, t / 1.5) });
    expect(r.verdict.leak).toBe(false);
    expect(r.verdict.kind).toBe("none");
    expect(r.suspects).toHaveLength(0);
  });

  it("does not call a bounded cache that fills then plateaus a leak", () => {
    const r = verdictOf({ seconds: 9, heap: (t) => 1e6 + 2e6 * (1 - Math.exp(-t / 1.2)) });
    expect(r.verdict.leak).toBe(false);
  });

  it("does not call a sawtooth of released batches a leak", () => {
    const r = verdictOf({ seconds: 9, heap: (t) => 1e6 + 400_000 * ((t % 1.5) / 1.5) });
    expect(r.verdict.leak).toBe(false);
  });

  it("judges a fast sawtooth by the samples when once-a-second snapshots alias it into a rise", () => {
    // cyclic garbage freed every 0.5 s (the corpus's ok_cycles_collected.py); a snapshot
    // every 1.02 s lands 0.02 s later in the cycle each time: +11 kB over 8 looks, rising
    const tooth = (t: number) => 90_000 + 70_000 * ((t % 0.5) / 0.5);
    const records = synthesize({ seconds: 9, heap: tooth, noise: 500, looksAt: () => false }).filter((r) => r.k !== "heap");
    const end = records.pop()!;
    for (let k = 0; k < 8; k++) {
      const t = 0.5 + 1.02 * k;
      records.push({ k: "heap", pid: 42, t: 1000 + t, seconds: 0.01, size: tooth(t), count: 1000, sites: [[1, tooth(t) - 90_000, 100]], rest: [0, 0] });
    }
    records.sort((a, b) => a.t - b.t);
    const model = buildModel(HEADER, [...records, end]);
    // the snapshots alone read a leak
    const sparse = trendTest(model.processes[0]!.heaps.map((h) => h.t), model.processes[0]!.heaps.map((h) => h.size));
    expect(sparse.growing, sparse.reason).toBe(true);
    const r = analyse(model).report;
    expect(r.verdict.leak, r.verdict.explanation).toBe(false);
  });

  it("calls RSS growth without Python-heap growth native", () => {
    const r = verdictOf({ seconds: 8, heap: () => 1e6, rss: (t) => 30e6 + 3_000_000 * t });
    expect(r.verdict.leak).toBe(true);
    expect(r.verdict.kind).toBe("native");
  });

  it("does not call a few MB of RSS creep native (allocator fragmentation under tracing)", () => {
    const r = verdictOf({ seconds: 8, heap: () => 1e6, rss: (t) => 30e6 + 500_000 * t });
    expect(r.verdict.leak).toBe(false);
  });

  it("calls growing unreachable garbage python-unreachable", () => {
    const r = verdictOf({ seconds: 8, heap: (t) => 1e6 + 100_000 * t, unreachable: (t) => 1000 * t, typeKey: "app.Node" });
    expect(r.verdict.kind).toBe("python-unreachable");
    expect(r.suspects[0]?.type).toBe("Node");
    expect(r.suspects[0]?.site.line).toBe(13);
  });

  it("does not call a significant but tiny creep of the heap a leak", () => {
    const r = verdictOf({ seconds: 8, heap: (t) => 1e6 + 500 * t, noise: 50 });
    expect(r.verdict.leak).toBe(false);
    expect(r.verdict.explanation).toMatch(/too little to be a leak/);
  });

  it("names a growing class before a heavier cluster of builtins of comparable size", () => {
    const records = synthesize({ seconds: 8, heap: (t) => 1e6 + 200_000 * t });
    // a second growing type, a class allocated at another line, growing at a third of the bytes
    const extra = records.flatMap((r) => {
      if (r.k === "census") return [{ ...r, types: { ...r.types, "app.Session": Math.round(100 + (r.t - 1000) * 50) } }];
      if (r.k === "objsites") return [r, { ...r, type: "app.Session", sites: [[3, Math.round((r.t - 1000) * 50)]] as Array<[number, number]>, gc: true }];
      if (r.k === "heap") return [{ ...r, sites: [...r.sites, [3, Math.round((r.t - 1000) * 66_000), Math.round((r.t - 1000) * 50)]] as Array<[number, number, number]> }];
      return [r];
    });
    extra.splice(3, 0, { k: "tb", pid: 42, id: 3, frames: [["/srv/app/app.py", 38, "main"]] });
    const r = analyse(buildModel(HEADER, extra)).report;
    expect(r.suspects[0]?.type).toBe("Session");
    expect(r.suspects[0]?.site.line).toBe(38);
    expect(r.suspects[1]?.type).toBe("bytes");
  });

  it("reports the run and every process", () => {
    const r = verdictOf({ seconds: 3, heap: () => 1e6 });
    expect(r.schema).toBe("leaktrail.report/1");
    expect(r.processes).toHaveLength(1);
    expect(r.processes[0]?.pid).toBe(42);
    expect(r.run.command).toEqual(["python3", "app.py"]);
  });
});
