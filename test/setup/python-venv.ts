/**
 * vitest globalSetup: a test-only Python virtualenv, `.venv-test` at the repository root,
 * with the third-party servers the end-to-end tests run under leaktrail (gunicorn).
 *
 * Made once, on the first test run of a checkout (a later run finds `.venv-test/.ready`
 * and costs nothing), with the default `python3` and `pip` from PyPI. Only the test suite
 * does this: a user's `npm ci` never runs pip. Set-up failures do not stop the suite: the
 * tests that need the venv get the reason through `inject("pythonVenv")` and fail with it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const VENV_DIR = join(ROOT, ".venv-test");
/** What the venv holds; changing this list rebuilds it on the next run. */
const REQUIREMENTS = ["gunicorn>=22"];
const READY = join(VENV_DIR, ".ready");
const LOCK = join(ROOT, ".venv-test.lock");
/** A lock older than this was left by a run that died: take it over. */
const STALE_LOCK_MS = 10 * 60_000;

export interface PythonVenv {
  /** Folder of the venv's executables (python, gunicorn), or "" when it could not be made. */
  bin: string;
  /** Why the venv could not be made ("" when it is there). */
  error: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    pythonVenv: PythonVenv;
  }
}

function run(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 8 * 60_000, env: { ...process.env, PYTHONPATH: "" } });
  if (r.status === 0) return null;
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
  return `\`${cmd} ${args.join(" ")}\` failed (${r.error?.message ?? `status ${r.status}`}):\n${out}`;
}

function ready(): boolean {
  try {
    return readFileSync(READY, "utf8") === REQUIREMENTS.join("\n") && existsSync(join(VENV_DIR, "bin", "gunicorn"));
  } catch {
    return false;
  }
}

/** Another vitest run may be making the venv right now (developers run the suite side by side). */
async function withLock<T>(fn: () => T): Promise<T> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function make(): string {
  rmSync(VENV_DIR, { recursive: true, force: true });
  const python = join(VENV_DIR, "bin", "python");
  // Debian's python3 without the python3-venv package has no ensurepip: a venv without
  // pip, then pip from PyPI through the system's pip, if that exists.
  let error = run("python3", ["-m", "venv", VENV_DIR]);
  if (error) {
    rmSync(VENV_DIR, { recursive: true, force: true });
    const bare = run("python3", ["-m", "venv", "--without-pip", VENV_DIR]);
    if (bare) return `${error}\n${bare}`;
    const viaSystem = run("python3", ["-m", "pip", "--python", python, "install", "--quiet", "pip"]);
    if (viaSystem) return `${error}\n${viaSystem}`;
  }
  error = run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...REQUIREMENTS]);
  if (error) return error;
  writeFileSync(READY, REQUIREMENTS.join("\n"));
  return "";
}

export default async function setup(project: TestProject): Promise<void> {
  let error = "";
  if (!ready()) {
    error = await withLock(() => {
      if (ready()) return ""; // another run made it meanwhile
      const began = Date.now();
      process.stderr.write(`test setup: making ${VENV_DIR} (${REQUIREMENTS.join(", ")}) — once per checkout\n`);
      const failure = make();
      process.stderr.write(`test setup: ${failure ? "FAILED" : "done"} in ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
      return failure;
    });
  }
  project.provide("pythonVenv", { bin: error ? "" : join(VENV_DIR, "bin"), error });
}
