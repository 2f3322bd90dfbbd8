/**
 * End to end, process trees: the real CLI over real forking Python programs — gunicorn
 * (from PyPI, in the test venv that test/setup/python-venv.ts makes) with workers that
 * are recycled while they leak, and a fork-started multiprocessing Pool. Every process is
 * its own series; the report groups them by role and finds the leak in the workers.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { fixture, markerLine, cliEnv } from "./helpers.js";
import type { Report } from "../../src/report/schema.js";
import type {} from "../setup/python-venv.js"; // the type of inject("pythonVenv")

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/leaktrail", import.meta.url));

const dirs: string[] = [];
const strays: number[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "lt-tree-"));
  dirs.push(dir);
  return dir;
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  closed: Promise<Ended>;
  stderr: () => string;
  /** Resolves with the first match of `re` in stderr (rejects after `ms`). */
  waitForStderr: (re: RegExp, ms: number) => Promise<RegExpMatchArray>;
}

/** Starts bin/leaktrail; a guard kills it after `guardMs` so that no test can hang. */
function start(args: string[], cwd: string, guardMs: number): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters: Array<() => boolean> = [];
  child.stdout?.on("data", (b: Buffer) => out.push(b));
  child.stderr?.on("data", (b: Buffer) => {
    err.push(b);
    for (const w of [...waiters]) if (w()) waiters.splice(waiters.indexOf(w), 1);
  });
  const guard = setTimeout(() => child.kill("SIGKILL"), guardMs);
  const closed = new Promise<Ended>((res) => {
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      res({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
  const stderr = () => Buffer.concat(err).toString("utf8");
  const waitForStderr = (re: RegExp, ms: number) =>
    new Promise<RegExpMatchArray>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no ${re} on stderr within ${ms} ms; stderr: ${stderr()}`)), ms);
      const check = () => {
        const m = re.exec(stderr());
        if (!m) return false;
        clearTimeout(timer);
        res(m);
        return true;
      };
      if (!check()) waiters.push(check);
    });
  return { child, closed, stderr, waitForStderr };
}

function readReport(path: string): Report {
  expect(existsSync(path), `report ${path} was not written`).toBe(true);
  return JSON.parse(readFileSync(path, "utf8")) as Report;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** One GET on 127.0.0.1; resolves with the status (0 when it failed). */
function get(port: number, path: string, agent: http.Agent): Promise<number> {
  return new Promise((res) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent, timeout: 10_000 }, (r) => {
      r.resume();
      r.on("end", () => res(r.statusCode ?? 0));
      r.on("error", () => res(0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => res(0));
  });
}

/**
 * A bounded load: `total` requests, paced over about `spreadMs` by `lanes` sequential
 * clients, never longer than `capMs` (a slow machine gets fewer, not a hung test).
 */
async function drive(port: number, total: number, spreadMs: number, lanes: number, capMs: number) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: lanes });
  const began = Date.now();
  let next = 0;
  let ok = 0;
  let failed = 0;
  const lane = async () => {
    while (next < total && Date.now() - began < capMs) {
      const i = next++;
      const due = began + (i * spreadMs) / total;
      if (due > Date.now()) await sleep(due - Date.now());
      if ((await get(port, `/page/${i}`, agent)) === 200) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  agent.destroy();
  return { ok, failed, ms: Date.now() - began };
}

/* ---------------------------------------------------------------------------------------- */

beforeAll(() => {
  if (!existsSync(join(ROOT, "dist", "cli", "main.js"))) {
    const r = spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status, `build failed:\n${r.stdout}${r.stderr}`).toBe(0);
  }
});

afterAll(() => {
  for (const pid of strays) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  if (!process.env.LEAKTRAIL_KEEP_TEST_DIRS) for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("leaktrail run on process trees", () => {
  it("gunicorn with recycled workers (--max-requests): groups master and workers, finds the leak in the workers", { timeout: 110_000 }, async () => {
    const venv = inject("pythonVenv");
    expect(venv.error, "the test venv (test/setup/python-venv.ts) could not be made").toBe("");
    const gunicorn = join(venv.bin, "gunicorn");
    expect(existsSync(gunicorn), `${gunicorn} is missing`).toBe(true);
    // gunicorn ≥ 25 opens a control socket in ~/.gunicorn: keep parallel runs apart
    const help = spawnSync(gunicorn, ["--help"], { encoding: "utf8" }).stdout ?? "";
    const noControl = help.includes("--no-control-socket") ? ["--no-control-socket"] : [];

    const dir = tempDir();
    const app = fixture(dir, "tree_gunicorn_app.py");
    const LEAK_LINE = markerLine(app, "LEAK-SITE");
    const port = await freePort();
    const run = start(
      [
        "run", "--quiet", "--json", "R.json", "--capture", "run.ltcap", "--",
        gunicorn, "-w", "2", "--max-requests", "600", "--max-requests-jitter", "100", "--bind", `127.0.0.1:${port}`,
        "--timeout", "60", "--graceful-timeout", "10", ...noControl, "tree_gunicorn_app:app",
      ],
      dir,
      100_000,
    );
    const listening = await run.waitForStderr(/Listening at: http:\/\/127\.0\.0\.1:\d+ \((\d+)\)/, 30_000);
    const master = Number(listening[1]);
    strays.push(master);
    // the workers boot after the master listens: wait until one answers
    const ready = Date.now();
    const probe = new http.Agent({ keepAlive: false });
    while ((await get(port, "/ready", probe)) !== 200) {
      expect(Date.now() - ready, `gunicorn never answered; stderr:\n${run.stderr()}`).toBeLessThan(30_000);
      await sleep(200);
    }
    probe.destroy();

    // ~55 requests a second per worker: a worker lives 11-13 s, long enough after its
    // warm-up for a verdict of its own even on a loaded machine, and 2200 requests recycle
    // at least one
    const load = await drive(port, 2200, 20_000, 3, 40_000);
    expect(load.failed, `requests failed; stderr:\n${run.stderr()}`).toBe(0);
    // 2 workers × at most 700 requests each (600 + jitter): at least one worker was recycled
    expect(load.ok, `only ${load.ok} requests in ${load.ms} ms`).toBeGreaterThan(1400);

    run.child.kill("SIGTERM"); // the CLI forwards it to gunicorn, which stops gracefully
    const r = await run.closed;
    expect(r.signal, r.stderr).toBeNull();
    // the CLI ends with 130 when it was stopped (run.ts), 128+15 would also be fair
    expect([130, 143], r.stderr).toContain(r.code);
    expect(r.stderr).not.toMatch(/Traceback/);

    const report = readReport(join(dir, "R.json"));
    expect(report.run.stopped).toMatch(/SIGTERM/);
    const pids = report.processes.map((p) => p.pid);
    expect(pids, "master and recycled workers").toContain(master);
    expect(pids.length, JSON.stringify(report.processes.map((p) => [p.pid, p.duration_s]))).toBeGreaterThanOrEqual(3);
    for (const p of report.processes) expect(p.agent_errors, `agent errors in pid ${p.pid}`).toEqual([]);

    const groups = report.groups ?? [];
    expect(groups.map((g) => g.name)).toEqual(["gunicorn", "gunicorn worker"]);
    const [root, workers] = groups as [NonNullable<Report["groups"]>[number], NonNullable<Report["groups"]>[number]];
    expect(root).toMatchObject({ role: "root", pids: [master], leaking: [] });
    expect(workers.role).toBe("children");
    expect(workers.parent).toBe("gunicorn");
    expect(workers.pids.length).toBeGreaterThanOrEqual(3); // recycled: more workers than -w 2
    expect(new Set([...workers.pids, master])).toEqual(new Set(pids));
    expect(workers.judged.length, "workers judged on their own series").toBeGreaterThanOrEqual(2);
    expect(workers.leak, report.verdict.explanation).toBe(true);
    expect(workers.leaking.length * 2).toBeGreaterThanOrEqual(workers.judged.length);
    expect(workers.top_site).toMatchObject({ file: app, line: LEAK_LINE });

    expect(report.verdict.leak, report.verdict.explanation).toBe(true);
    expect(report.verdict.kind).toBe("python-reachable");
    expect(report.verdict.explanation).toMatch(new RegExp(`^\\d+ of ${workers.judged.length} gunicorn worker processes leak at ${app.replace(".", "\\.")}:${LEAK_LINE} \\(bytes\\)`));
    const top = report.suspects[0];
    expect(top, report.verdict.explanation).toBeDefined();
    expect(top!.site).toMatchObject({ file: app, line: LEAK_LINE, function: "render" });
    expect(top!.type).toBe("bytes");
    expect(top!.pids?.length).toBeGreaterThanOrEqual(2);
    for (const pid of top!.pids ?? []) expect(workers.pids).toContain(pid);
  });

  it("a fork-started multiprocessing Pool whose workers leak: the pool workers are one group, judged, leaking at the marker", { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const prog = fixture(dir, "tree_pool.py");
    const LEAK_LINE = markerLine(prog, "LEAK-SITE");
    const run = start(["run", "--quiet", "--json", "R.json", "--capture", "run.ltcap", "--", "python3", prog], dir, 80_000);
    const r = await run.closed;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("rendered 1296000 bytes in 600 tasks\n");
    expect(r.stderr).not.toMatch(/Traceback/);

    const report = readReport(join(dir, "R.json"));
    expect(report.processes.length, JSON.stringify(report.processes.map((p) => [p.pid, p.argv]))).toBe(3);
    const groups = report.groups ?? [];
    expect(groups.map((g) => [g.name, g.role, g.pids.length])).toEqual([
      ["tree_pool.py", "root", 1],
      ["tree_pool.py worker", "children", 2],
    ]);
    const [root, workers] = groups as [NonNullable<Report["groups"]>[number], NonNullable<Report["groups"]>[number]];
    expect(root.leaking, report.verdict.explanation).toEqual([]);
    expect(workers.judged, "both pool workers ran ~6 s: long enough to judge").toEqual(workers.pids);
    expect(workers.leak, report.verdict.explanation).toBe(true);
    expect(workers.top_site).toMatchObject({ file: prog, line: LEAK_LINE, function: "work" });
    for (const pid of workers.pids) {
      expect(report.processes.find((p) => p.pid === pid)).toMatchObject({ ppid: root.pids[0], group: "tree_pool.py worker", judged: true });
    }

    expect(report.verdict.leak).toBe(true);
    expect(report.verdict.kind).toBe("python-reachable");
    expect(report.verdict.explanation).toMatch(/^\d of 2 tree_pool\.py worker processes leak/);
    const top = report.suspects[0]!;
    expect(top.site).toMatchObject({ file: prog, line: LEAK_LINE, function: "work" });
    expect(top.type).toBe("bytes");
    expect(top.pids?.length).toBeGreaterThanOrEqual(1);
    for (const pid of top.pids ?? []) expect(workers.pids).toContain(pid);
    expect(top.pid).toBe(top.pids?.[0]);
  });
});
