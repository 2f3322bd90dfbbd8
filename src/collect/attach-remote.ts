/**
 * Python 3.14+ (PEP 768): `sys.remote_exec(pid, script)` asks the target to run a file at
 * its next safe point, in its main thread; no debugger stops it. The call is made by a
 * Python of the target's own version and returns once the request is written; whether the
 * script ran, and how it went, the script itself says in its status file.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { AttachError, permissionHint } from "./attach-proc.js";
import { readStatus, type InjectStatus } from "./attach-code.js";

export interface RemoteExecOptions {
  /** A python3.14+ executable (remoteExecPython). */
  python: string;
  pid: number;
  scriptPath: string;
  statusPath: string;
  /** How long the target may take to reach a safe point and run the script. */
  timeoutMs?: number;
  targetUid?: number | null;
}

const CALL = "import sys; sys.remote_exec(int(sys.argv[1]), sys.argv[2])";

function runRemoteExec(python: string, pid: number, script: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(python, ["-I", "-c", CALL, String(pid), script], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let output = "";
    child.stdout.on("data", (b: Buffer) => (output += b.toString("utf8")));
    child.stderr.on("data", (b: Buffer) => (output += b.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: 127, output: err.message });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The last line of a Python traceback: "PermissionError: …". */
function lastLine(text: string): string {
  const lines = text.trim().split("\n").filter(Boolean);
  return (lines[lines.length - 1] ?? "").trim().slice(0, 200);
}

/** Runs the script in the target; resolves with its status, rejects with an AttachError. */
export async function injectWithRemoteExec(opts: RemoteExecOptions): Promise<InjectStatus> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const r = await runRemoteExec(opts.python, opts.pid, opts.scriptPath, Math.min(timeoutMs, 15_000));
  if (r.code !== 0) {
    const why = lastLine(r.output);
    if (/PermissionError|Operation not permitted|EPERM|not permitted/i.test(r.output)) {
      throw new AttachError(`no permission to trace process ${opts.pid} (${why}): ${permissionHint({ uid: opts.targetUid ?? null })}`, "permission");
    }
    if (/ProcessLookupError|No such process/i.test(r.output)) throw new AttachError(`no such process: ${opts.pid}`, "no-process");
    if (/remote debugging|disable_remote_debug|PYTHON_DISABLE_REMOTE_DEBUG/i.test(r.output)) {
      throw new AttachError(`process ${opts.pid} does not allow remote execution (${why}); it was started with -X disable_remote_debug or PYTHON_DISABLE_REMOTE_DEBUG`, "injection");
    }
    throw new AttachError(`sys.remote_exec into process ${opts.pid} failed: ${why || `exit status ${r.code}`}`, "injection");
  }
  // the request is in; the target runs it when its main thread next checks for work
  while (Date.now() < deadline) {
    const status = existsSync(opts.statusPath) ? readStatus(opts.statusPath) : null;
    if (status) return status;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new AttachError(
    `process ${opts.pid} did not run leaktrail's script within ${Math.round(timeoutMs / 1000)} s (is its main thread blocked outside Python?); if it runs later it finds leaktrail gone and does nothing`,
    "injection",
  );
}
