/**
 * `leaktrail attach PID` on real processes: a leaky program started with plain python3 (not
 * under leaktrail) is joined midway, its leak found, and it must run on afterwards exactly
 * as before — no agent thread, tracemalloc off, nothing of ours on sys.path, no files left.
 * Plus the one-line errors, and the version detection that picks gdb or sys.remote_exec.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, markerLine } from "./helpers.js";
import { readCapture } from "../../src/capture/reader.js";
import type { Report } from "../../src/report/schema.js";
import {
  AttachError,
  injectionMethod,
  parsePid,
  parseVersionOutput,
  pythonVersionFromNames,
  remoteExecPython,
  type TargetInfo,
} from "../../src/collect/attach-proc.js";
import { attachSource, detachSource, execString } from "../../src/collect/attach-code.js";
import { injectWithRemoteExec } from "../../src/collect/attach-remote.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/leaktrail", import.meta.url));
const PYTHON = "python3";
const IN_CI = !!process.env.CI;

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                   */
/* ---------------------------------------------------------------------------------------- */

const dirs: string[] = [];
const strays: number[] = [];

function tempDir(prefix = "lt-attach-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONIOENCODING: "utf-8" };
  for (const k of Object.keys(env)) if (k.startsWith("LEAKTRAIL_")) delete env[k];
  delete env.PYTHONPATH;
  delete env.PYTHONTRACEMALLOC;
  return { ...env, ...extra };
}

interface Proc {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first match of `re` in the stream (rejects after `ms`). */
  waitFor: (re: RegExp, ms: number, stream?: "stdout" | "stderr") => Promise<RegExpMatchArray>;
  /** Resolves when the process has exited and its pipes are closed. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

function startProc(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number; guardMs?: number }): Proc {
  const began = Date.now();
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv(), stdio: ["ignore", "pipe", "pipe"], uid: opts.uid, gid: opts.gid });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters = new Set<() => void>();
  const poke = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout?.on("data", (b: Buffer) => {
    out.push(b);
    poke();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err.push(b);
    poke();
  });
  const guard = setTimeout(() => child.kill("SIGKILL"), opts.guardMs ?? 110_000);
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((res) => {
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      res({ code, signal, ms: Date.now() - began });
    });
  });
  const stdout = () => Buffer.concat(out).toString("utf8");
  const stderr = () => Buffer.concat(err).toString("utf8");
  const waitFor = (re: RegExp, ms: number, stream: "stdout" | "stderr" = "stdout") =>
    new Promise<RegExpMatchArray>((res, rej) => {
      const check = () => {
        const m = re.exec(stream === "stdout" ? stdout() : stderr());
        if (!m) return;
        clearTimeout(timer);
        waiters.delete(check);
        res(m);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        rej(new Error(`no ${re} on ${stream} within ${ms} ms; stdout: ${stdout()} stderr: ${stderr()}`));
      }, ms);
      waiters.add(check);
      check();
    });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  return { child, pid: child.pid, stdout, stderr, waitFor, closed };
}

/** Starts a Python fixture (plain, not under leaktrail); resolves once it printed its pid. */
async function startTarget(python: string, args: string[], cwd: string): Promise<Proc> {
  const p = startProc(python, args, { cwd });
  const m = await p.waitFor(/^pid (\d+)$/m, 20_000);
  expect(Number(m[1]), "the fixture's own pid (python3 may be a shim that execs)").toBe(p.pid);
  strays.push(p.pid);
  return p;
}

async function cli(args: string[], cwd: string, env?: NodeJS.ProcessEnv, ids?: { uid: number; gid: number }) {
  const p = startProc(process.execPath, [BIN, ...args], { cwd, env: env ?? cleanEnv(), uid: ids?.uid, gid: ids?.gid, guardMs: 100_000 });
  const end = await p.closed;
  return { ...end, stdout: p.stdout(), stderr: p.stderr() };
}

function readReport(path: string): Report {
  expect(existsSync(path), `report ${path} was not written`).toBe(true);
  return JSON.parse(readFileSync(path, "utf8")) as Report;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectOneLineError(r: { code: number | null; stderr: string }, what: string): void {
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
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/** Threads of a live process, and how many sockets it holds open besides its stdio (pipes from node). */
function liveState(pid: number): { threads: number; sockets: number } {
  const threads = readdirSync(`/proc/${pid}/task`).length;
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    if (Number(fd) <= 2) continue;
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) sockets++;
    } catch {
      // closed meanwhile
    }
  }
  return { threads, sockets };
}

