import { describe, expect, it } from "vitest";
import type { CaptureRecord } from "../../src/capture/format.js";
import { analyse, analyseProcess } from "../../src/analysis/analyse.js";
import { buildModel } from "../../src/analysis/model.js";
import { mergeSuspects, programName } from "../../src/analysis/process-groups.js";
import type { Report, Suspect } from "../../src/report/schema.js";
import { renderTerminal } from "../../src/report/terminal.js";
import { HEADER, sparseLooks, synthesize, type Curves } from "./synthetic.js";

const GUNICORN = ["/venv/bin/gunicorn", "-w", "4", "--max-requests", "400", "app:app"];
const steady = (t: number) => 1e6 + 0 * t;
const leaky = (t: number) => 1e6 + 200_000 * t;

/** The master: a steady root process. */
function master(seconds: number, extra: Partial<Curves> = {}): Curves {
  return { pid: 100, ppid: 1, argv: GUNICORN, seconds, heap: steady, seed: 1, ...extra };
}

/** A worker of the master, `start` seconds into the run. */
function worker(pid: number, start: number, seconds: number, heap: (t: number) => number, extra: Partial<Curves> = {}): Curves {
  return { pid, ppid: 100, argv: GUNICORN, start, seconds, heap, seed: pid, ...extra };
}

function reportOf(...procs: Curves[]): Report {
  const records: CaptureRecord[] = procs.flatMap((c) => synthesize(c));
  return analyse(buildModel(HEADER, records)).report;
}

function group(r: Report, name: string) {
  const g = r.groups?.find((x) => x.name === name);
  expect(g, `group ${name} in ${JSON.stringify(r.groups?.map((x) => x.name))}`).toBeDefined();
  return g!;
}

