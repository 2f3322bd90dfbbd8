/**
 * End to end: `leaktrail profile`, `lines` and `flame` run real Python programs from
 * test/fixtures (copied into a temporary working directory) through bin/leaktrail, and
 * every output is read back by an independent reader (protobufjs + profile.proto, ajv +
 * speedscope's schema, an XML parser).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import { XMLParser } from "fast-xml-parser";
import protobuf from "protobufjs";
import { afterAll, describe, expect, it } from "vitest";
import { parseFolded } from "../../src/profile/folded.js";
import type { SpeedscopeFile } from "../../src/profile/speedscope.js";
import { cliEnv, fixture, FIXTURES, markerLine } from "./helpers.js";

const BIN = fileURLToPath(new URL("../../bin/leaktrail", import.meta.url));
const PYTHON = "python3";
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "lt-prof-"));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...cliEnv(), ...env }, encoding: "utf8", timeout: 110_000 });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Folded stacks summed per function (inclusive, once per stack). */
function byFunction(folded: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [stack, [v]] of parseFolded(folded)) {
    for (const fn of new Set(stack.split(";").map((f) => f.replace(/ \(.*$/, "")))) out.set(fn, (out.get(fn) ?? 0) + (v ?? 0));
  }
  return out;
}

describe("leaktrail profile -- COMMAND", () => {
  const dir = tempDir();
  fixture(dir, "profile_hot.py");

  it("svg: the hot function dominates the CPU flame graph; output and exit status are the program's", () => {
    const r = cli(["profile", "-o", "out.svg", "--", PYTHON, "profile_hot.py"], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^hot result \d+\n$/);
    expect(r.stderr).toContain("to stderr\n");
    expect(r.stderr).toMatch(/leaktrail: 1 process, \d+ threads, \d+ ticks/);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (n) => n === "g" }).parse(readFileSync(join(dir, "out.svg"), "utf8")) as {
      svg: { g: Array<{ title: string; rect: { width: string } }> };
    };
    const width = (label: string) => doc.svg.g.filter((g) => String(g.title).startsWith(label)).reduce((a, g) => a + Number(g.rect.width), 0);
    const all = width("all ");
    expect(all).toBeGreaterThan(1000);
    expect(width("hot_spin (profile_hot.py)") / all).toBeGreaterThan(0.6);
    expect(width("napper (profile_hot.py)") / all).toBeLessThan(0.05); // asleep: no CPU
  });

  it("pprof: decodes against profile.proto; hot_spin's CPU exceeds all the rest; lines kept", () => {
    const r = cli(["profile", "-q", "-o", "out.pb.gz", "--", PYTHON, "profile_hot.py"], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toBe("to stderr\n");
    const Profile = protobuf.loadSync(join(FIXTURES, "profile", "profile.proto")).lookupType("perftools.profiles.Profile");
    const p = Profile.toObject(Profile.decode(gunzipSync(readFileSync(join(dir, "out.pb.gz")))), { longs: Number, arrays: true, defaults: true }) as {
      sampleType: Array<{ type: number }>;
      sample: Array<{ locationId: number[]; value: number[] }>;
      location: Array<{ id: number; line: Array<{ functionId: number; line: number }> }>;
      function: Array<{ id: number; name: number }>;
      stringTable: string[];
    };
    const str = p.stringTable;
    expect(p.sampleType.map((t) => str[t.type])).toEqual(["samples", "cpu"]);
    const fnName = new Map(p.function.map((f) => [f.id, str[f.name]]));
    const loc = new Map(p.location.map((l) => [l.id, l.line[0]!]));
    let hot = 0;
    let all = 0;
    const hotLines = new Set<number>();
    for (const s of p.sample) {
      const leaf = loc.get(s.locationId[0]!)!;
      all += s.value[1]!;
      if (fnName.get(leaf.functionId) === "hot_spin") {
        hot += s.value[1]!;
        hotLines.add(leaf.line);
      }
    }
    expect(hot / all).toBeGreaterThan(0.6);
    expect(hotLines.has(markerLine("profile_hot.py", "HOT-LINE"))).toBe(true);
  });

  // `go tool pprof` itself, where Go is installed (CI does not install it: protobufjs above
  // decodes the same file against profile.proto)
  const go = spawnSync("go", ["version"], { encoding: "utf8" }).status === 0;
  it.skipIf(!go)("pprof: go tool pprof reads it and puts hot_spin on top", () => {
    const r = spawnSync("go", ["tool", "pprof", "-top", join(dir, "out.pb.gz")], { encoding: "utf8", timeout: 110_000, env: { ...process.env, HOME: dir } });
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => /^\s+[\d.]+m?s\s/.test(l));
    expect(rows[0]).toMatch(/\shot_spin$/);
    expect(r.stdout).toContain("‹module›");
  });

  it("speedscope: valid against its schema; wall samples show the sleeping thread", () => {
    const r = cli(["profile", "-q", "-o", "out.speedscope.json", "--", PYTHON, "profile_hot.py"], dir);
    expect(r.code, r.stderr).toBe(3);
    const file = JSON.parse(readFileSync(join(dir, "out.speedscope.json"), "utf8")) as SpeedscopeFile;
    const schema = JSON.parse(readFileSync(join(FIXTURES, "profile", "speedscope-file-format-schema.json"), "utf8")) as object;
    const validate = new Ajv({ strict: false }).compile(schema);
    expect(validate(file), JSON.stringify(validate.errors)).toBe(true);
    const napper = file.profiles.find((p) => p.name.startsWith("samples (wall clock)") && p.name.endsWith(" napper"));
    expect(napper?.samples.length).toBeGreaterThan(0);
    expect(napper!.endValue).toBeGreaterThanOrEqual(10); // ~0.6 s asleep at 100 Hz
    expect(file.profiles[file.activeProfileIndex!]!.name).toMatch(/^CPU time — pid \d+ MainThread$/);
  });

  it("folded --value wall: the sleeping thread's stack has its share", () => {
    const r = cli(["profile", "-q", "--value", "wall", "-o", "out.folded", "--", PYTHON, "profile_hot.py"], dir);
    expect(r.code, r.stderr).toBe(3);
    const f = byFunction(readFileSync(join(dir, "out.folded"), "utf8"));
    expect(f.get("napper")).toBeGreaterThanOrEqual(10);
    expect(f.get("hot_spin")).toBeGreaterThan(0);
  });

  it("an unknown extension is one clear line and the program does not run", () => {
    const r = cli(["profile", "-o", "out.html", "--", PYTHON, "profile_hot.py"], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("leaktrail: profile: cannot tell the format of 'out.html' from its extension (use one of .speedscope.json, .pb.gz, .svg, .folded)\n");
  });

  it("a program that ends before the first tick: an empty profile, its exit status, a note", () => {
    const r = cli(["profile", "-o", "short.speedscope.json", "--", PYTHON, "-c", "import sys; sys.exit(7)"], dir);
    expect(r.code, r.stderr).toBe(7);
    // almost always no tick at all; a tick in interpreter shutdown may still catch a stack
    expect(r.stderr).toMatch(/no samples: the program ended before the first tick|[1-9]\d* stack samples/);
    expect(JSON.parse(readFileSync(join(dir, "short.speedscope.json"), "utf8")).shared).toBeDefined();
  });

  it("a command that does not exist: exit 127, one line", () => {
    const r = cli(["profile", "-o", "x.svg", "--", "no-such-command-lt"], dir);
    expect(r.code).toBe(127);
    expect(r.stderr.trim().split("\n")).toEqual(["leaktrail: profile: command not found: no-such-command-lt"]);
  });

  it("--memory: per function CPU, allocated and retained; the retaining function named", () => {
    fixture(dir, "lines_alloc.py");
    const r = cli(["profile", "--memory", "-o", "mem.speedscope.json", "--", PYTHON, "lines_alloc.py"], dir);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stdout).toBe("handled 2020000\n");
    expect(r.stderr).toMatch(/memory: [\d.]+ [kM]B retained at exit/);
    const row = r.stderr.split("\n").find((l) => / handle \(lines_alloc\.py/.test(l));
    expect(row, r.stderr).toBeDefined();
    const [, retained] = /\s([\d.]+) MB\s+handle/.exec(row!.replace(/\s+$/, "")) ?? [];
    expect(Number(retained)).toBeGreaterThanOrEqual(1.0); // 20 × 50 kB kept in CACHE
    const file = JSON.parse(readFileSync(join(dir, "mem.speedscope.json"), "utf8")) as SpeedscopeFile;
    expect(file.profiles.some((p) => p.name.startsWith("bytes retained") && p.unit === "bytes")).toBe(true);
  });

  it("multiprocessing: fork workers and a spawned child are profiled too, the program unharmed", () => {
    fixture(dir, "profile_mp.py");
    const r = cli(["profile", "-q", "-o", "mp.folded", "--", PYTHON, "profile_mp.py"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^children done \d+ 0\n$/);
    const stacks = [...parseFolded(readFileSync(join(dir, "mp.folded"), "utf8")).keys()];
    const withWork = new Set(stacks.filter((s) => s.includes("child_work")).map((s) => s.split(";")[0]));
    expect(withWork.size, stacks.join("\n")).toBeGreaterThanOrEqual(2); // a fork worker and the spawn child
  });
});

