import type { CaptureRecord, Header } from "../../src/capture/format.js";

/** Builds small captures in memory: a process whose heap, census and sites follow given curves. */
export interface Curves {
  seconds: number;
  /** Python heap bytes at time t. */
  heap: (t: number) => number;
  /** RSS bytes at time t. */
  rss?: (t: number) => number;
  /** Live count of the suspect type at time t. */
  count?: (t: number) => number;
  typeKey?: string;
  siteFile?: string;
  siteLine?: number;
  /** Unreachable objects at time t (garbage probes), when the collector is off. */
  unreachable?: (t: number) => number;
  seed?: number;
  /** Peak-to-peak noise added to every measurement (default 20 kB). */
  noise?: number;
  /** Process id (default 42), parent's (default 1) and argv (default ["app.py"]). */
  pid?: number;
  ppid?: number;
  argv?: string[];
  /** Seconds after the capture's start at which this process starts (default 0). */
  start?: number;
  /**
   * Sample indices (10 per second) at which the slower looks — heap snapshot, census,
   * object sites — are taken (default every third sample). A short-lived worker under a
   * big heap gets only one early look and one at its exit: `sparseLooks`.
   */
  looksAt?: (i: number, last: number) => boolean;
  /** The look at the last sample is the agent's one at exit (`final`). */
  finalLook?: boolean;
  /**
   * Tracing windows (the default mode): the heap is followed by samples' allocator block
   * counts (64 bytes a block here), every 0.1 s, not by the looks.
   */
  windowed?: boolean;
}

/** Looks as a worker with a large inherited heap gets them: one early, one final at exit. */
export const sparseLooks = (i: number, last: number) => i === 3 || i === last;

export const HEADER: Header = {
  schema: "leaktrail.capture/1",
  created: 1000,
  command: ["python3", "app.py"],
  cwd: "/srv/app",
  tool_version: "test",
};

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function synthesize(c: Curves): CaptureRecord[] {
  const rand = rng(c.seed ?? 7);
  const pid = c.pid ?? 42;
  const t0 = 1000 + (c.start ?? 0);
  const looksAt = c.looksAt ?? ((i: number) => i % 3 === 0);
  let lastI = 0;
  while ((lastI + 1) * 0.1 <= c.seconds) lastI++;
  const file = c.siteFile ?? "/srv/app/app.py";
  const line = c.siteLine ?? 13;
  const typeKey = c.typeKey ?? "builtins.bytes";
  const out: CaptureRecord[] = [
    {
      k: "hello", pid, ppid: c.ppid ?? 1, t: t0, python: "3.11.7", argv: c.argv ?? ["app.py"], cwd: "/srv/app", executable: "python3",
      trace_frames: 16, library_paths: ["/usr/lib/python3.11"], ...(c.windowed ? { trace_mode: "windows" as const } : {}),
    },
    { k: "tb", pid, id: 1, frames: [[file, line, "render"], [file, 30, "main"]] },
    { k: "tb", pid, id: 2, frames: [["/usr/lib/python3.11/json/encoder.py", 200, "encode"], [file, 20, "churn"]] },
  ];
  const amplitude = c.noise ?? 20_000;
  const noise = () => (rand() - 0.5) * amplitude;
  for (let i = 0; i <= lastI; i++) {
    const t = i * 0.1;
    const heap = c.heap(t) + noise();
    out.push({
      k: "sample", pid, t: t0 + t, rss: (c.rss ?? ((x) => 30e6 + c.heap(x)))(t) + noise(), heap, trace_overhead: 0,
      gc_count: [0, 0, 0], gc_collections: [0, 0, 0], gc_collected: [0, 0, 0], gc_uncollectable: [0, 0, 0],
      gc_pause: [0, 0, 0], gc_enabled: c.unreachable === undefined, gc_frozen: 0, gc_garbage: 0, threads: 1, agent_cpu: 0,
      ...(c.windowed ? { blocks: Math.round(heap / 64) } : {}),
    });
    if (looksAt(i, lastI)) {
      const leaked = c.heap(t) - c.heap(0);
      const fin = c.finalLook && i === lastI ? { final: true } : {};
      out.push({
        ...fin, k: "heap", pid, t: t0 + t, seconds: 0.01, size: heap, count: 1000,
        sites: [[1, Math.max(0, leaked), Math.round(Math.max(0, leaked) / 1000)], [2, 50_000 + noise(), 40]], rest: [0, 0],
      });
      const n = (c.count ?? ((x) => (c.heap(x) - c.heap(0)) / 1000))(t);
      out.push({ ...fin, k: "census", pid, t: t0 + t, seconds: 0.01, objects: 10_000 + n, types: { [typeKey]: Math.round(500 + n), "builtins.dict": 3000 + Math.round(rand() * 10) } });
      out.push({ k: "objsites", pid, t: t0 + t, type: typeKey, instances: Math.round(500 + n), sites: [[1, Math.round(n)]], untraced: 500, gc: false });
      if (c.unreachable) {
        const u = Math.round(c.unreachable(t));
        out.push({ k: "garbage", pid, t: t0 + t, seconds: 0.05, objects: 10_000 + u, unreachable: u, types: { [typeKey]: u }, sites: [[typeKey, 1, u]] });
      }
    }
  }
  out.push({ k: "bye", pid, t: t0 + c.seconds });
  return out;
}