describe("process groups", () => {
  it("groups a forking server by role: the root, and its workers as one group", () => {
    const r = reportOf(master(12), ...[101, 102, 103, 104].map((pid) => worker(pid, 1, 8, leaky)));
    expect(r.groups?.map((g) => [g.name, g.role, g.parent])).toEqual([
      ["gunicorn", "root", null],
      ["gunicorn worker", "children", "gunicorn"],
    ]);
    const w = group(r, "gunicorn worker");
    expect(w.pids).toEqual([101, 102, 103, 104]);
    expect(w.judged).toEqual([101, 102, 103, 104]);
    expect(w.leaking).toEqual([101, 102, 103, 104]);
    expect(w.leak).toBe(true);
    expect(w.kind).toBe("python-reachable");
    expect(w.top_site).toEqual({ file: "app.py", line: 13, function: "render" });
    expect(w.top_type).toBe("bytes");
    const root = group(r, "gunicorn");
    expect(root).toMatchObject({ pids: [100], judged: [100], leaking: [], leak: false, kind: "none" });
    expect(r.processes.find((p) => p.pid === 102)).toMatchObject({ group: "gunicorn worker", judged: true, ppid: 100, leak: true });
    expect(r.processes.find((p) => p.pid === 100)).toMatchObject({ group: "gunicorn", judged: true, leak: false });
  });

  it("a leak in any process is the verdict, and the explanation counts the leaking processes of their group", () => {
    const r = reportOf(master(12), ...[101, 102, 103, 104].map((pid) => worker(pid, 1, 8, leaky)));
    expect(r.verdict.leak).toBe(true);
    expect(r.verdict.kind).toBe("python-reachable");
    expect(r.verdict.explanation).toMatch(/^4 of 4 gunicorn worker processes leak at app\.py:13 \(bytes\)/);
    expect(r.verdict.explanation).toMatch(/the gunicorn process \(pid 100\) does not leak/);
    // each process keeps its own fit: the rate is one worker's, not the sum of four
    expect(r.verdict.growth_bytes_per_s).toBeGreaterThan(150_000);
    expect(r.verdict.growth_bytes_per_s).toBeLessThan(250_000);
  });

  it("merges suspects that name the same site and type across processes: pids listed, growth summed", () => {
    const pids = [101, 102, 103, 104];
    const r = reportOf(master(12), ...pids.map((pid) => worker(pid, 1, 8, leaky)));
    const alone = pids.map((pid) => analyse(buildModel(HEADER, synthesize(worker(pid, 1, 8, leaky)))).report.suspects[0]!);
    expect(r.suspects.filter((s) => s.site.line === 13 && s.type === "bytes")).toHaveLength(1);
    const top = r.suspects[0]!;
    expect(top.site).toEqual({ file: "app.py", line: 13, function: "render" });
    expect(top.type).toBe("bytes");
    expect(top.pids).toEqual(pids);
    expect(top.pid).toBe(101);
    expect(top.size_growth_bytes).toBe(alone.reduce((a, s) => a + s.size_growth_bytes, 0));
    expect(top.count_growth).toBe(alone.reduce((a, s) => a + s.count_growth, 0));
    // a rate per process, not four processes' rates added up
    expect(top.growth_bytes_per_s).toBeLessThan(1.5 * Math.max(...alone.map((s) => s.growth_bytes_per_s)));
  });

  it("recycled short-lived workers: each is judged on its own series; those too short to fit are counted, not judged", () => {
    const recycled = [101, 102, 103, 104, 105, 106].map((pid, i) => worker(pid, 1 + 4 * i, 4, (t) => 1e6 + 150_000 * t));
    const dead = [107, 108].map((pid, i) => worker(pid, 3 + 4 * i, 0.5, (t) => 1e6 + 150_000 * t));
    const r = reportOf(master(26), ...recycled, ...dead);
    const w = group(r, "gunicorn worker");
    expect(w.pids).toHaveLength(8);
    expect(w.judged).toEqual([101, 102, 103, 104, 105, 106]);
    expect(w.leaking).toEqual([101, 102, 103, 104, 105, 106]);
    expect(w.leak).toBe(true);
    expect(r.processes.find((p) => p.pid === 107)?.judged).toBe(false);
    expect(r.verdict.leak).toBe(true);
    expect(r.verdict.explanation).toMatch(/^6 of 6 gunicorn worker processes leak/);
    expect(r.verdict.explanation).toMatch(/2 more had too short a series/);
    expect(r.suspects[0]?.pids).toEqual([101, 102, 103, 104, 105, 106]);
  });

  it("the sum of recycled workers is a sawtooth: fitting it instead of each process would miss the leak", () => {
    // the premise of fitting each process: the workers' heaps added up reset at every recycle
    const workers = [101, 102, 103, 104, 105, 106].map((pid, i) => worker(pid, 1 + 4 * i, 4, (t) => 1e6 + 150_000 * t));
    const summed: Curves = {
      seconds: 25,
      heap: (t) => (t < 1 ? 0 : 1e6 + 150_000 * ((t - 1) % 4)),
      seed: 3,
    };
    expect(analyse(buildModel(HEADER, synthesize(summed))).report.verdict.leak).toBe(false);
    expect(reportOf(master(26), ...workers).verdict.leak).toBe(true);
  });

  it("workers too short for a fit never make the verdict, even when each one rose", () => {
    const shorts = [101, 102, 103].map((pid, i) => worker(pid, 1 + 1.5 * i, 1, (t) => 1e6 + 400_000 * t));
    // alone, each short worker's rise would be called a leak
    const one = buildModel(HEADER, synthesize(shorts[0]!)).processes[0]!;
    expect(analyseProcess(one, "/srv/app").kind).toBe("python-reachable");
    const r = reportOf(master(10), ...shorts);
    expect(group(r, "gunicorn worker")).toMatchObject({ judged: [], leaking: [], leak: false });
    expect(r.verdict.leak).toBe(false);
    expect(r.verdict.explanation).toMatch(/^No process of the 4 leaks/);
    expect(r.suspects).toHaveLength(0);
  });

  it("one leaking worker of four: the run leaks, the group's verdict does not (no majority)", () => {
    const r = reportOf(master(12), worker(101, 1, 8, leaky), ...[102, 103, 104].map((pid) => worker(pid, 1, 8, steady)));
    const w = group(r, "gunicorn worker");
    expect(w.judged).toHaveLength(4);
    expect(w.leaking).toEqual([101]);
    expect(w.leak).toBe(false);
    expect(w.top_site?.line).toBe(13); // what the leaking one names, for the reader
    expect(r.verdict.leak).toBe(true);
    expect(r.verdict.explanation).toMatch(/^1 of 4 gunicorn worker processes leaks \(pid 101\)/);
    expect(r.suspects[0]?.pids).toEqual([101]);
  });

  it("the group leaks when most judged workers leak, and names the site most of them name", () => {
    const at = (line: number) => ({ siteLine: line });
    const split = reportOf(
      master(12),
      worker(101, 1, 8, leaky, at(13)),
      worker(102, 1, 8, leaky, at(13)),
      worker(103, 1, 8, leaky, at(40)),
      worker(104, 1, 8, leaky, at(40)),
    );
    // every worker leaks: the group does, even though they split on where
    const g = group(split, "gunicorn worker");
    expect(g).toMatchObject({ leak: true, leaking: [101, 102, 103, 104] });
    expect([13, 40]).toContain(g.top_site?.line);
    expect(split.verdict.leak).toBe(true);
    expect(split.suspects.map((s) => [s.site.line, s.pids])).toEqual(
      expect.arrayContaining([
        [13, [101, 102]],
        [40, [103, 104]],
      ]),
    );
    const most = reportOf(
      master(12),
      worker(101, 1, 8, leaky, at(13)),
      worker(102, 1, 8, leaky, at(13)),
      worker(103, 1, 8, leaky, at(13)),
      worker(104, 1, 8, leaky, at(40)),
    );
    const w = group(most, "gunicorn worker");
    expect(w.leak).toBe(true);
    expect(w.top_site?.line).toBe(13);
    expect(most.suspects[0]?.site.line).toBe(13);
    expect(most.suspects[0]?.pids).toEqual([101, 102, 103]);
    expect(most.verdict.explanation).toMatch(/^4 of 4 gunicorn worker processes leak at app\.py:13/);
  });

  it("workers that each lived too briefly to name a suspect: the site is found by pooling their first and last heap snapshots", () => {
    const sparse = { looksAt: sparseLooks, finalLook: true };
    const pids = [101, 102, 103, 104];
    const r = reportOf(master(20), ...pids.map((pid, i) => worker(pid, 1 + 4 * i, 4, (t) => 1e6 + 150_000 * t, sparse)));
    // alone, no worker names a suspect
    for (const pid of pids) {
      const one = buildModel(HEADER, synthesize(worker(pid, 1, 4, (t) => 1e6 + 150_000 * t, sparse)));
      const a = analyseProcess(one.processes[0]!, "/srv/app");
      expect(a.kind).toBe("python-reachable");
      expect(a.suspects).toHaveLength(0);
    }
    expect(group(r, "gunicorn worker")).toMatchObject({ leak: true, judged: pids, leaking: pids });
    const top = r.suspects[0]!;
    expect(top.site).toEqual({ file: "app.py", line: 13, function: "render" });
    expect(top.type).toBe("bytes");
    expect(top.type_evidence).toBe("object-traceback");
    expect(top.pooled_group).toBe("gunicorn worker");
    expect(top.pids).toEqual(pids);
    // 4 workers × 150 kB/s × ~3.7 s between their two looks
    expect(top.size_growth_bytes).toBeGreaterThan(1.8e6);
    expect(top.size_growth_bytes).toBeLessThan(2.6e6);
    expect(top.share).toBeGreaterThan(0.8);
    expect(group(r, "gunicorn worker").top_site?.line).toBe(13);
    expect(r.verdict.explanation).toMatch(/pooled over them, \d+ more bytes were allocated at app\.py:13 in render\(\)/);
  });

  it("half the judged workers leaking is enough: the others' 'no leak' is too little evidence, not a contradiction", () => {
    const r = reportOf(master(12), worker(101, 1, 8, leaky), worker(102, 1, 8, leaky), worker(103, 1, 8, steady), worker(104, 1, 8, steady));
    const w = group(r, "gunicorn worker");
    expect(w).toMatchObject({ leak: true, leaking: [101, 102] });
    expect(w.judged).toHaveLength(4);
  });

  it("workers too short to name a suspect count for the verdict and abstain on the site", () => {
    const sparse = { looksAt: sparseLooks, finalLook: true };
    const r = reportOf(
      master(20),
      worker(101, 1, 8, leaky, { siteLine: 13 }),
      worker(102, 1, 8, leaky, { siteLine: 13 }),
      worker(103, 9, 4, (t) => 1e6 + 150_000 * t, sparse),
      worker(104, 9, 4, (t) => 1e6 + 150_000 * t, sparse),
    );
    const w = group(r, "gunicorn worker");
    expect(w).toMatchObject({ leak: true, leaking: [101, 102, 103, 104] });
    expect(w.top_site?.line).toBe(13);
    expect(r.suspects[0]?.pids).toEqual([101, 102]);
  });

  it("pooling needs most workers to agree: a site that grew in one of four is no suspect", () => {
    const sparse = { looksAt: sparseLooks, finalLook: true };
    const r = reportOf(
      master(20),
      worker(101, 1, 4, (t) => 1e6 + 150_000 * t, { ...sparse, siteLine: 13 }),
      ...[102, 103, 104].map((pid, i) => worker(pid, 5 + 4 * i, 4, (t) => 1e6 + 150_000 * t, { ...sparse, siteLine: 50 + i })),
    );
    // every worker leaks (same kind, no suspect of its own), so the group does; no site is shared by most
    expect(group(r, "gunicorn worker").leak).toBe(true);
    expect(r.suspects).toHaveLength(0);
  });

  it("children of workers form one group per argv, not one per parent", () => {
    const app = ["app.py"];
    const r = reportOf(
      { pid: 100, ppid: 1, argv: app, seconds: 10, heap: steady, seed: 1 },
      { pid: 101, ppid: 100, argv: app, start: 0.5, seconds: 9, heap: steady, seed: 2 },
      { pid: 102, ppid: 100, argv: app, start: 0.5, seconds: 9, heap: steady, seed: 3 },
      { pid: 201, ppid: 101, argv: ["/srv/app/helper.py", "--once"], start: 1, seconds: 7, heap: steady, seed: 4 },
      { pid: 202, ppid: 102, argv: ["/srv/app/helper.py", "--once"], start: 1, seconds: 7, heap: steady, seed: 5 },
    );
    expect(r.groups?.map((g) => [g.name, g.parent, g.pids])).toEqual([
      ["app.py", null, [100]],
      ["app.py worker", "app.py", [101, 102]],
      ["helper.py", "app.py worker", [201, 202]],
    ]);
    expect(r.verdict.leak).toBe(false);
    expect(r.verdict.explanation).toMatch(/^No process of the 5 leaks/);
  });

  it("a single process keeps its own explanation, and is a group of one", () => {
    const c: Curves = { seconds: 8, heap: leaky };
    const model = buildModel(HEADER, synthesize(c));
    const r = analyse(model).report;
    expect(r.verdict.explanation).toBe(analyseProcess(model.processes[0]!, HEADER.cwd).explanation);
    expect(r.groups).toEqual([
      expect.objectContaining({ name: "app.py", role: "root", pids: [42], judged: [42], leaking: [42], leak: true }),
    ]);
    expect(r.suspects[0]?.pids).toEqual([42]);
    expect(r.suspects[0]?.pooled_group).toBeUndefined();
  });

  it("the terminal lists processes under their group with its count", () => {
    const r = reportOf(master(12), ...[101, 102, 103, 104].map((pid) => worker(pid, 1, 8, leaky)), worker(105, 10, 0.5, leaky));
    const text = renderTerminal(r);
    expect(text).toContain("Processes (6) in 2 groups:");
    expect(text).toMatch(/^ {2}gunicorn \(root\): no leak$/m);
    expect(text).toMatch(/^ {2}gunicorn worker ×5 \(children of gunicorn\): 4 of 4 judged leak at app\.py:13 \(bytes\), 1 too short to judge$/m);
    expect(text).toMatch(/^ {4}pid 103 {2}python-reachable/m);
    expect(text).toMatch(/^ {4}pid 105 {2}not judged/m);
  });
});

