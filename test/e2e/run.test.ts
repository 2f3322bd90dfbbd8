/**
 * End to end: the real CLI (bin/leaktrail, over dist/) runs real Python programs from
 * test/fixtures, copied into a temporary folder that is the CLI's working directory.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, markerLine, cliEnv } from "./helpers.js";
import { readCapture } from "../../src/capture/reader.js";
import type { Report } from "../../src/report/schema.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/leaktrail", import.meta.url));
const PYTHON = "python3";

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                   */
/* ---------------------------------------------------------------------------------------- */

const dirs: string[] = [];
const strays: number[] = []; // target pids that may outlive a failed test

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "lt-e2e-"));
  dirs.push(dir);
  return dir;
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

interface Running {
  child: ChildProcess;
  /** Resolves when the CLI process itself exits (its stdio may still be held by a grandchild). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Resolves when the CLI exited and every holder of its stdout/stderr closed them. */
  closed: Promise<Ended>;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first match of `re` in stdout (rejects after `ms`). */
  waitFor: (re: RegExp, ms: number) => Promise<RegExpMatchArray>;
}

/** Starts bin/leaktrail; a guard kills it after `guardMs` so that no test can hang. */
function start(args: string[], cwd: string, guardMs = 90_000): Running {
  const began = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters: Array<() => void> = [];
  child.stdout?.on("data", (b: Buffer) => {
    out.push(b);
    for (const w of waiters) w();
  });
  child.stderr?.on("data", (b: Buffer) => err.push(b));
  const guard = setTimeout(() => child.kill("SIGKILL"), guardMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((res) => {
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      res({ code, signal, ms: Date.now() - began });
    });
  });
  const closed = new Promise<Ended>((res) => {
    child.on("close", async () => {
      const e = await exited;
      res({ ...e, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
  const stdout = () => Buffer.concat(out).toString("utf8");
  const stderr = () => Buffer.concat(err).toString("utf8");
  const waitFor = (re: RegExp, ms: number) =>
    new Promise<RegExpMatchArray>((res, rej) => {
      const check = () => {
        const m = re.exec(stdout());
        if (m) {
          clearTimeout(timer);
          res(m);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => rej(new Error(`no ${re} on stdout within ${ms} ms; stdout: ${stdout()} stderr: ${stderr()}`)), ms);
      if (!check()) waiters.push(check);
    });
  return { child, exited, closed, stdout, stderr, waitFor };
}

async function cli(args: string[], cwd: string, guardMs?: number): Promise<Ended> {
  return start(args, cwd, guardMs).closed;
}

function readReport(path: string): Report {
  expect(existsSync(path), `report ${path} was not written`).toBe(true);
  return JSON.parse(readFileSync(path, "utf8")) as Report;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A user-facing error: exactly one line on stderr, starting "leaktrail:", no JS stack. */
function expectOneLineError(r: Ended, what: string): void {
  const text = r.stderr;
  expect(r.code, `${what}: exit status; stderr: ${text}`).not.toBe(0);
  expect(r.code, `${what}: exit status`).not.toBeNull();
  expect(text.startsWith("leaktrail:"), `${what}: stderr ${JSON.stringify(text)}`).toBe(true);
  expect(text.endsWith("\n"), `${what}: stderr ends with a newline`).toBe(true);
  expect(text.trimEnd().split("\n"), `${what}: stderr ${JSON.stringify(text)}`).toHaveLength(1);
  expect(text, what).not.toMatch(/^\s*at /m);
  expect(text, what).not.toMatch(/internal error/);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/* ---------------------------------------------------------------------------------------- */

beforeAll(() => {
  if (!existsSync(join(ROOT, "dist", "cli", "main.js"))) {
    const r = spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, `build failed:\n${r.stdout}${r.stderr}`).toBe(0);
  }
  const py = spawnSync(PYTHON, ["--version"], { encoding: "utf8" });
  expect(py.status, `${PYTHON} is needed on PATH for the e2e tests`).toBe(0);
});

afterAll(() => {
  for (const pid of strays) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("leaktrail run on real Python programs", () => {
  const LEAK_LINE = markerLine("leaky_cache.py", "LEAK-SITE");
  let live: { dir: string; report: Report; capture: string } | null = null;

  it("(a) finds the leak in a growing module-level cache: kind, file, exact line, type", async () => {
    const dir = tempDir();
    const prog = fixture(dir, "leaky_cache.py", "prog.py");
    const r = await cli(["run", "--json", "R.json", "--capture", "run.ltcap", "--", PYTHON, prog], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe("served 1728000 bytes from 600 pages\n");
    const report = readReport(join(dir, "R.json"));
    expect(report.schema).toBe("leaktrail.report/1");
    expect(report.verdict.leak, report.verdict.explanation).toBe(true);
    expect(report.verdict.kind).toBe("python-reachable");
    expect(report.suspects.length).toBeGreaterThan(0);
    const top = report.suspects[0]!;
    expect(top.site.file).toBe("prog.py");
    expect(top.site.line).toBe(LEAK_LINE);
    expect(top.site.function).toBe("render");
    expect(top.type).toBe("bytes");
    expect(top.count_growth).toBeGreaterThan(100);
    expect(report.run.exit_code).toBe(0);
    // the terminal summary went to stderr, with the capture's path
    expect(r.stderr).toMatch(/LEAK/);
    expect(r.stderr).toContain(`capture: ${join(dir, "run.ltcap")}`);
    live = { dir, report, capture: join(dir, "run.ltcap") };
  });

  it("(b) a steady program with a bounded cache is not a leak (and --fail-on-leak keeps its status 0)", async () => {
    const dir = tempDir();
    const prog = fixture(dir, "steady.py");
    const r = await cli(["run", "--fail-on-leak", "--json", "R.json", "--capture", "run.ltcap", "--", PYTHON, prog], dir);
    const report = readReport(join(dir, "R.json"));
    expect(report.verdict.leak, report.verdict.explanation).toBe(false);
    expect(report.verdict.kind).toBe("none");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe("served 1728000 bytes from 32 pages\n");
  });

  it("(c) passes the child's stdout through byte for byte and exits with the child's status", async () => {
    const dir = tempDir();
    const prog = fixture(dir, "passthrough.py");
    const expected = Buffer.concat([
      Buffer.from("line one\n"),
      Buffer.from("line two: tabs\there, unicode \u00fc\u00f1\u00ee\u2713 done\n", "utf8"),
      Buffer.from([0x72, 0x61, 0x77, 0x20, 0x00, 0x01, 0x7f, 0xfe, 0xff, 0x20, 0x62, 0x79, 0x74, 0x65, 0x73, 0x0d, 0x0a]),
      Buffer.from("count 0\ncount 1\ncount 2\n"),
      Buffer.from("no newline at the end"),
    ]);
    const direct = spawnSync(PYTHON, [prog], { cwd: dir, env: cliEnv() });
    expect(direct.status).toBe(3);
    expect(direct.stdout.equals(expected), `direct run printed ${JSON.stringify(direct.stdout.toString("latin1"))}`).toBe(true);

    const r = await cli(["run", "--json", "R.json", "--capture", "run.ltcap", "--", PYTHON, prog], dir);
    expect(r.stdout.equals(expected), `under leaktrail: ${JSON.stringify(r.stdout.toString("latin1"))}`).toBe(true);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain("a line to stderr\n");
    const report = readReport(join(dir, "R.json"));
    expect(report.run.exit_code).toBe(3);
    expect(report.processes).toHaveLength(1);
  });

  it("(c) --fail-on-leak exits 3 on the leaky program", async () => {
    const dir = tempDir();
    const prog = fixture(dir, "leaky_cache.py", "prog.py");
    const r = await cli(["run", "--fail-on-leak", "--quiet", "--json", "R.json", "--capture", "run.ltcap", "--", PYTHON, prog], dir);
    expect(r.code, r.stderr).toBe(3);
    expect(readReport(join(dir, "R.json")).verdict.leak).toBe(true);
    expect(r.stdout.toString()).toBe("served 1728000 bytes from 600 pages\n");
  });

  it("(e) report CAPTURE --json gives the live run's verdict and top suspect", async () => {
    expect(live, "test (a) did not produce a capture").not.toBeNull();
    const { dir, report, capture } = live!;
    const r = await cli(["report", capture, "--json", "R2.json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const again = readReport(join(dir, "R2.json"));
    expect(again.verdict.leak).toBe(report.verdict.leak);
    expect(again.verdict.kind).toBe(report.verdict.kind);
    expect(again.suspects[0]?.site).toEqual(report.suspects[0]?.site);
    expect(again.suspects[0]?.type).toBe(report.suspects[0]?.type);
    // the terminal summary goes to stdout for `report`
    expect(r.stdout.toString()).toMatch(/LEAK/);
  });
});

describe("leaktrail run: bad input gets one line, never a stack trace", () => {
  it("run with no command", async () => {
    const dir = tempDir();
    const r = await cli(["run"], dir);
    expectOneLineError(r, "run alone");
    expect(r.stderr).toMatch(/no command/);
  });

  it("a command that does not exist exits 127", async () => {
    const dir = tempDir();
    const r = await cli(["run", "--capture", "c.ltcap", "--", "leaktrail-no-such-command-xyz"], dir);
    expectOneLineError(r, "command not found");
    expect(r.code).toBe(127);
    expect(r.stderr).toContain("leaktrail-no-such-command-xyz");
  });

  it("report on a missing file, an empty file, a text file, a JSON file that is no capture", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "empty.ltcap"), "");
    writeFileSync(join(dir, "notes.txt"), "just some notes\nsecond line\n");
    writeFileSync(join(dir, "other.json"), '{"name": "not a capture"}\n');
    for (const file of ["missing.ltcap", "empty.ltcap", "notes.txt", "other.json"]) {
      const r = await cli(["report", file], dir);
      expectOneLineError(r, `report ${file}`);
      expect(r.stderr).toContain(file);
      expect(r.stdout.length, `report ${file} printed to stdout`).toBe(0);
    }
  });

  it("a command that runs no Python says so", async () => {
    const dir = tempDir();
    const r = await cli(["run", "--capture", "c.ltcap", "--", "true"], dir);
    expectOneLineError(r, "run -- true");
    expect(r.stderr).toContain("no Python process");
  });

  it("an unknown option", async () => {
    const dir = tempDir();
    const r = await cli(["run", "--no-such-option", "--", PYTHON, "-c", "pass"], dir);
    expectOneLineError(r, "unknown option");
    expect(r.stderr).toContain("--no-such-option");
    const r2 = await cli(["report", "--no-such-option", "x.ltcap"], dir);
    expectOneLineError(r2, "report: unknown option");
  });
});

describe("leaktrail run survives kill -9 and Ctrl-C", () => {
  const LEAK_LINE = markerLine("leak_forever.py", "LEAK-SITE");

  it("(f) kill -9 of the target: the report is still written, exit 137, the capture holds samples", async () => {
    const dir = tempDir();
    const prog = fixture(dir, "leak_forever.py");
    const run = start(["run", "--quiet", "--json", "R.json", "--capture", "run.ltcap", "--", PYTHON, prog, "60"], dir);
    const m = await run.waitFor(/^pid (\d+)$/m, 20_000);
    const pid = Number(m[1]);
    strays.push(pid);
    await sleep(3000);
    process.kill(pid, "SIGKILL");
    const r = await run.closed;
    expect(r.code, r.stderr).toBe(137);
    expect(r.ms).toBeLessThan(20_000);
    const report = readReport(join(dir, "R.json"));
    expect(report.run.signal).toBe("SIGKILL");
    expect(report.processes.map((p) => p.pid)).toContain(pid);
    const cap = readCapture(join(dir, "run.ltcap"));
    expect(cap.header.schema).toBe("leaktrail.capture/1");
    const samples = cap.records.filter((x) => x.k === "sample" && x.pid === pid);
    expect(samples.length).toBeGreaterThan(10);
    expect(cap.records.some((x) => x.k === "hello" && x.pid === pid)).toBe(true);
    const end = cap.records.find((x) => x.k === "child-exit");
    expect(end).toMatchObject({ k: "child-exit", code: null, signal: "SIGKILL" });
    // the agent never said goodbye: it was killed
    expect(cap.records.some((x) => x.k === "bye")).toBe(false);
  });

  it("(g) kill -9 of the CLI: the target finishes unharmed and the partial capture still reports the leak", async () => {
    const dir = tempDir();
    const prog = fixture(dir, "leak_forever.py");
    const marker = join(dir, "finished.txt");
    const run = start(["run", "--quiet", "--capture", "run.ltcap", "--", PYTHON, prog, "9", marker], dir);
    const began = Date.now();
    const m = await run.waitFor(/^pid (\d+)$/m, 20_000);
    const pid = Number(m[1]);
    strays.push(pid);
    await sleep(Math.max(0, 4000 - (Date.now() - began)));
    run.child.kill("SIGKILL");
    const e = await run.exited;
    expect(e.signal).toBe("SIGKILL");
    expect(pidAlive(pid), "the target died with the CLI").toBe(true);
    // the target carries on and reaches its end
    const deadline = Date.now() + 20_000;
    while (!existsSync(marker) && Date.now() < deadline) await sleep(100);
    expect(existsSync(marker), "the target never wrote its end marker").toBe(true);
    expect(readFileSync(marker, "utf8")).toMatch(/^finished \d+\n$/);
    await run.waitFor(/^done after \d+ records$/m, 5000);

    const r = await cli(["report", "run.ltcap", "--json", "R2.json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const report = readReport(join(dir, "R2.json"));
    expect(report.verdict.leak, report.verdict.explanation).toBe(true);
    expect(report.suspects[0]?.site).toMatchObject({ file: "leak_forever.py", line: LEAK_LINE });
    const cap = readCapture(join(dir, "run.ltcap"));
    expect(cap.records.some((x) => x.k === "child-exit")).toBe(false); // the CLI never saw the end
  });

  it("(i) Ctrl-C (SIGINT to the CLI) ends the run and still writes the report", async () => {
    const dir = tempDir();
    const prog = fixture(dir, "leak_forever.py");
    const run = start(["run", "--quiet", "--json", "R.json", "--capture", "run.ltcap", "--", PYTHON, prog, "120"], dir);
    const m = await run.waitFor(/^pid (\d+)$/m, 20_000);
    strays.push(Number(m[1]));
    await sleep(3000);
    const sent = Date.now();
    run.child.kill("SIGINT");
    const e = await run.exited;
    expect(Date.now() - sent, "the CLI took too long to stop").toBeLessThan(15_000);
    expect(e.code, run.stderr()).toBe(130);
    const report = readReport(join(dir, "R.json"));
    expect(report.run.stopped).toMatch(/Ctrl-C/);
    expect(report.processes.length).toBe(1);
    expect(report.processes[0]!.samples).toBeGreaterThan(10);
    const cap = readCapture(join(dir, "run.ltcap"));
    expect(cap.records.some((x) => x.k === "cli-stop")).toBe(true);
    expect(cap.records.some((x) => x.k === "child-exit")).toBe(true);
  });
});

describe("leaktrail run with multiprocessing", () => {
  it("(h) a fork-started Pool runs to completion with its output, and the report lists its processes", async () => {
    const dir = tempDir();
    const prog = fixture(dir, "pool_fork.py");
    const r = await cli(["run", "--quiet", "--json", "R.json", "--capture", "run.ltcap", "--", PYTHON, prog], dir);
    expect(r.code, r.stderr).toBe(0);
    // sum of n*n for n < 40 is 20540
    expect(r.stdout.toString()).toBe("squares: 20540\nfirst: [0, 1, 4, 9, 16]\n");
    expect(r.stderr).not.toMatch(/Traceback|Warning/);
    const report = readReport(join(dir, "R.json"));
    expect(report.processes.length, JSON.stringify(report.processes.map((p) => p.pid))).toBeGreaterThan(1);
    expect(new Set(report.processes.map((p) => p.pid)).size).toBe(report.processes.length);
  });
});