describe("leaktrail profile --pid", () => {
  it("samples a running process with gdb and leaves it as it was: no thread, tracemalloc off", async () => {
    const dir = tempDir();
    fixture(dir, "attach_busy.py");
    const target = spawn(PYTHON, ["attach_busy.py", "60"], { cwd: dir, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    target.stdout.on("data", (b: Buffer) => (out += b.toString("utf8")));
    const ended = new Promise<number | null>((res) => target.on("exit", (code) => res(code)));
    try {
      while (!out.includes("pid ")) await new Promise((r) => setTimeout(r, 50));
      const r = await new Promise<{ code: number | null; stderr: string }>((res) => {
        const c = spawn(process.execPath, [BIN, "profile", "--pid", String(target.pid), "--duration", "2", "--memory", "-o", "busy.folded"], { cwd: dir, env: cliEnv() });
        let stderr = "";
        c.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
        c.on("exit", (code) => res({ code, stderr }));
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/sampling process \d+ \(Python 3\.\d+\.\d+\) with (gdb|sys\.remote_exec) for 2 s/);
      const f = byFunction(readFileSync(join(dir, "busy.folded"), "utf8"));
      const all = [...f.values()].reduce((a, b) => Math.max(a, b), 0);
      expect(f.get("main")! / all).toBeGreaterThan(0.8);
      target.kill("SIGUSR1");
      expect(await ended).toBe(0);
      expect(out).toContain("tracing False\n");
      expect(out).toContain("threads 1 MainThread\n");
    } finally {
      target.kill("SIGKILL");
    }
  });
});

describe("leaktrail lines", () => {
  const dir = tempDir();
  fixture(dir, "lines_alloc.py");
  const line = (tag: string) => markerLine("lines_alloc.py", tag);

  function row(stderr: string, n: number): string[] {
    const found = stderr.split("\n").find((l) => new RegExp(`^\\s*${n}\\s`).test(l));
    expect(found, stderr).toBeDefined();
    return found!.trim().split(/\s{2,}/);
  }

  function bytes(s: string): number {
    const [v, u] = s.split(" ");
    return Number(v) * ({ B: 1, kB: 1e3, MB: 1e6, GB: 1e9 } as Record<string, number>)[u!]!;
  }

  it("the allocating, the freeing and the keeping line are told apart; output and status pass through", () => {
    const r = cli(["lines", "--function", "__main__:Store.handle", "--", PYTHON, "lines_alloc.py"], dir);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stdout).toBe("handled 2020000\n");
    expect(r.stderr).toMatch(/handle \(.*lines_alloc\.py:\d+\): 20 calls; tracemalloc, 16 frames/);
    const [, hits, allocated, , kept] = row(r.stderr, line("SCRATCH-LINE"));
    expect(Number(hits)).toBe(20);
    expect(bytes(allocated!)).toBeGreaterThanOrEqual(20 * 100_000);
    expect(bytes(kept!)).toBeLessThan(10_000); // freed when the call returned
    const keep = row(r.stderr, line("KEEP-LINE"));
    expect(bytes(keep[4]!)).toBeGreaterThanOrEqual(20 * 50_000);
    const build = row(r.stderr, line("BUILD-LINE"));
    expect(bytes(build[2]!)).toBeGreaterThan(20 * 1000 * 50); // build() allocated rows in a callee
    expect(bytes(build[4]!)).toBeLessThan(10_000);
  });

  it("by file path, with --json; a function that never ran is named", () => {
    const r = cli(["lines", "-q", "--json", "lines.json", "-f", "lines_alloc.py:build,lines_alloc.py:absent", "--", PYTHON, "lines_alloc.py"], dir);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toBe("leaktrail: lines: lines_alloc.py:absent never ran (check the module and function name; a method is Class.method)\n");
    const data = JSON.parse(readFileSync(join(dir, "lines.json"), "utf8")) as { processes: Array<{ functions: Array<{ name: string; calls: number }> }> };
    expect(data.processes[0]!.functions.map((f) => [f.name, f.calls])).toEqual([["build", 20]]);
  });

  it("a malformed --function is one clear line", () => {
    const r = cli(["lines", "--function", "justaname", "--", PYTHON, "lines_alloc.py"], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("leaktrail flame CAPTURE [--diff BASELINE]", () => {
  const dir = tempDir();
  fixture(dir, "flame_grow.py");
  const capture = (name: string, n: number) => {
    const r = cli(["run", "-q", "--trace", "full", "-o", name, "--", PYTHON, "flame_grow.py"], dir, { N: String(n) });
    expect(r.code, r.stderr).toBe(0);
  };

  it("memory by allocation stack, and what grew between two captures", () => {
    capture("small.ltcap", 500);
    capture("big.ltcap", 4000);
    let r = cli(["flame", "big.ltcap", "-o", "mem.folded"], dir);
    expect(r.code, r.stderr).toBe(0);
    const mem = byFunction(readFileSync(join(dir, "mem.folded"), "utf8"));
    expect(mem.get("render")).toBeGreaterThanOrEqual(4000 * 300);
    r = cli(["flame", "big.ltcap", "--diff", "small.ltcap", "-o", "diff.folded"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/grew → /);
    const diff = parseFolded(readFileSync(join(dir, "diff.folded"), "utf8"));
    const growth = [...diff].map(([stack, [before, after]]) => ({ stack, grew: after! - before! }));
    growth.sort((a, b) => b.grew - a.grew);
    expect(growth[0]!.stack).toMatch(/main \(flame_grow\.py\);render \(flame_grow\.py\)$/);
    expect(growth[0]!.grew).toBeGreaterThanOrEqual(3500 * 300);
    r = cli(["flame", "big.ltcap", "--diff", "small.ltcap", "-o", "diff.svg"], dir);
    expect(r.code, r.stderr).toBe(0);
    const svg = readFileSync(join(dir, "diff.svg"), "utf8");
    expect(() => new XMLParser().parse(svg)).not.toThrow();
    expect(svg).toMatch(/<title>render \(flame_grow\.py\) — [^<]*change \+/);
  });

  it("a file that is not a capture is one clear line", () => {
    const r = cli(["flame", "flame_grow.py", "-o", "x.svg"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^leaktrail: flame: .*not a leaktrail capture/);
  });
});