describe("program names", () => {
  it("names a program as a person would", () => {
    expect(programName(["/venv/bin/gunicorn", "-w", "2"], "/venv/bin/python")).toBe("gunicorn");
    expect(programName(["app.py"], "python3")).toBe("app.py");
    expect(programName(["/srv/pkg/__main__.py"], "python3")).toBe("pkg");
    expect(programName(["-c"], "/usr/bin/python3")).toBe("python3 -c");
    expect(programName([], "/usr/bin/python3")).toBe("python3");
  });
});

describe("mergeSuspects", () => {
  const base: Suspect = {
    site: { file: "app.py", line: 9, function: "render" },
    traceback: [],
    type: "bytes",
    type_qualname: "builtins.bytes",
    type_evidence: "object-traceback",
    count_growth: 100,
    size_growth_bytes: 1000,
    growth_bytes_per_s: 100,
    share: 0.5,
    retainers: [],
    pid: 7,
  };

  it("adds up growth, keeps a per-process rate and the share of the processes' summed growth", () => {
    const merged = mergeSuspects([
      { ...base, pid: 9 },
      { ...base, pid: 7, count_growth: 300, size_growth_bytes: 3000, growth_bytes_per_s: 300, share: 1 },
    ]);
    expect(merged).toHaveLength(1);
    const m = merged[0]!;
    expect(m.pids).toEqual([7, 9]);
    expect(m.pid).toBe(7);
    expect(m.count_growth).toBe(400);
    expect(m.size_growth_bytes).toBe(4000);
    expect(m.growth_bytes_per_s).toBeCloseTo(4000 / 20); // 10 s + 10 s
    expect(m.share).toBeCloseTo(4000 / (2000 + 3000));
  });

  it("keeps apart suspects that differ in site or type", () => {
    const merged = mergeSuspects([base, { ...base, pid: 8, type: "str", type_qualname: "builtins.str" }, { ...base, pid: 9, site: { ...base.site, line: 10 } }]);
    expect(merged).toHaveLength(3);
    expect(merged.map((s) => s.pids)).toEqual([[7], [8], [9]]);
  });
});