function countTicks(text: string): number {
  return (text.match(/^tick \d+/gm) ?? []).length;
}

/** The interpreter of a pyenv version X.Y (newest patch), or null. */
function pyenvPython(minor: string): string | null {
  const root = join(process.env.PYENV_ROOT ?? join(homedir(), ".pyenv"), "versions");
  if (!existsSync(root)) return null;
  const re = new RegExp(`^${minor.replace(".", "\\.")}\\.(\\d+)$`);
  const found = readdirSync(root)
    .flatMap((v) => {
      const m = re.exec(v);
      return m ? [{ v, patch: Number(m[1]) }] : [];
    })
    .sort((a, b) => b.patch - a.patch);
  for (const { v } of found) {
    const py = join(root, v, "bin", "python3");
    if (existsSync(py)) return py;
  }
  return null;
}

const LEAKY = "attach_leaky.py";
const LEAK_LINE = markerLine(LEAKY, "LEAK-SITE");
/** Every line the leaky fixture may print: anything else came from somewhere else. */
const LEAKY_LINE = /^(pid \d+|tick \d+ pages \d+|served \d+ bytes from \d+ pages|tracing (True|False)|threads \d+ .*|gc callbacks \d+|agent on sys\.path (True|False)|done)$/;

/** Ends a leaky fixture through its stop file; checks it ended well and left nothing of ours. */
async function endCleanly(target: Proc, stopFile: string): Promise<void> {
  writeFileSync(stopFile, "");
  const end = await Promise.race([target.closed, sleep(15_000).then(() => null)]);
  expect(end, "the target did not end after its stop file appeared").not.toBeNull();
  expect(end!.code, target.stderr()).toBe(0);
  const out = target.stdout();
  expect(out).toMatch(/^served \d+ bytes from \d+ pages$/m);
  expect(out).toMatch(/^tracing False$/m);
  expect(out).toMatch(/^threads 1 MainThread$/m); // no thread named leaktrail-agent
  expect(out).not.toMatch(/leaktrail-agent/);
  expect(out).toMatch(/^gc callbacks 0$/m);
  expect(out).toMatch(/^agent on sys\.path False$/m);
  expect(out).toMatch(/^done$/m);
  for (const line of out.trimEnd().split("\n")) expect(line, "a line the program did not print").toMatch(LEAKY_LINE);
  expect(target.stderr(), "the target's stderr").toBe("");
}

/* ---------------------------------------------------------------------------------------- */

