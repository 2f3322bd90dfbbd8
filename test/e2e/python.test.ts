/**
 * Runs the agent's own unittest suite (test/agent) on every CPython the agent supports
 * and that CI machines have: 3.9, 3.11 and 3.13. A missing interpreter fails under CI and
 * is skipped elsewhere.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MINORS = [9, 11, 13];

function pyenvRoot(): string {
  const r = spawnSync("pyenv", ["root"], { encoding: "utf8" });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  return process.env.PYENV_ROOT ?? join(homedir(), ".pyenv");
}

/** True when `python` runs and is CPython 3.<minor>. */
function isVersion(python: string, minor: number): boolean {
  const r = spawnSync(python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8", timeout: 30_000 });
  return r.status === 0 && r.stdout.trim() === `3.${minor}`;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((x) => parseInt(x, 10) || 0);
  const pb = b.split(".").map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** `$(pyenv root)/versions/3.X.*\/bin/python3` (newest patch first), else `python3.X` on PATH. */
function findPython(minor: number): string | null {
  const versions = join(pyenvRoot(), "versions");
  let names: string[] = [];
  try {
    names = readdirSync(versions).filter((n) => n === `3.${minor}` || n.startsWith(`3.${minor}.`));
  } catch {
    // no pyenv
  }
  names.sort((a, b) => compareVersions(b, a));
  for (const name of names) {
    const python = join(versions, name, "bin", "python3");
    if (existsSync(python) && isVersion(python, minor)) return python;
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const python = join(dir, `python3.${minor}`);
    // a pyenv shim exists for every installed version but may refuse to run: check it runs
    if (existsSync(python) && isVersion(python, minor)) return python;
  }
  return null;
}

interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

function runToEnd(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    let error: Error | undefined;
    const timer = setTimeout(() => {
      error = new Error(`timed out after ${timeoutMs / 1000} s`);
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => (error = e));
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, error });
    });
  });
}

describe("agent unittest suite (test/agent) on each supported CPython", () => {
  for (const minor of MINORS) {
    const python = findPython(minor);
    const title = `python 3.${minor}${python ? ` (${python})` : ""}`;
    if (!python) {
      if (process.env.CI) {
        it(title, () => {
          expect.fail(`CPython 3.${minor} not found (looked in $(pyenv root)/versions/3.${minor}.* and for python3.${minor} on PATH); CI must have it`);
        });
      } else {
        it.skip(`${title}: not installed (looked in $(pyenv root)/versions/3.${minor}.* and for python3.${minor} on PATH)`, () => {});
      }
      continue;
    }
    it(title, async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: "python", PYTHONDONTWRITEBYTECODE: "1" };
      for (const k of Object.keys(env)) if (k.startsWith("LEAKTRAIL_")) delete env[k];
      // asynchronously: the suite takes a minute or more on a loaded machine, and a worker
      // blocked that long misses vitest's RPC deadline (see test/setup/spin-event-loop.ts)
      const r = await runToEnd(python, ["-m", "unittest", "discover", "-v", "-s", "test/agent", "-t", "test/agent"], env, 170_000);
      const output = `${r.stdout ?? ""}${r.stderr ?? ""}`;
      expect(r.error, output).toBeUndefined();
      expect(r.status, `unittest on ${python} failed:\n${output}`).toBe(0);
      // unittest prints its summary on stderr: the suite really ran, and passed
      const ran = /^Ran (\d+) tests? in /m.exec(r.stderr ?? "");
      expect(ran, output).not.toBeNull();
      expect(Number(ran?.[1]), output).toBeGreaterThanOrEqual(10);
      expect(r.stderr, output).toMatch(/^OK\b/m);
    }, 180_000);
  }
});