beforeAll(() => {
  if (!existsSync(join(ROOT, "dist", "cli", "main.js")) || !existsSync(join(ROOT, "dist", "cli", "attach.js"))) {
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

/* ---------------------------------------------------------------------------------------- */

describe("attach: which way in (no process needed)", () => {
  it("reads the Python version from the executable's and the libraries' names", () => {
    const maps311 = "7f00-7f10 r-xp 00000000 08:01 42 /root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0\n";
    expect(pythonVersionFromNames("/usr/bin/python3.14", "")).toEqual({ version: { major: 3, minor: 14 }, from: "python3.14" });
    expect(pythonVersionFromNames("/opt/py/bin/python3.14t", "")?.version).toEqual({ major: 3, minor: 14 });
    expect(pythonVersionFromNames("/usr/bin/uwsgi", "7f-7f r-xp 0 0:0 1 /usr/lib/x86_64-linux-gnu/libpython3.14.so.1.0\n")?.version).toEqual({ major: 3, minor: 14 });
    expect(pythonVersionFromNames("/usr/bin/python3.11", maps311)).toEqual({ version: { major: 3, minor: 11 }, from: "libpython3.11.so.1.0" });
    expect(pythonVersionFromNames("/x/bin/python3.13", "")?.version).toEqual({ major: 3, minor: 13 });
    expect(pythonVersionFromNames("/x/bin/python3.8", "")?.version).toEqual({ major: 3, minor: 8 });
    expect(pythonVersionFromNames("/usr/bin/python2.7", "")?.version).toEqual({ major: 2, minor: 7 });
    expect(pythonVersionFromNames("/usr/bin/python3.10d", "")?.version).toEqual({ major: 3, minor: 10 });
    // a venv's `python` resolves to its real file; without a versioned name an extension module tells
    expect(pythonVersionFromNames("/srv/app/python", "7f-7f r-xp 0 0:0 1 /srv/app/lib/python3.12/lib-dynload/_json.cpython-312-x86_64-linux-gnu.so\n")?.version).toEqual({
      major: 3,
      minor: 12,
    });
    expect(pythonVersionFromNames("/usr/bin/python", "")).toBeNull();
    expect(pythonVersionFromNames("/usr/bin/sleep", "7f-7f r-xp 0 0:0 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n")).toBeNull();
    expect(parseVersionOutput("3.14")).toEqual({ major: 3, minor: 14 });
    expect(parseVersionOutput("(3, 9)\n")).toEqual({ major: 3, minor: 9 });
    expect(parseVersionOutput("Python 3.9")).toBeNull();
  });

  it("takes sys.remote_exec from 3.14 on, gdb before (and when the version is unknown)", () => {
    expect(injectionMethod({ major: 3, minor: 14 })).toBe("remote-exec");
    expect(injectionMethod({ major: 3, minor: 15 })).toBe("remote-exec");
    expect(injectionMethod({ major: 4, minor: 0 })).toBe("remote-exec");
    expect(injectionMethod({ major: 3, minor: 13 })).toBe("gdb");
    expect(injectionMethod({ major: 3, minor: 9 })).toBe("gdb");
    expect(injectionMethod(null)).toBe("gdb");
  });

  it("finds a python3.14 to call sys.remote_exec with: the target's own, or the one beside its libpython", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "bin"));
    mkdirSync(join(dir, "lib"));
    const py = join(dir, "bin", "python3.14");
    writeFileSync(py, "#!/bin/sh\n");
    chmodSync(py, 0o755);
    const base: TargetInfo = { pid: 1, exe: py, exeDeleted: false, libpython: null, version: { major: 3, minor: 14 }, versionFrom: "python3.14", uid: 0, gid: 0 };
    expect(remoteExecPython(base)).toBe(py);
    const embedded = { ...base, exe: "/usr/bin/uwsgi", libpython: join(dir, "lib", "libpython3.14.so.1.0") };
    expect(remoteExecPython(embedded)).toBe(py);
  });

  it("parses process ids strictly", () => {
    expect(parsePid("1234")).toBe(1234);
    for (const bad of ["abc", "12x", "-5", "1.5", "", "0", "99999999999"]) {
      expect(() => parsePid(bad), bad).toThrow(AttachError);
    }
  });

  it("the injected code compiles on this python3, and the gdb line carries no quote or backslash", () => {
    const src = attachSource({ agentDir: "/a 'b\"/python", socketPath: "/tmp/x/agent.sock", statusPath: "/tmp/x/s.json", frames: 16, interval: 0.1 });
    const det = detachSource({ agentDir: "/a 'b\"/python", statusPath: "/tmp/x/d.json" });
    for (const s of [src, det]) {
      const r = spawnSync(PYTHON, ["-c", "import sys; compile(sys.stdin.read(), '<leaktrail>', 'exec')"], { input: s, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(execString(s)).not.toMatch(/["\\]/);
    }
  });

  it("sys.remote_exec path: reads the script's status; maps a refusal to a permission error", async () => {
    const dir = tempDir();
    // stands in for python3.14: runs the script itself (in its own process, not the target)
    const fake = join(dir, "python3.14");
    writeFileSync(fake, `#!/bin/sh\n# -I -c CALL PID SCRIPT\nexec ${PYTHON} "$5"\n`);
    chmodSync(fake, 0o755);
    const script = join(dir, "attach.py");
    const statusPath = join(dir, "status.json");
    writeFileSync(script, attachSource({ agentDir: join(ROOT, "python"), socketPath: join(dir, "gone.sock"), statusPath, frames: 16, interval: 0.1 }));
    const status = await injectWithRemoteExec({ python: fake, pid: 1, scriptPath: script, statusPath, timeoutMs: 10_000 });
    expect(status).toMatchObject({ ok: false, error: "leaktrail's socket is gone" });

    const refusing = join(dir, "refusing");
    writeFileSync(refusing, "#!/bin/sh\necho 'PermissionError: [Errno 1] Operation not permitted' >&2\nexit 1\n");
    chmodSync(refusing, 0o755);
    await expect(injectWithRemoteExec({ python: refusing, pid: 1, scriptPath: script, statusPath: join(dir, "s2.json") })).rejects.toMatchObject({
      kind: "permission",
    });
  });
});

describe("attach to a running program", () => {
  it("(1) finds the leak in a program started without leaktrail, which then runs on as before", async () => {
    const dir = tempDir();
    const prog = fixture(dir, LEAKY);
    const stopFile = join(dir, "stop");
    const target = await startTarget(PYTHON, [prog, "60", stopFile], dir);
    await target.waitFor(/^tick 1 /m, 5000);
    const cliTmp = tempDir("lt-attach-tmp-"); // the CLI's TMPDIR: its socket folder goes here
    const r = await cli(["attach", String(target.pid), "--duration", "8", "--json", "R.json", "-o", "cap.ltcap"], dir, cleanEnv({ TMPDIR: cliTmp }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms, "attach --duration 8 took too long").toBeLessThan(25_000);

    const report = readReport(join(dir, "R.json"));
    expect(report.verdict.leak, report.verdict.explanation).toBe(true);
    expect(report.verdict.kind).toBe("python-reachable");
    expect(report.suspects.length).toBeGreaterThan(0);
    const top = report.suspects[0]!;
    const ranked = JSON.stringify(report.suspects.slice(0, 3).map((s) => [s.site, s.type, s.count_growth, s.size_growth_bytes, s.type_evidence]));
    expect(top.site.file, ranked).toBe(LEAKY);
    expect(top.site.line, ranked).toBe(LEAK_LINE);
    expect(top.site.function).toBe("render");
    expect(top.type).toBe("bytes");
    expect(report.run.command).toEqual(["attach", String(target.pid)]);
    expect(report.processes.map((p) => p.pid)).toEqual([target.pid]);
    expect(r.stderr).toMatch(/LEAK/);
    expect(r.stderr).toContain(`capture: ${join(dir, "cap.ltcap")}`);
    const cap = readCapture(join(dir, "cap.ltcap"));
    expect(cap.header.command).toEqual(["attach", String(target.pid)]);
    expect(cap.records.filter((x) => x.k === "sample").length).toBeGreaterThan(30);
    expect(cap.records.some((x) => x.k === "bye" && x.pid === target.pid), "the agent said goodbye on detach").toBe(true);

    // the target runs on: alive, printing, with only its own thread and no socket of ours
    expect(pidAlive(target.pid), "the target died").toBe(true);
    expect(liveState(target.pid)).toEqual({ threads: 1, sockets: 0 });
    const ticks = countTicks(target.stdout());
    await sleep(2500);
    expect(countTicks(target.stdout()), "the target stopped printing after detach").toBeGreaterThanOrEqual(ticks + 2);
    expect(readdirSync(cliTmp).filter((f) => f.startsWith("leaktrail-")), "leaktrail left files in its TMPDIR").toEqual([]);
    await endCleanly(target, stopFile);
  });

  it("Ctrl-C ends the collection early: the agent still comes out, the report is written, exit 130", async () => {
    const dir = tempDir();
    const prog = fixture(dir, LEAKY);
    const stopFile = join(dir, "stop");
    const target = await startTarget(PYTHON, [prog, "60", stopFile], dir);
    const cliTmp = tempDir("lt-attach-tmp-");
    const run = startProc(process.execPath, [BIN, "attach", String(target.pid), "--duration", "60", "--json", "R.json", "-o", "cap.ltcap"], {
      cwd: dir,
      env: cleanEnv({ TMPDIR: cliTmp }),
    });
    await run.waitFor(/attached to process \d+/, 20_000, "stderr");
    await sleep(2500);
    const sent = Date.now();
    run.child.kill("SIGINT");
    const end = await run.closed;
    expect(Date.now() - sent, "the CLI took too long to stop").toBeLessThan(15_000);
    expect(end.code, run.stderr()).toBe(130);
    const report = readReport(join(dir, "R.json"));
    expect(report.run.stopped).toMatch(/Ctrl-C/);
    expect(report.processes[0]!.samples).toBeGreaterThan(10);
    expect(pidAlive(target.pid)).toBe(true);
    expect(liveState(target.pid)).toEqual({ threads: 1, sockets: 0 });
    expect(readdirSync(cliTmp).filter((f) => f.startsWith("leaktrail-"))).toEqual([]);
    await endCleanly(target, stopFile);
  });

  it("a process that ends while attached ends the collection; the report covers it", async () => {
    const dir = tempDir();
    const prog = fixture(dir, LEAKY);
    const target = await startTarget(PYTHON, [prog, "5"], dir);
    const cliTmp = tempDir("lt-attach-tmp-");
    const r = await cli(["attach", String(target.pid), "--duration", "60", "--json", "R.json", "-o", "cap.ltcap"], dir, cleanEnv({ TMPDIR: cliTmp }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms, "attach waited for its --duration although the process had ended").toBeLessThan(20_000);
    expect(r.stderr).toContain(`process ${target.pid} ended while leaktrail was attached`);
    const t = await target.closed;
    expect(t.code).toBe(0);
    expect(target.stdout()).toMatch(/^done$/m);
    expect(target.stderr()).toBe("");
    const report = readReport(join(dir, "R.json"));
    expect(report.processes.map((p) => p.pid)).toEqual([target.pid]);
    const cap = readCapture(join(dir, "cap.ltcap"));
    expect(cap.records.some((x) => x.k === "bye" && x.pid === target.pid), "the agent's goodbye from atexit").toBe(true);
    expect(readdirSync(cliTmp).filter((f) => f.startsWith("leaktrail-"))).toEqual([]);
  });
});

describe("attach where the main thread gives no easy way in", () => {
  it("main thread blocked for good in a lock wait (a server's main thread): injected while blocked", async () => {
    const name = "attach_blocked.py";
    const dir = tempDir();
    const prog = fixture(dir, name);
    const stopFile = join(dir, "stop");
    const target = await startTarget(PYTHON, [prog, "60", stopFile], dir);
    await target.waitFor(/^tick 1 /m, 5000);
    const r = await cli(["attach", String(target.pid), "--duration", "5", "--json", "R.json", "-o", "cap.ltcap"], dir, cleanEnv({ LEAKTRAIL_DEBUG: "1" }));
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    // both ways (in and out) went through the blocked main thread
    expect(r.stderr.match(/PyRun_SimpleString returned 0 \(at blocked main thread\)/g)?.length, r.stderr.slice(-2000)).toBe(2);
    const report = readReport(join(dir, "R.json"));
    expect(report.verdict.leak, report.verdict.explanation).toBe(true);
    expect(report.suspects[0]?.site).toMatchObject({ file: name, line: markerLine(name, "LEAK-SITE"), function: "work" });
    expect(report.suspects[0]?.type).toBe("bytes");
    expect(pidAlive(target.pid)).toBe(true);
    expect(liveState(target.pid)).toEqual({ threads: 2, sockets: 0 }); // main and worker
    const ticks = countTicks(target.stdout());
    await sleep(1500);
    expect(countTicks(target.stdout())).toBeGreaterThan(ticks);
    writeFileSync(stopFile, "");
    const end = await target.closed;
    expect(end.code, target.stderr()).toBe(0);
    expect(target.stdout()).toMatch(/^tracing False\nthreads 1 MainThread\ngc callbacks 0\ndone\n$/m); // the worker has ended
    expect(target.stderr()).toBe("");
  });

  it("main thread computing without ever blocking: caught at a check of the eval loop", async () => {
    const name = "attach_busy.py";
    const dir = tempDir();
    const prog = fixture(dir, name);
    const target = await startTarget(PYTHON, [prog, "60"], dir);
    await sleep(500);
    const r = await cli(["attach", String(target.pid), "--duration", "5", "--json", "R.json", "-o", "cap.ltcap"], dir, cleanEnv({ LEAKTRAIL_DEBUG: "1" }));
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr.match(/PyRun_SimpleString returned 0 \(at PyErr_CheckSignals\)/g)?.length, r.stderr.slice(-2000)).toBe(2);
    const report = readReport(join(dir, "R.json"));
    expect(report.verdict.leak, report.verdict.explanation).toBe(true);
    expect(report.suspects[0]?.site).toMatchObject({ file: name, line: markerLine(name, "LEAK-SITE") });
    expect(report.suspects[0]?.type).toBe("str");
    expect(pidAlive(target.pid)).toBe(true);
    expect(liveState(target.pid)).toEqual({ threads: 1, sockets: 0 });
    process.kill(target.pid, "SIGUSR1");
    const end = await target.closed;
    expect(end.code, target.stderr()).toBe(0);
    expect(target.stdout()).toMatch(/^kept \d+\ntracing False\nthreads 1 MainThread\ngc callbacks 0\ndone\n$/m);
    expect(target.stderr()).toBe("");
  });
});

describe.concurrent("attach on other CPython versions (pyenv)", () => {
  for (const minor of ["3.9", "3.13"]) {
    const py = pyenvPython(minor);
    it.skipIf(!py && !IN_CI)(`CPython ${minor}: finds the leak and leaves the process as it was`, async () => {
      expect(py, `CPython ${minor} is needed under ~/.pyenv/versions in CI`).not.toBeNull();
      const dir = tempDir();
      const prog = fixture(dir, LEAKY);
      const stopFile = join(dir, "stop");
      const target = await startTarget(py!, [prog, "60", stopFile], dir);
      await target.waitFor(/^tick 1 /m, 5000);
      const cliTmp = tempDir("lt-attach-tmp-");
      const r = await cli(["attach", String(target.pid), "--duration", "7", "--quiet", "--json", "R.json", "-o", "cap.ltcap"], dir, cleanEnv({ TMPDIR: cliTmp }));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr, "--quiet prints nothing").toBe("");
      const report = readReport(join(dir, "R.json"));
      expect(report.processes[0]?.python.startsWith(`${minor}.`), report.processes[0]?.python).toBe(true);
      expect(report.verdict.leak, report.verdict.explanation).toBe(true);
      expect(report.verdict.kind).toBe("python-reachable");
      expect(report.suspects[0]?.site).toMatchObject({ file: LEAKY, line: LEAK_LINE });
      expect(report.suspects[0]?.type).toBe("bytes");
      expect(pidAlive(target.pid)).toBe(true);
      expect(liveState(target.pid)).toEqual({ threads: 1, sockets: 0 });
      expect(readdirSync(cliTmp).filter((f) => f.startsWith("leaktrail-"))).toEqual([]);
      await endCleanly(target, stopFile);
    });
  }
});

describe("attach: what cannot be attached to gets one line, never a stack trace", () => {
  it("a process that does not exist", async () => {
    let pid = 999_999;
    while (existsSync(`/proc/${pid}`)) pid++;
    const r = await cli(["attach", String(pid)], tempDir());
    expectOneLineError(r, "no such pid");
    expect(r.stderr).toContain("no such process");
    expect(r.stderr).toContain(String(pid));
  });

  it("a process that is not Python (sleep)", async () => {
    const dir = tempDir();
    const sleeper = startProc("sleep", ["30"], { cwd: dir });
    strays.push(sleeper.pid);
    await sleep(200); // exec'd by now
    const r = await cli(["attach", String(sleeper.pid)], dir);
    sleeper.child.kill("SIGKILL");
    expectOneLineError(r, "sleep");
    expect(r.stderr).toContain("not a Python process");
    expect(r.stderr).toContain("sleep");
  });

  it("a process id that is not a number, or none at all", async () => {
    const dir = tempDir();
    for (const args of [["abc"], ["12x"], ["--", "-5"], []]) {
      const r = await cli(["attach", ...args], dir);
      expectOneLineError(r, `attach ${args.join(" ")}`);
      expect(r.code).toBe(2);
    }
  });

  const py38 = pyenvPython("3.8");
  it.skipIf(!py38)("a Python that is too old (3.8)", async () => {
    const dir = tempDir();
    const old = startProc(py38!, ["-c", "import os, time; print('pid %d' % os.getpid(), flush=True); time.sleep(30)"], { cwd: dir });
    strays.push(old.pid);
    await old.waitFor(/^pid \d+$/m, 10_000);
    const r = await cli(["attach", String(old.pid)], dir);
    old.child.kill("SIGKILL");
    expectOneLineError(r, "python 3.8");
    expect(r.stderr).toContain("Python 3.8");
    expect(r.stderr).toContain("3.9 or newer");
  });

  describe("with a Python target", () => {
    let target: Proc | null = null;
    let dir = "";
    beforeAll(async () => {
      dir = tempDir();
      const prog = fixture(dir, LEAKY);
      target = await startTarget(PYTHON, [prog, "60", join(dir, "stop")], dir);
    });
    afterAll(() => {
      target?.child.kill("SIGKILL");
    });

    it("gdb missing: says to install it", async () => {
      const empty = tempDir();
      const r = await cli(["attach", String(target!.pid)], dir, cleanEnv({ PATH: empty }));
      expectOneLineError(r, "no gdb");
      expect(r.stderr).toContain("gdb");
      expect(r.stderr).toContain("apt-get install gdb");
    });

    it("ptrace refused (gdb says 'ptrace: Operation not permitted'): no permission to trace", async () => {
      const bin = tempDir();
      writeFileSync(join(bin, "gdb"), "#!/bin/sh\necho 'ptrace: Operation not permitted.'\nexit 1\n");
      chmodSync(join(bin, "gdb"), 0o755);
      const r = await cli(["attach", String(target!.pid)], dir, cleanEnv({ PATH: `${bin}:${process.env.PATH ?? ""}` }));
      expectOneLineError(r, "ptrace refused");
      expect(r.stderr).toContain("no permission to trace");
      expect(r.stderr).toContain("Operation not permitted");
    });

    it.skipIf(process.getuid?.() !== 0)("another user's process (run as nobody): no permission", async () => {
      const r = await cli(["attach", String(target!.pid)], "/", cleanEnv({ HOME: "/" }), { uid: 65534, gid: 65534 });
      expectOneLineError(r, "as nobody");
      expect(r.stderr).toContain("no permission");
    });

    it("the target ran none of this: still one thread, no tracemalloc, nothing imported", async () => {
      expect(pidAlive(target!.pid)).toBe(true);
      expect(liveState(target!.pid)).toEqual({ threads: 1, sockets: 0 });
      await endCleanly(target!, join(dir, "stop"));
      target = null;
    });
  });

  it("the injected line fails (PyRun_SimpleString returned -1): says so; the program runs on", async () => {
    const dir = tempDir();
    const prog = fixture(dir, "attach_shadowed.py");
    const stopFile = join(dir, "stop");
    const target = await startTarget(PYTHON, [prog, "60", stopFile], dir);
    const cliTmp = tempDir("lt-attach-tmp-");
    const r = await cli(["attach", String(target.pid), "-o", "cap.ltcap"], dir, cleanEnv({ TMPDIR: cliTmp }));
    expectOneLineError(r, "shadowed exec");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("PyRun_SimpleString returned -1");
    expect(existsSync(join(dir, "cap.ltcap")), "a capture with nothing but its header was left").toBe(false);
    expect(readdirSync(cliTmp)).toEqual([]);
    expect(pidAlive(target.pid)).toBe(true);
    const ticks = countTicks(target.stdout());
    await sleep(1500);
    expect(countTicks(target.stdout())).toBeGreaterThan(ticks);
    writeFileSync(stopFile, "");
    const end = await target.closed;
    expect(end.code).toBe(0);
    const out = target.stdout();
    expect(out).toMatch(/^tracing False$/m);
    expect(out).toMatch(/^threads 1 MainThread$/m);
    expect(out).toMatch(/^leaktrail imported False$/m);
    // PyRun_SimpleString printed the failure on the program's stderr, as CPython does
    expect(target.stderr()).toContain("'NoneType' object is not callable");
  });
});
